#pragma once

#include <libpq-fe.h>

#include "absl/status/status.h"

// The PostgreSQL store's schema: the same tables, columns, indexes and triggers as the SQLite
// store's main database and inbox together (store/sqlite_schema.cc), so the store's queries run
// unchanged against either. Needs PostgreSQL 13 or newer.
//
//   PGconn* conn = PQconnectdb(dsn);
//   if (absl::Status s = MigratePostgres(conn); !s.ok()) return s;  // at start-up, every replica
namespace debrief::store {

// Brings a PostgreSQL database to the schema this binary writes: versioned migrations applied in
// order, each in its own transaction, under a transaction-level advisory lock so replicas starting
// together migrate once; a database newer than this binary is refused (FAILED_PRECONDITION,
// message like "database schema version N is newer than this debriefd (M); upgrade debriefd").
// UNAVAILABLE when the server cannot be reached or a migration was cut short by something that
// passes (start again later); INTERNAL when a migration fails otherwise. The connection must
// not be inside a transaction; it is left outside one.
absl::Status MigratePostgres(PGconn* conn);

// The schema version this binary writes (PostgreSQL's own numbering, not SQLite's).
int PostgresSchemaVersion();

}  // namespace debrief::store
