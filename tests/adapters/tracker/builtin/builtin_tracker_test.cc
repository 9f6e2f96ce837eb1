#include "tracker/builtin/builtin_tracker.h"

#include <gtest/gtest.h>

#include "mocks/spi_mocks.h"

namespace debrief::adapters::builtin {
namespace {

TEST(BuiltinTracker, CreateIsIdempotentByKeyAndSurvivesReopen) {
  testing::TempDir dir;
  testing::FakeClock clock;
  spi::TaskDraft d;
  d.idempotency_key = "debrief-task-1-billing";
  d.title = "Root cause: Billing";
  std::string id;
  {
    auto t = BuiltinTracker::Open("tasks", dir.file("t.db"), "http://x/tasks/", clock);
    ASSERT_TRUE(t.ok()) << t.status();
    auto a = (*t)->CreateTask(d);
    auto b = (*t)->CreateTask(d);  // a retry after an unknown outcome
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->external_id, b->external_id);
    EXPECT_EQ(a->url, "http://x/tasks/" + a->external_id);
    EXPECT_EQ(*(*t)->CountTasks(), 1);
    id = a->external_id;
  }
  auto t = BuiltinTracker::Open("tasks", dir.file("t.db"), "", clock);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->CreateTask(d)->external_id, id);
  EXPECT_EQ(*(*t)->CountTasks(), 1);
}

TEST(BuiltinTracker, LinksBothWaysIdempotentlyAndFollowsStatus) {
  testing::TempDir dir;
  testing::FakeClock clock;
  auto t = BuiltinTracker::Open("tasks", dir.file("t.db"), "", clock);
  ASSERT_TRUE(t.ok());
  spi::TaskDraft d;
  d.idempotency_key = "k";
  d.title = "x";
  auto task = (*t)->CreateTask(d);
  v1::Ticket ticket;
  ticket.set_helpdesk_id("support");
  ticket.set_ticket_id("9");
  ASSERT_TRUE((*t)->LinkTicket(task->external_id, ticket).ok());
  ASSERT_TRUE((*t)->LinkTicket(task->external_id, ticket).ok());
  EXPECT_EQ(*(*t)->LinkedTickets(task->external_id), std::vector<std::string>{"support/9"});
  ASSERT_TRUE((*t)->UnlinkTicket(task->external_id, "support", "9").ok());
  EXPECT_TRUE((*t)->LinkedTickets(task->external_id)->empty());
  EXPECT_EQ((*t)->GetTask(task->external_id)->status, v1::TASK_OPEN);
  ASSERT_TRUE((*t)->SetStatus(task->external_id, v1::TASK_DONE).ok());
  EXPECT_EQ((*t)->GetTask(task->external_id)->status, v1::TASK_DONE);
  EXPECT_TRUE(absl::IsNotFound((*t)->GetTask("999").status()));
  EXPECT_TRUE(absl::IsInvalidArgument((*t)->GetTask("abc").status()));
}

}  // namespace
}  // namespace debrief::adapters::builtin
