#include "outbox/executor.h"

#include <gtest/gtest.h>

#include "config/config.h"
#include "debrief/spi/adapter_factory.h"
#include "mocks/spi_mocks.h"
#include "store/sqlite_store.h"

namespace debrief::outbox {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Property;
using ::testing::Return;
using ::testing::ReturnRef;
using ::testing::SizeIs;
using ::testing::StrictMock;

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = config::ParseConfig(R"(
trackers: [{id: tasks, type: builtin}]
taxonomy: {categories: [{id: billing, name: Billing, kind: complaint, description: Money.}]}
)",
                                 dir_.path());
    ASSERT_TRUE(c.ok()) << c.status();
    config_ = *c;
    store_ = std::move(*store::OpenSqliteStore({.path = dir_.file("d.db")}, clock_));
    policy_ = std::make_unique<policy::LinkPolicy>(config_, clock_);
    ExecutorOptions o;
    o.initial_backoff = absl::Seconds(1);
    o.max_backoff = absl::Seconds(60);
    loop_ = std::make_unique<loop::Loop>(
        config_, *store_, std::map<std::string, spi::HelpdeskAdapter*>{{"support", &helpdesk_}},
        std::map<std::string, spi::TrackerAdapter*>{{"tasks", &tracker_}}, *policy_, clock_);
    executor_ = std::make_unique<Executor>(
        *store_, std::map<std::string, spi::HelpdeskAdapter*>{{"support", &helpdesk_}}, *loop_,
        clock_, o);
    // One ticket linked to a pending task, as the link policy leaves them.
    ASSERT_TRUE(store_
                    ->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
                      spi::TicketRecord r;
                      r.ticket.set_helpdesk_id("support");
                      r.ticket.set_ticket_id("42");
                      r.ticket.set_subject("Charged twice");
                      v1::Classification cls;
                      cls.set_category_id("billing");
                      cls.set_confidence(0.9);
                      r.classification = cls;
                      r.first_seen = clock_.Now();
                      if (auto s = tx.PutTicket(r); !s.ok()) return s;
                      v1::ImprovementTask t;
                      t.set_category_id("billing");
                      t.set_tracker_id("tasks");
                      t.set_title("Root cause: Billing");
                      t.set_status(v1::TASK_PENDING_CREATE);
                      auto id = tx.InsertTask(t);
                      if (!id.ok()) return id.status();
                      task_id_ = *id;
                      v1::TaskLink l;
                      l.set_task_id(*id);
                      l.set_helpdesk_id("support");
                      l.set_ticket_id("42");
                      l.set_origin(v1::LINK_POLICY);
                      if (auto s = tx.PutLink(l); !s.ok()) return s;
                      v1::OutboxAction create;
                      create.mutable_create_task()->set_task_id(*id);
                      if (auto s = tx.Enqueue("create", create, clock_.Now()); !s.ok()) return s;
                      v1::OutboxAction link;
                      link.mutable_link()->set_task_id(*id);
                      link.mutable_link()->set_helpdesk_id("support");
                      link.mutable_link()->set_ticket_id("42");
                      // A link action as version 1 wrote them: now a sync of the task.
                      return tx.Enqueue("link", link, clock_.Now());
                    })
                    .ok());
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  v1::Config config_;
  std::unique_ptr<spi::Store> store_;
  std::unique_ptr<policy::LinkPolicy> policy_;
  StrictMock<testing::MockTrackerAdapter> tracker_;
  StrictMock<testing::MockHelpdeskAdapter> helpdesk_;
  std::unique_ptr<loop::Loop> loop_;
  std::unique_ptr<Executor> executor_;
  int64_t task_id_ = 0;
};

TEST_F(ExecutorTest, CreatesTheTaskOnceThenLinksTheTicket) {
  spi::TrackerTask made{"10001", "DEBRIEF-1", "http://t/1", v1::TASK_OPEN};
  EXPECT_CALL(tracker_, CreateTask(AllOf(Field(&spi::TaskDraft::title, "Root cause: Billing"),
                                         Field(&spi::TaskDraft::tickets, SizeIs(1)),
                                         Field(&spi::TaskDraft::impact, HasSubstr("Tickets: 1")))))
      .WillOnce(Return(made));
  EXPECT_CALL(tracker_,
              UpdateTask("10001", Field(&spi::TaskUpdate::tickets,
                                        ElementsAre(Field(&spi::LinkedTicket::ticket_id, "42")))))
      .WillOnce(Return(absl::OkStatus()));
  auto ran = executor_->RunDue();
  ASSERT_TRUE(ran.ok());
  EXPECT_EQ(*ran, 2);
  EXPECT_EQ(executor_->stats().done.load(), 2);
  ASSERT_TRUE(store_
                  ->Read([&](spi::StoreTransaction& tx) -> absl::Status {
                    auto t = tx.GetTask(task_id_);
                    EXPECT_EQ((*t)->external_id(), "10001");
                    EXPECT_EQ((*t)->status(), v1::TASK_OPEN);
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(*executor_->RunDue(), 0);  // nothing is done twice
}

TEST_F(ExecutorTest, AnOutageIsRetriedWithBackoffHonouringRetryAfterAndNeverDropped) {
  EXPECT_CALL(tracker_, CreateTask(_))
      .WillOnce(Return(spi::WithRetryAfter(absl::ResourceExhaustedError("429"), absl::Seconds(30))))
      .WillOnce(Return(absl::UnavailableError("503")))
      .WillOnce(Return(spi::TrackerTask{"7", "DEBRIEF-7", "", v1::TASK_OPEN}));
  EXPECT_CALL(tracker_, UpdateTask("7", _)).WillOnce(Return(absl::OkStatus()));

  ASSERT_TRUE(executor_->RunDue().ok());  // create: 429; link: task not created yet
  EXPECT_EQ(executor_->stats().retried.load(), 2);
  clock_.Advance(absl::Seconds(29));
  ASSERT_TRUE(executor_->RunDue().ok());  // link retried (no tracker call: task not made)
  clock_.Advance(absl::Seconds(2));       // Retry-After of 30s has passed
  ASSERT_TRUE(executor_->RunDue().ok());  // create: 503 -> backoff 2s
  clock_.Advance(absl::Seconds(10));
  ASSERT_TRUE(executor_->RunDue().ok());  // create OK, link OK
  clock_.Advance(absl::Seconds(60));
  ASSERT_TRUE(executor_->RunDue().ok());
  EXPECT_EQ(executor_->stats().done.load(), 2);
  EXPECT_EQ(executor_->stats().dead.load(), 0);
}

TEST_F(ExecutorTest, APermanentErrorIsDeadLetteredWithTheReason) {
  EXPECT_CALL(tracker_, CreateTask(_))
      .WillOnce(Return(absl::PermissionDeniedError("token lacks scope")));
  ASSERT_TRUE(executor_->RunDue().ok());
  EXPECT_EQ(executor_->stats().dead.load(), 1);
}

}  // namespace
}  // namespace debrief::outbox
