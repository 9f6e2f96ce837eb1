// Fault drills with the real debriefd: kill -9 while deliveries stream in, a full disk, and a
// damaged database at start. Each checks that every acknowledged delivery took effect exactly
// once: no lost ticket, no duplicate task, no duplicate link.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "integration/debriefd_process.h"
#include "pg/test_postgres.h"
#include "tracker/builtin/builtin_tracker.h"

namespace debrief::testing {
namespace {

bool TicketFound(Debriefd& d, const std::string& id) {
  grpc::ClientContext ctx;
  v1::GetTicketRequest req;
  req.mutable_ticket()->set_helpdesk_id("support");
  req.mutable_ticket()->set_ticket_id(id);
  v1::GetTicketResponse res;
  return d.tickets()->GetTicket(&ctx, req, &res).ok() && res.has_classification();
}

// Streams signed deliveries from two senders into `d` and kills it with SIGKILL four times
// mid-stream; then checks every acknowledged delivery took effect once, in Debrief and in the
// built-in tracker (kept in `dir`).
void Kill9Drill(const TempDir& dir, Debriefd& d, const char* store) {
  std::mutex mu;
  std::set<std::string> acked;
  std::mt19937 rng(42);
  std::string out;

  for (int round = 0; round < 4; ++round) {
    ASSERT_TRUE(d.Start(&out)) << out;
    std::atomic<bool> stop{false};
    std::vector<std::thread> senders;
    for (int t = 0; t < 2; ++t) {
      senders.emplace_back([&, t] {
        for (int i = 0; !stop; ++i) {
          std::string id = absl::StrCat("r", round, "-s", t, "-", i);
          const auto* text = kDrillTexts[(i + t) % 4];
          auto r = d.Post(TicketJson(id, text[0], text[1], "cust-" + std::to_string(i % 7)),
                          "delivery-" + id);
          if (!r.ok()) return;  // the server is gone
          if (r->status == 202 || r->status == 200) {
            std::lock_guard<std::mutex> l(mu);
            acked.insert(id);
          }
        }
      });
    }
    absl::SleepFor(absl::Milliseconds(150 + rng() % 300));
    d.Kill9();
    stop = true;
    for (auto& s : senders) s.join();
  }

  ASSERT_TRUE(d.Start(&out)) << out;
  ASSERT_GT(acked.size(), 100u) << "the test must stream a real load before each crash";

  auto ticket_found = [&](const std::string& id) { return TicketFound(d, id); };
  // Every acknowledged delivery is processed after the restart: the pipeline works through
  // the inbox in its own order, so the test waits for all of them (bounded), not for one.
  auto lost = [&] {
    size_t n = 0;
    for (const auto& id : acked) n += !ticket_found(id);
    return n;
  };
  WaitFor([&] { return lost() == 0; }, absl::Seconds(60));
  EXPECT_EQ(lost(), 0u) << "acknowledged deliveries lost";

  // One task per cause, each created once in the tracker, links equal on both sides.
  ASSERT_TRUE(TasksCreated(d, 4, absl::Seconds(30)));
  auto all = AllTasks(d);
  std::set<std::string> categories;
  std::map<std::string, int> links;
  int64_t linked = 0;
  for (const auto& task : all.tasks()) {
    categories.insert(task.category_id());
    links[task.external_id()] = task.ticket_count();
    linked += task.ticket_count();
  }
  EXPECT_EQ(categories.size(), 4u) << "a cause has two active tasks";
  EXPECT_GE(linked, static_cast<int64_t>(acked.size()));

  // The executor finishes the links; the tracker's own records (read beside the running
  // debriefd) then match Debrief's, with each task created once.
  FakeClock clock;
  auto tracker =
      adapters::builtin::BuiltinTracker::Open("tasks", dir.file("builtin-tracker.db"), "", clock);
  ASSERT_TRUE(tracker.ok());
  auto in_sync = [&] {
    for (const auto& [external_id, count] : links) {
      auto linked = (*tracker)->LinkedTickets(external_id);
      if (!linked.ok() || static_cast<int>(linked->size()) != count) return false;
    }
    return true;
  };
  EXPECT_TRUE(WaitFor(in_sync, absl::Seconds(60)));
  EXPECT_EQ(*(*tracker)->CountTasks(), 4) << "a task was created twice in the tracker";
  std::printf(
      "[drill] %s: kill -9 four times under load: %zu deliveries acknowledged, all processed "
      "once, 4 tasks created once, %lld links on both sides\n",
      store, acked.size(), static_cast<long long>(linked));
  for (const auto& [external_id, count] : links)
    EXPECT_EQ(static_cast<int>((*tracker)->LinkedTickets(external_id)->size()), count)
        << "task " << external_id;
  EXPECT_EQ(d.Terminate(), 0);
}

TEST(CrashRecovery, Kill9WhileDeliveriesStreamLosesAndDuplicatesNothing) {
  TempDir dir;
  Debriefd d(dir.path(), /*open_after=*/2);
  Kill9Drill(dir, d, "sqlite");
}

// The same drill with the state in PostgreSQL (the test cluster, tests/pg): what was
// acknowledged was committed there, and the restarted debriefd finds and finishes it.
TEST(CrashRecovery, Kill9WhileDeliveriesStreamLosesAndDuplicatesNothingOnPostgres) {
  TempDir dir;
  auto conninfo = FreshPostgresDatabase("crash");
  ASSERT_TRUE(conninfo.ok()) << conninfo.status();
  Debriefd d(dir.path(), RawConfig{OnPostgres(IntegrationConfig(dir.path(), 2), *conninfo)});
  Kill9Drill(dir, d, "postgresql");
}

// The disk holding the data directory fills up while deliveries arrive (a 48 MB tmpfs, filled
// to the last byte by another file): webhooks are refused with 503 and Retry-After, as a
// helpdesk retries them; what was acknowledged is kept; when space returns, Debrief takes
// deliveries again by itself and processes every one.
TEST(FaultDrill, AFullDiskRefusesDeliveriesWith503AndLosesNothingAcknowledged) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  TempDir dir;
  const std::string disk = dir.file("disk");
  std::string out;
  ASSERT_EQ(mkdir(disk.c_str(), 0700), 0);
  ASSERT_EQ(RunCommand("mount -t tmpfs -o size=48m debrief-drill " + disk, &out), 0) << out;
  absl::Cleanup unmount = [&] { RunCommand("umount -l " + disk, &out); };
  {
    Debriefd d(disk, /*open_after=*/2);
    ASSERT_TRUE(d.Start(&out)) << out;
    std::set<std::string> acked;
    std::vector<std::string> refused;
    int refusals = 0;
    const std::string filler(30000, 'x');
    auto send = [&](const std::string& id, int i) {
      const auto* text = kDrillTexts[i % 4];
      auto r = d.Post(TicketJson(id, text[0], absl::StrCat(text[1], " ", filler), "c" + id),
                      "delivery-" + id);
      ASSERT_TRUE(r.ok()) << r.status();
      if (r->status == 202 || r->status == 200) {
        acked.insert(id);
      } else {
        ASSERT_EQ(r->status, 503) << r->body;
        EXPECT_THAT(r->body, ::testing::HasSubstr("store_unavailable"));
        bool retry_after = false;
        for (const auto& [name, value] : r->headers)
          retry_after |= absl::EqualsIgnoreCase(name, "Retry-After") && !value.empty();
        EXPECT_TRUE(retry_after) << "a 503 without Retry-After";
        refused.push_back(id);
        ++refusals;
      }
    };
    for (int i = 0; i < 40; ++i) send(absl::StrCat("before-", i), i);
    ASSERT_EQ(acked.size(), 40u);

    // The disk fills up.
    {
      std::ofstream fill(disk + "/filler", std::ios::binary);
      const std::string block(1 << 16, '\0');
      while (fill.write(block.data(), block.size())) {
      }
    }
    for (int i = 0; i < 300; ++i) send(absl::StrCat("full-", i), i);
    EXPECT_GT(refusals, 0) << "the drill must reach the full disk";
    // Still running and answering while the disk is full.
    auto health = d.Get("/healthz");
    ASSERT_TRUE(health.ok());

    // Space returns: the helpdesk's retries of the refused deliveries are taken.
    ASSERT_EQ(unlink((disk + "/filler").c_str()), 0);
    const std::vector<std::string> retry = std::move(refused);
    refused.clear();
    for (size_t i = 0; i < retry.size(); ++i) send(retry[i], static_cast<int>(i));
    EXPECT_TRUE(refused.empty()) << refused.size() << " still refused after space returned";

    auto lost = [&] {
      size_t n = 0;
      for (const auto& id : acked) n += !TicketFound(d, id);
      return n;
    };
    WaitFor([&] { return lost() == 0; }, absl::Seconds(90));
    EXPECT_EQ(lost(), 0u) << "acknowledged deliveries lost";
    std::printf(
        "[drill] disk full: %zu deliveries acknowledged, %d refused with 503 while full, "
        "all processed once space returned\n",
        acked.size(), refusals);
    // And after a restart, nothing acknowledged is missing.
    EXPECT_EQ(d.Terminate(), 0);
    ASSERT_TRUE(d.Start(&out)) << out;
    EXPECT_EQ(lost(), 0u);
    EXPECT_EQ(d.Terminate(), 0);
  }
}

// A damaged database at start: debriefd refuses to start, names the file and what to do, and
// leaves the file as it was; it never starts on a new, empty database in its place.
TEST(FaultDrill, ADamagedDatabaseStopsTheStartWithWhatToDo) {
  TempDir dir;
  std::string out;
  {
    Debriefd d(dir.path());
    ASSERT_TRUE(d.Start(&out)) << out;
    ASSERT_EQ(d.Post(TicketJson("1", "Charged twice", "I was charged twice", "c1"), "d-1")->status,
              202);
    ASSERT_TRUE(WaitFor([&] { return TicketFound(d, "1"); }));
    EXPECT_EQ(d.Terminate(), 0);
  }
  const std::string db = dir.file("debrief.db");
  std::string whole;
  {
    std::ifstream in(db, std::ios::binary);
    whole.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(whole.size(), 8192u);
  struct stat st {};
  for (const off_t size : {off_t{0}, static_cast<off_t>(whole.size() / 2)}) {
    SCOPED_TRACE(size);
    std::ofstream(db, std::ios::binary | std::ios::trunc) << whole.substr(0, size);
    Debriefd d(dir.path());
    EXPECT_FALSE(d.Start(&out)) << "debriefd started on a damaged database";
    EXPECT_THAT(out, ::testing::HasSubstr(db + (size == 0 ? " is empty" : " is truncated")));
    EXPECT_THAT(out, ::testing::HasSubstr("restore it from a backup"));
    ASSERT_EQ(stat(db.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, size) << "the damaged file was replaced";
  }
}

}  // namespace
}  // namespace debrief::testing
