// The replica drill: three debriefd on one PostgreSQL database, signed deliveries spread over
// them by a round-robin load, one replica killed with SIGKILL part-way and the database
// restarted once. Every acknowledged delivery must take effect once, with one task per cause
// created once in the tracker and the links equal on both sides.
//
// The drill runs on a PostgreSQL cluster of its own (tests/pg/cluster.sh in a temporary folder),
// so that restarting it disturbs no other test. DEBRIEF_DRILL_DELIVERIES sets the load (default
// 3000, 1000 against a sanitizer's debriefd; docs/postgres.md shows a run of 20000).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "integration/debriefd_process.h"
#include "tracker/builtin/builtin_tracker.h"

namespace debrief::testing {
namespace {

// The single integer `sql` answers (-1 when it cannot be had).
int64_t PgCount(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  int64_t n = -1;
  if (PQstatus(c) == CONNECTION_OK) {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
      n = std::strtoll(PQgetvalue(r, 0, 0), nullptr, 10);
    PQclear(r);
  }
  PQfinish(c);
  return n;
}

// A PostgreSQL cluster of the test's own (tests/pg/cluster.sh in a temporary folder), so that
// stopping or restarting it disturbs no other test; stopped and removed at the end.
class OwnCluster {
 public:
  OwnCluster() : dir_(root_.file("pg")) {
    std::string out;
    ok_ = Run(absl::StrCat("DEBRIEF_PG_OWNER_PID=", getpid(), " bash ", Script(), " start ", dir_),
              &out);
    if (!ok_) {
      ADD_FAILURE() << out;
      return;
    }
    std::ifstream in(dir_ + "/pg.env");
    std::string line;
    std::getline(in, line);
    constexpr absl::string_view kPrefix = "DEBRIEF_TEST_PG=";
    ok_ = absl::StartsWith(line, kPrefix);
    if (ok_) conninfo_ = line.substr(kPrefix.size());
  }
  ~OwnCluster() {
    std::string out;
    Run(absl::StrCat("bash ", Script(), " stop ", dir_), &out);
  }
  bool ok() const { return ok_; }
  const std::string& conninfo() const { return conninfo_; }
  // "restart" (a fast shutdown and a start, or a start after halt) or "halt".
  bool Do(const char* what) {
    std::string out;
    const bool done = Run(absl::StrCat("bash ", Script(), " ", what, " ", dir_), &out);
    if (!done) ADD_FAILURE() << out;
    return done;
  }

 private:
  static std::string Script() { return absl::StrCat(DEBRIEF_SOURCE_DIR, "/tests/pg/cluster.sh"); }
  static bool Run(const std::string& cmd, std::string* out) { return RunCommand(cmd, out) == 0; }

  TempDir root_;
  std::string dir_;
  std::string conninfo_;
  bool ok_ = false;
};

// IntegrationConfig on `conninfo`, as replica `name` with a short lease, and the builtin
// tracker's tasks in `tracker_db` (replicas on one host share it).
std::string ReplicaConfig(const std::string& dir, const std::string& conninfo,
                          const std::string& name, const std::string& tracker_db) {
  return absl::StrReplaceAll(
      OnPostgres(IntegrationConfig(dir, 2), conninfo),
      {{"store: {postgres: {conninfo: ",
        absl::StrCat("store: {postgres: {replica: ", name, ", lease: 3s, conninfo: ")},
       {"settings: {base_url: \"http://127.0.0.1/tasks/\"}",
        absl::StrCat("settings: {base_url: \"http://127.0.0.1/tasks/\", path: \"", tracker_db,
                     "\"}")}});
}

TEST(ReplicaDrill, ThreeReplicasOnePostgresKill9AndARestartLoseAndRepeatNothing) {
  // The listeners are the same code with TLS: its twin run would only double the time.
  if (TlsOn()) GTEST_SKIP() << "the drill runs once, in plain HTTP";
  const char* env = std::getenv("DEBRIEF_DRILL_DELIVERIES");
  // A sanitizer's debriefd (DEBRIEFD_UNDER_TEST, tests/run.sh) is several times slower: a third
  // of the load checks the same paths in it.
  const int deliveries = env != nullptr                                  ? std::atoi(env)
                         : std::getenv("DEBRIEFD_UNDER_TEST") != nullptr ? 1000
                                                                         : 3000;
  ASSERT_GT(deliveries, 30);

  TempDir root;
  std::string out;
  OwnCluster cluster;
  ASSERT_TRUE(cluster.ok());
  const std::string& conninfo = cluster.conninfo();

  // Three replicas, each with its own data folder and listeners, one database, one tracker.
  const std::string tracker_db = root.file("builtin-tracker.db");
  std::vector<std::unique_ptr<TempDir>> dirs;
  std::vector<std::unique_ptr<Debriefd>> replicas;
  for (int i = 0; i < 3; ++i) {
    dirs.push_back(std::make_unique<TempDir>());
    const std::string yaml =
        ReplicaConfig(dirs.back()->path(), conninfo, absl::StrCat("r", i), tracker_db);
    replicas.push_back(std::make_unique<Debriefd>(dirs.back()->path(), RawConfig{yaml}));
    ASSERT_TRUE(replicas.back()->Start(&out)) << out;
  }

  // The load: three senders, delivery n to replica n % 3, or the next one up when that one does
  // not answer; a refusal (503 while the database restarts) is sent again, as a helpdesk
  // would.
  std::atomic<int> next{0};
  std::atomic<bool> killed{false};
  std::atomic<int> victim{-1};
  std::mutex mu;
  std::set<std::string> acked;
  std::atomic<int> refused{0};
  auto sender = [&] {
    for (int n = next++; n < deliveries; n = next++) {
      const std::string id = absl::StrCat("t", n);
      const auto* text = kDrillTexts[n % 4];
      const std::string body = TicketJson(id, text[0], text[1], absl::StrCat("cust-", n % 50));
      const absl::Time give_up = absl::Now() + absl::Minutes(2);
      for (int attempt = 0;; ++attempt) {
        ASSERT_LT(absl::Now(), give_up) << "delivery " << id << " was never acknowledged";
        const int r = (n + attempt) % 3;
        if (killed && r == victim) continue;
        auto res = replicas[r]->Post(body, "delivery-" + id);
        if (res.ok() && (res->status == 202 || res->status == 200)) {
          std::lock_guard<std::mutex> l(mu);
          acked.insert(id);
          break;
        }
        if (res.ok()) ++refused;
        absl::SleepFor(absl::Milliseconds(20));
      }
    }
  };
  std::vector<std::thread> senders;
  for (int t = 0; t < 3; ++t) senders.emplace_back(sender);
  // The replica killed is the one that runs the outbox, the follower and reconciliation: the
  // jobs' lease must move.
  WaitFor([&] { return next >= deliveries / 3; }, absl::Minutes(5));
  const int holder = [&] {
    for (int r = 0; r < 3; ++r)
      if (PgCount(conninfo, absl::StrCat("SELECT count(*) FROM leases WHERE name = 'jobs' AND "
                                         "holder LIKE 'r",
                                         r, ":%'")) == 1)
        return r;
    return -1;
  }();
  ASSERT_GE(holder, 0) << "no replica holds the jobs' lease";
  victim = holder;
  replicas[holder]->Kill9();
  killed = true;
  WaitFor([&] { return next >= 2 * deliveries / 3; }, absl::Minutes(5));
  ASSERT_TRUE(cluster.Do("restart"));
  for (auto& s : senders) s.join();
  ASSERT_EQ(acked.size(), static_cast<size_t>(deliveries));

  // Everything acknowledged is processed, by whichever replica: nothing waits in the inbox,
  // every stored delivery has its outcome, none failed. (That a delivery whose claim lapsed is
  // not applied twice is the pipeline's unit test: PipelineReplicas.)
  auto waiting = [&] { return PgCount(conninfo, "SELECT count(*) FROM inbox_pending"); };
  EXPECT_TRUE(WaitFor([&] { return waiting() == 0; }, absl::Minutes(3)))
      << waiting() << " deliveries still wait";
  EXPECT_EQ(PgCount(conninfo, "SELECT count(*) FROM deliveries"), deliveries)
      << "a delivery stored twice";
  EXPECT_EQ(PgCount(conninfo, "SELECT count(*) FROM delivery_outcomes WHERE state = 1"), deliveries)
      << "a delivery not processed, or failed";
  EXPECT_EQ(PgCount(conninfo, "SELECT count(*) FROM tickets"), deliveries);

  // One task per cause, each created once in the tracker, with every ticket linked on both
  // sides: the outbox ran on one replica at a time, and moved when its replica died.
  Debriefd& live = *replicas[(victim + 1) % 3];
  ASSERT_TRUE(TasksCreated(live, 4, absl::Seconds(60)));
  std::map<std::string, int> links;
  std::set<std::string> categories;
  int64_t linked = 0;
  const v1::ListTasksResponse all = AllTasks(live);
  for (const auto& task : all.tasks()) {
    categories.insert(task.category_id());
    links[task.external_id()] = task.ticket_count();
    linked += task.ticket_count();
  }
  EXPECT_EQ(categories.size(), 4u) << "a cause has two active tasks";
  EXPECT_EQ(linked, deliveries);
  FakeClock clock;
  auto tracker = adapters::builtin::BuiltinTracker::Open("tasks", tracker_db, "", clock);
  ASSERT_TRUE(tracker.ok()) << tracker.status();
  auto in_sync = [&] {
    for (const auto& [external_id, count] : links) {
      auto l = (*tracker)->LinkedTickets(external_id);
      if (!l.ok() || static_cast<int>(l->size()) != count) return false;
    }
    return true;
  };
  EXPECT_TRUE(WaitFor(in_sync, absl::Seconds(90))) << "the tracker's links differ";
  EXPECT_EQ(*(*tracker)->CountTasks(), 4) << "a task was created twice in the tracker";
  std::printf(
      "[drill] 3 replicas on PostgreSQL, one killed with SIGKILL, the database restarted: %d "
      "deliveries acknowledged (%d refusals sent again), every one processed, the jobs' holder "
      "killed, 4 tasks created once, %lld links on both sides\n",
      deliveries, refused.load(), static_cast<long long>(linked));
  for (int r = 0; r < 3; ++r)
    if (r != victim) EXPECT_EQ(replicas[r]->Terminate(), 0);
}

// A replica whose database does not answer says so on /readyz, so that its load balancer sends
// webhooks to one that can store them, and says it is ready again once the database is back.
TEST(ReplicaReadiness, AReplicaIsUnreadyWhileItsDatabaseDoesNotAnswer) {
  if (TlsOn()) GTEST_SKIP() << "runs once, in plain HTTP";
  OwnCluster cluster;
  ASSERT_TRUE(cluster.ok());
  TempDir dir;
  Debriefd d(dir.path(), RawConfig{ReplicaConfig(dir.path(), cluster.conninfo(), "solo",
                                                 dir.file("builtin-tracker.db"))});
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;
  auto readiness = [&] {
    auto r = d.Get("/readyz");
    return r.ok() ? absl::StrCat(r->status, " ", r->body) : std::string(r.status().message());
  };
  EXPECT_THAT(readiness(), ::testing::StartsWith("200"));
  ASSERT_TRUE(cluster.Do("halt"));
  EXPECT_TRUE(WaitFor([&] { return absl::StrContains(readiness(), "store_unavailable"); },
                      absl::Seconds(20)))
      << readiness();
  EXPECT_THAT(readiness(), ::testing::StartsWith("503"));
  auto health = d.Get("/healthz");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200) << "alive all the same: nothing to restart";
  ASSERT_TRUE(cluster.Do("restart"));
  EXPECT_TRUE(WaitFor([&] { return absl::StartsWith(readiness(), "200"); }, absl::Seconds(20)))
      << readiness();
  EXPECT_EQ(d.Terminate(), 0);
}

}  // namespace
}  // namespace debrief::testing
