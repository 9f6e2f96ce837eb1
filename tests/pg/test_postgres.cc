#include "pg/test_postgres.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

#ifndef DEBRIEF_PG_CLUSTER_SH
#error "DEBRIEF_PG_CLUSTER_SH (the path of tests/pg/cluster.sh) must be defined"
#endif

namespace debrief::testing {
namespace {

constexpr absl::string_view kConninfoKey = "DEBRIEF_TEST_PG=";
// SQLSTATE duplicate_database: a database of that name is left from an earlier process whose
// pid this one reuses.
constexpr absl::string_view kDuplicateDatabase = "42P04";
constexpr size_t kMaxIdentifier = 63;  // NAMEDATALEN - 1

using Conn = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

std::string ShellQuote(absl::string_view s) {
  return absl::StrCat("'", absl::StrReplaceAll(s, {{"'", "'\\''"}}), "'");
}

std::string ConninfoQuote(absl::string_view s) {
  return absl::StrCat("'", absl::StrReplaceAll(s, {{"\\", "\\\\"}, {"'", "\\'"}}), "'");
}

// Runs `<env>bash cluster.sh <args>`; its output (stdout and stderr) comes back in an error.
absl::Status RunClusterScript(const std::string& args, const std::string& env = "") {
  std::string cmd =
      absl::StrCat(env, "bash ", ShellQuote(DEBRIEF_PG_CLUSTER_SH), " ", args, " 2>&1");
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    return absl::InternalError(absl::StrCat("cannot run ", cmd, ": ", strerror(errno)));
  }
  std::string output;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  int status = pclose(pipe);
  if (status == -1) {
    return absl::InternalError(absl::StrCat(cmd, ": ", strerror(errno), "\n", output));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(cmd, " failed (",
                                            WIFEXITED(status)
                                                ? absl::StrCat("exit ", WEXITSTATUS(status))
                                                : absl::StrCat("signal ", WTERMSIG(status)),
                                            "):\n", output));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadEnvFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read ", path,
        " (DEBRIEF_TEST_PG_ENV): the ctest fixture postgres_start (tests/pg/cluster.sh start) "
        "did not run or failed; run the binary without DEBRIEF_TEST_PG_ENV to start a cluster "
        "of its own"));
  }
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view value = line;
    if (!absl::ConsumePrefix(&value, kConninfoKey)) continue;
    value = absl::StripAsciiWhitespace(value);
    if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    if (!value.empty()) return std::string(value);
  }
  return absl::FailedPreconditionError(
      absl::StrCat(path, " (DEBRIEF_TEST_PG_ENV) has no ", kConninfoKey, "<conninfo> line"));
}

// The cluster this process started, stopped at exit by the process that started it only (a
// forked child, a death test's say, exits through the same atexit handlers).
struct OwnCluster {
  std::string dir;
  pid_t owner;
};
OwnCluster* own_cluster = nullptr;

void StopOwnCluster() {
  if (own_cluster == nullptr || getpid() != own_cluster->owner) return;
  absl::Status stopped = RunClusterScript(absl::StrCat("stop ", ShellQuote(own_cluster->dir)));
  if (!stopped.ok()) {
    fprintf(stderr, "test_postgres: stopping the cluster in %s: %s\n", own_cluster->dir.c_str(),
            std::string(stopped.message()).c_str());
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(own_cluster->dir, ignored);
}

absl::StatusOr<std::string> StartOwnCluster() {
  // Under /tmp, not TMPDIR: the socket's path must stay short.
  char dir[] = "/tmp/debrief-pg-test.XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", dir, ": ", strerror(errno)));
  }
  own_cluster = new OwnCluster{dir, getpid()};
  atexit(StopOwnCluster);
  // The script's watchdog stops the cluster if this process dies before its atexit handlers.
  absl::Status started = RunClusterScript(absl::StrCat("start ", ShellQuote(dir)),
                                          absl::StrCat("DEBRIEF_PG_OWNER_PID=", getpid(), " "));
  if (!started.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "could not start a PostgreSQL cluster of this test process's own: ", started.message()));
  }
  return ReadEnvFile(absl::StrCat(dir, "/pg.env"));
}

absl::StatusOr<std::string> FindTestPostgres() {
  absl::StatusOr<std::string> conninfo;
  std::string source;
  if (const char* env = getenv("DEBRIEF_TEST_PG_ENV"); env != nullptr && *env != '\0') {
    source = absl::StrCat("DEBRIEF_TEST_PG_ENV=", env);
    conninfo = ReadEnvFile(env);
  } else if (const char* direct = getenv("DEBRIEF_TEST_PG"); direct != nullptr && *direct != '\0') {
    source = "DEBRIEF_TEST_PG";
    conninfo = std::string(direct);
  } else {
    source = "the cluster this process started (tests/pg/cluster.sh)";
    conninfo = StartOwnCluster();
  }
  if (!conninfo.ok()) return conninfo.status();
  Conn conn(PQconnectdb(conninfo->c_str()), &PQfinish);
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("the test PostgreSQL (", *conninfo, ", from ", source, ") does not answer: ",
                     conn == nullptr ? "out of memory"
                                     : absl::StripAsciiWhitespace(PQerrorMessage(conn.get()))));
  }
  return conninfo;
}

// The conninfo with its dbname replaced (keyword=value form, whatever form it came in).
absl::StatusOr<std::string> WithDbname(const std::string& conninfo, const std::string& dbname) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    std::string why = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    return absl::InvalidArgumentError(
        absl::StrCat("the test PostgreSQL's conninfo ", conninfo, ": ", why));
  }
  std::string out = absl::StrCat("dbname=", ConninfoQuote(dbname));
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || strcmp(o->keyword, "dbname") == 0) continue;
    absl::StrAppend(&out, " ", o->keyword, "=", ConninfoQuote(o->val));
  }
  PQconninfoFree(options);
  return out;
}

std::string DatabaseName(const std::string& prefix, int n) {
  std::string name = absl::AsciiStrToLower(prefix.empty() ? "test" : prefix);
  for (char& c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  std::string suffix = absl::StrCat("_", getpid(), "_", n);
  name.resize(std::min(name.size(), kMaxIdentifier - suffix.size()));
  return name + suffix;
}

}  // namespace

absl::StatusOr<std::string> TestPostgres() {
  static const absl::StatusOr<std::string>* const found =
      new absl::StatusOr<std::string>(FindTestPostgres());
  return *found;
}

absl::StatusOr<std::string> FreshPostgresDatabase(const std::string& prefix) {
  static std::atomic<int> counter{0};
  absl::StatusOr<std::string> maintenance = TestPostgres();
  if (!maintenance.ok()) return maintenance.status();
  Conn conn(PQconnectdb(maintenance->c_str()), &PQfinish);
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("connecting to the test PostgreSQL (", *maintenance, "): ",
                     conn == nullptr ? "out of memory"
                                     : absl::StripAsciiWhitespace(PQerrorMessage(conn.get()))));
  }
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string name = DatabaseName(prefix, counter.fetch_add(1));
    Result created(PQexec(conn.get(), absl::StrCat("CREATE DATABASE \"", name, "\"").c_str()),
                   &PQclear);
    if (PQresultStatus(created.get()) == PGRES_COMMAND_OK) return WithDbname(*maintenance, name);
    const char* state = PQresultErrorField(created.get(), PG_DIAG_SQLSTATE);
    if (state != nullptr && state == kDuplicateDatabase) continue;
    return absl::InternalError(absl::StrCat(
        "CREATE DATABASE ", name,
        " in the test PostgreSQL: ", absl::StripAsciiWhitespace(PQerrorMessage(conn.get()))));
  }
  return absl::InternalError(absl::StrCat("no free database name with the prefix ", prefix));
}

}  // namespace debrief::testing
