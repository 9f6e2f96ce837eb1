#include "pg/test_postgres.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/match.h"

namespace debrief::testing {
namespace {

using Conn = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

Conn Connect(const std::string& conninfo) {
  Conn conn(PQconnectdb(conninfo.c_str()), &PQfinish);
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_OK) << conninfo << ": " << PQerrorMessage(conn.get());
  return conn;
}

// The first row's first column of a query that must succeed.
std::string QueryValue(PGconn* conn, const std::string& sql) {
  Result r(PQexec(conn, sql.c_str()), &PQclear);
  EXPECT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << sql << ": " << PQerrorMessage(conn);
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) < 1) return "";
  return PQgetvalue(r.get(), 0, 0);
}

void Exec(PGconn* conn, const std::string& sql) {
  Result r(PQexec(conn, sql.c_str()), &PQclear);
  EXPECT_EQ(PQresultStatus(r.get()), PGRES_COMMAND_OK) << sql << ": " << PQerrorMessage(conn);
}

// tests/pg/cluster.sh's cluster (the ctest fixture's or the process's own), not a server
// DEBRIEF_TEST_PG names.
bool ClusterIsOurs() {
  const char* env_file = getenv("DEBRIEF_TEST_PG_ENV");
  const char* direct = getenv("DEBRIEF_TEST_PG");
  return (env_file != nullptr && *env_file != '\0') || direct == nullptr || *direct == '\0';
}

TEST(TestPostgres, FreshDatabaseIsAnEmptyPostgres15OnASocketAndKeepsARow) {
  absl::StatusOr<std::string> conninfo = FreshPostgresDatabase("test_postgres");
  ASSERT_TRUE(conninfo.ok()) << conninfo.status();
  Conn conn = Connect(*conninfo);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK);

  EXPECT_GE(PQserverVersion(conn.get()), 150000);
  EXPECT_TRUE(absl::StartsWith(QueryValue(conn.get(), "SELECT version()"), "PostgreSQL 15"));
  if (ClusterIsOurs()) {
    // A socket directory, no TCP port: build trees and runs side by side never clash.
    EXPECT_TRUE(absl::StartsWith(PQhost(conn.get()), "/")) << PQhost(conn.get());
    EXPECT_EQ(QueryValue(conn.get(), "SHOW listen_addresses"), "");
    EXPECT_EQ(QueryValue(conn.get(), "SHOW fsync"), "on");
  }
  EXPECT_TRUE(
      absl::StartsWith(QueryValue(conn.get(), "SELECT current_database()"), "test_postgres_"));
  EXPECT_EQ(QueryValue(conn.get(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
            "0");

  Exec(conn.get(), "CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL)");
  const char* params[] = {"1", "fixed in 2.3 \xE2\x9C\x93"};
  Result inserted(PQexecParams(conn.get(), "INSERT INTO notes (id, body) VALUES ($1, $2)", 2,
                               nullptr, params, nullptr, nullptr, 0),
                  &PQclear);
  ASSERT_EQ(PQresultStatus(inserted.get()), PGRES_COMMAND_OK) << PQerrorMessage(conn.get());
  conn.reset();

  Conn again = Connect(*conninfo);
  EXPECT_EQ(QueryValue(again.get(), "SELECT body FROM notes WHERE id = 1"),
            "fixed in 2.3 \xE2\x9C\x93");
}

TEST(TestPostgres, FreshDatabasesAreDistinct) {
  absl::StatusOr<std::string> first = FreshPostgresDatabase("test_postgres");
  absl::StatusOr<std::string> second = FreshPostgresDatabase("test_postgres");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(*first, *second);

  Conn a = Connect(*first);
  Conn b = Connect(*second);
  ASSERT_EQ(PQstatus(a.get()), CONNECTION_OK);
  ASSERT_EQ(PQstatus(b.get()), CONNECTION_OK);
  EXPECT_NE(QueryValue(a.get(), "SELECT current_database()"),
            QueryValue(b.get(), "SELECT current_database()"));
  Exec(a.get(), "CREATE TABLE only_in_first (id int)");
  EXPECT_EQ(QueryValue(a.get(), "SELECT to_regclass('only_in_first') IS NOT NULL"), "t");
  EXPECT_EQ(QueryValue(b.get(), "SELECT to_regclass('only_in_first') IS NOT NULL"), "f");
}

}  // namespace
}  // namespace debrief::testing
