#pragma once

// The real PostgreSQL the tests of the PostgreSQL store run against: a throwaway cluster on a
// Unix socket (tests/pg/cluster.sh), one empty database per test.
//
//   absl::StatusOr<std::string> conninfo = debrief::testing::FreshPostgresDatabase("pg_store");
//   ASSERT_TRUE(conninfo.ok()) << conninfo.status();
//   PGconn* conn = PQconnectdb(conninfo->c_str());
//
// Under ctest a fixture starts the cluster once per run (tests/CMakeLists.txt) and names it
// through DEBRIEF_TEST_PG_ENV; a test binary run by hand starts one of its own. A cluster that
// cannot be had is an error the test must fail on, never a reason to skip it.
#include <string>

#include "absl/status/statusor.h"

namespace debrief::testing {

// The libpq conninfo of the test cluster's maintenance database (dbname=postgres, as the
// superuser `debrief`, which may create databases). Found, in this order:
//   1. in the file DEBRIEF_TEST_PG_ENV names (written by `tests/pg/cluster.sh start DIR` as
//      DIR/pg.env, line DEBRIEF_TEST_PG=<conninfo>);
//   2. in DEBRIEF_TEST_PG itself;
//   3. else a cluster of this process's own, started in a temporary directory under /tmp on
//      first use (a second or two) and stopped when the process exits (at exit, or by the
//      script's watchdog when the process is killed).
// The server is checked to answer before the conninfo is returned. The answer, or the error, is
// worked out once per process. Thread-safe.
absl::StatusOr<std::string> TestPostgres();

// Creates a new, empty database in the test cluster and returns its conninfo (TestPostgres()'s
// with the dbname replaced). The name is `prefix` (lower-cased, anything but [a-z0-9_] made
// `_`), this process's pid and a counter, unique in the cluster: tests in parallel processes
// never share a database. Databases are not dropped; the cluster is thrown away. Thread-safe.
absl::StatusOr<std::string> FreshPostgresDatabase(const std::string& prefix);

}  // namespace debrief::testing
