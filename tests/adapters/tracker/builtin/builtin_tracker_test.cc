#include "tracker/builtin/builtin_tracker.h"

#include <gtest/gtest.h>

#include "common/task_text.h"
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

TEST(BuiltinTracker, UpdatesReconcileLinksReplaceTheImpactInPlaceAndFollowStatus) {
  testing::TempDir dir;
  testing::FakeClock clock;
  auto t = BuiltinTracker::Open("tasks", dir.file("t.db"), "", clock);
  ASSERT_TRUE(t.ok());
  spi::TaskDraft d;
  d.idempotency_key = "k";
  d.title = "x";
  d.description = "Root cause: Billing";
  d.impact = "Tickets: 1";
  d.tickets = {{"support", "9", "Charged twice", ""}};
  auto task = (*t)->CreateTask(d);
  ASSERT_TRUE(task.ok());
  EXPECT_EQ(*(*t)->LinkedTickets(task->external_id), std::vector<std::string>{"support/9"});

  spi::TaskUpdate u;
  u.impact = "Tickets: 2";
  u.tickets = {{"support", "9", "", ""}, {"support", "10", "", ""}};
  u.add_labels = {"debrief-fix-verified"};
  u.comment = "Fix verified";
  u.comment_key = "verify-0";
  ASSERT_TRUE((*t)->UpdateTask(task->external_id, u).ok());
  ASSERT_TRUE((*t)->UpdateTask(task->external_id, u).ok());  // repeated: changes nothing
  EXPECT_EQ(*(*t)->LinkedTickets(task->external_id),
            (std::vector<std::string>{"support/10", "support/9"}));
  auto details = (*t)->Details(task->external_id);
  ASSERT_TRUE(details.ok());
  EXPECT_NE(details->description.find("Root cause: Billing"), std::string::npos);
  EXPECT_NE(details->description.find("Tickets: 2"), std::string::npos);
  EXPECT_EQ(details->description.find("Tickets: 1"), std::string::npos);  // replaced, not added
  EXPECT_EQ(details->labels, std::vector<std::string>{"debrief-fix-verified"});
  EXPECT_EQ(details->comments, std::vector<std::string>{"Fix verified"});

  u.tickets = {{"support", "10", "", ""}};  // 9 was unlinked
  u.comment.clear();
  ASSERT_TRUE((*t)->UpdateTask(task->external_id, u).ok());
  EXPECT_EQ(*(*t)->LinkedTickets(task->external_id), std::vector<std::string>{"support/10"});

  EXPECT_EQ((*t)->GetTask(task->external_id)->status, v1::TASK_OPEN);
  ASSERT_TRUE((*t)->SetStatus(task->external_id, v1::TASK_DONE).ok());
  EXPECT_EQ((*t)->GetTask(task->external_id)->status, v1::TASK_SHIPPED)
      << "done is shipped at once by default";
  // Shipped when the status was set: an impact update or the same status set again later
  // does not move it.
  const absl::Time set = clock.Now();
  clock.Advance(absl::Hours(2));
  ASSERT_TRUE((*t)->UpdateTask(task->external_id, u).ok());
  ASSERT_TRUE((*t)->SetStatus(task->external_id, v1::TASK_DONE).ok());
  EXPECT_EQ((*t)->GetTask(task->external_id)->shipped_at, set);
  EXPECT_TRUE(absl::IsNotFound((*t)->GetTask("999").status()));
  EXPECT_TRUE(absl::IsInvalidArgument((*t)->GetTask("abc").status()));
  EXPECT_TRUE(absl::IsNotFound((*t)->UpdateTask("999", u)));
}

TEST(TaskText, ReplaceImpactKeepsWhatPeopleWroteAround) {
  std::string d = common::ComposeDescription("Cause", "old impact");
  d += "\nA note from the engineer.";
  std::string r = common::ReplaceImpact(d, "new impact");
  EXPECT_NE(r.find("Cause"), std::string::npos);
  EXPECT_NE(r.find("new impact"), std::string::npos);
  EXPECT_EQ(r.find("old impact"), std::string::npos);
  EXPECT_NE(r.find("A note from the engineer."), std::string::npos);
  EXPECT_NE(common::ReplaceImpact("no section", "x").find("x"), std::string::npos);
}

}  // namespace
}  // namespace debrief::adapters::builtin
