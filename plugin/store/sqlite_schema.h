#pragma once

#include <sqlite3.h>

#include "absl/status/status.h"

// The SQLite store's schema: versioned migrations, applied in order at open, each in a
// transaction of its own; a database newer than this binary is refused.
namespace debrief::store {

// Brings the main database (tickets, tasks, links, outbox, outcomes) to the current version.
absl::Status MigrateDatabase(sqlite3* db);
// Brings the inbox file (raw deliveries, written by the group commit) to its current version.
absl::Status MigrateInbox(sqlite3* db);
// The main database's version this binary writes.
int DatabaseSchemaVersion();

}  // namespace debrief::store
