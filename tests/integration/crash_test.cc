// kill -9 while deliveries stream in, restart, and check that every acknowledged delivery
// took effect exactly once: no lost ticket, no duplicate task, no duplicate link.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "integration/debriefd_process.h"
#include "tracker/builtin/builtin_tracker.h"

namespace debrief::testing {
namespace {

const char* kTexts[][2] = {
    {"Charged twice", "I was charged twice for my subscription"},
    {"Cannot log in", "I cannot log in, the password reset email never arrives"},
    {"Where is my order", "my order has not arrived and tracking has not updated"},
    {"App crashes", "the app crashes when I open it"},
};

TEST(CrashRecovery, Kill9WhileDeliveriesStreamLosesAndDuplicatesNothing) {
  TempDir dir;
  Debriefd d(dir.path(), /*open_after=*/2);
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
          const auto* text = kTexts[(i + t) % 4];
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

  auto ticket_found = [&](const std::string& id) {
    grpc::ClientContext ctx;
    v1::GetTicketRequest req;
    req.mutable_ticket()->set_helpdesk_id("support");
    req.mutable_ticket()->set_ticket_id(id);
    v1::GetTicketResponse res;
    return d.tickets()->GetTicket(&ctx, req, &res).ok() && res.has_classification();
  };
  auto tasks = [&] {
    grpc::ClientContext ctx;
    v1::ListTasksResponse res;
    EXPECT_TRUE(d.improvements()->ListTasks(&ctx, v1::ListTasksRequest(), &res).ok());
    return res;
  };
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
  ASSERT_TRUE(WaitFor(
      [&] {
        auto t = tasks();
        if (t.tasks_size() != 4) return false;
        for (const auto& task : t.tasks())
          if (task.external_id().empty()) return false;
        return true;
      },
      absl::Seconds(30)));
  auto all = tasks();
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
  for (const auto& [external_id, count] : links)
    EXPECT_EQ(static_cast<int>((*tracker)->LinkedTickets(external_id)->size()), count)
        << "task " << external_id;
  EXPECT_EQ(d.Terminate(), 0);
}

}  // namespace
}  // namespace debrief::testing
