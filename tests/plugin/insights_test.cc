// The Insights operations of the service layer on a real SQLite store and a clock moved by
// hand: weeks and filters, growth and stalled tasks, each fix's steps and the loop's cycle,
// suggestions and praise.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "base/time_util.h"
#include "classify/emerging.h"
#include "classify/keyword_classifier.h"
#include "config/config.h"
#include "mocks/spi_mocks.h"
#include "policy/link_policy.h"
#include "service/service.h"
#include "store/sqlite_store.h"

namespace debrief {
namespace {

using testing::FakeClock;
using testing::TempDir;

constexpr char kConfig[] = R"(
taxonomy:
  categories:
    - {id: billing, name: Billing, kind: complaint, keywords: [invoice]}
    - {id: login, name: Login, kind: complaint, keywords: [password]}
    - {id: dark-mode, name: Dark mode, kind: suggestion, keywords: [dark]}
    - {id: kudos, name: Kudos, kind: praise, keywords: [thanks]}
trackers:
  - {id: tasks, type: builtin}
loop: {stall_min_tickets: 3, stall_window: 14d}
)";

class InsightsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = config::ParseConfig(kConfig, dir_.path());
    ASSERT_TRUE(c.ok()) << c.status();
    config_ = *c;
    auto s = store::OpenSqliteStore({.path = dir_.path() + "/d.db"}, clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    auto k = classify::KeywordClassifier::Create(config_.taxonomy(), clock_);
    ASSERT_TRUE(k.ok()) << k.status();
    classifier_ = std::move(*k);
    policy_ = std::make_unique<policy::LinkPolicy>(config_, clock_);
    service_ = std::make_unique<service::Service>(service::Deps{config_,
                                                                *store_,
                                                                *classifier_,
                                                                *policy_,
                                                                clock_,
                                                                {},
                                                                {},
                                                                [] {},
                                                                emerging_,
                                                                nullptr,
                                                                nullptr,
                                                                nullptr});
  }
  void TearDown() override { store_->Close(); }

  // A confidently tagged ticket of `category`, first seen `ago` before now.
  void Ticket(const std::string& id, const std::string& category, absl::Duration ago,
              const std::string& customer, const std::string& agent = "", int64_t link_to = 0) {
    ASSERT_TRUE(store_
                    ->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
                      spi::TicketRecord r;
                      r.ticket.set_helpdesk_id("support");
                      r.ticket.set_ticket_id(id);
                      r.ticket.mutable_requester()->set_email(customer + "@example.com");
                      if (!agent.empty()) r.ticket.mutable_assignee()->set_name(agent);
                      r.first_seen = clock_.Now() - ago;
                      v1::Classification& c = r.classification.emplace();
                      c.set_category_id(category);
                      c.set_confidence(0.9);
                      if (auto s = tx.PutTicket(r); !s.ok()) return s;
                      if (link_to == 0) return absl::OkStatus();
                      v1::TaskLink l;
                      l.set_helpdesk_id("support");
                      l.set_ticket_id(id);
                      l.set_task_id(link_to);
                      base::SetTimestamp(l.mutable_linked_at(), r.first_seen);
                      return tx.PutLink(l);
                    })
                    .ok());
  }

  int64_t Task(const std::string& category, v1::TaskStatus status, int64_t regression_of = 0) {
    int64_t id = 0;
    EXPECT_TRUE(store_
                    ->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
                      v1::ImprovementTask t;
                      t.set_category_id(category);
                      t.set_tracker_id("tasks");
                      t.set_title("Root cause: " + category);
                      t.set_status(status);
                      t.set_regression_of(regression_of);
                      auto i = tx.InsertTask(t);
                      if (!i.ok()) return i.status();
                      id = *i;
                      return absl::OkStatus();
                    })
                    .ok());
    return id;
  }

  void Status(int64_t task, v1::TaskStatus status) {
    ASSERT_TRUE(store_
                    ->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
                      auto t = tx.GetTask(task);
                      if (!t.ok()) return t.status();
                      (*t)->set_status(status);
                      if (status == v1::TASK_DONE)
                        base::SetTimestamp((*t)->mutable_done_at(), clock_.Now());
                      if (status == v1::TASK_SHIPPED) {
                        base::SetTimestamp((*t)->mutable_shipped_at(), clock_.Now());
                        (*t)->set_release("v2.3");
                      }
                      if (auto s = tx.UpdateTask(**t); !s.ok()) return s;
                      v1::TaskStatusChange c;
                      c.set_task_id(task);
                      c.set_status(status);
                      base::SetTimestamp(c.mutable_at(), clock_.Now());
                      c.set_source("poll");
                      return tx.RecordStatusChange(c);
                    })
                    .ok());
  }

  TempDir dir_;
  FakeClock clock_;
  v1::Config config_;
  std::unique_ptr<spi::Store> store_;
  std::unique_ptr<classify::KeywordClassifier> classifier_;
  std::unique_ptr<policy::LinkPolicy> policy_;
  classify::EmergingIssues emerging_;
  std::unique_ptr<service::Service> service_;
};

TEST_F(InsightsTest, CausesOverTimeCountsWeeksFiltersAndRefusesAnInvertedWindow) {
  const absl::Duration week = absl::Hours(24 * 7);
  Ticket("1", "billing", absl::Hours(1), "ann");
  Ticket("2", "billing", week + absl::Hours(1), "ann");  // Ann again: a repeat contact
  Ticket("3", "login", absl::Hours(2), "bob");
  Ticket("4", "kudos", absl::Hours(3), "cy");
  Ticket("5", "billing", 30 * week, "dee");  // before the 26 weeks
  auto all = service_->CausesOverTime({});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->weeks_size(), 26);
  EXPECT_EQ(spi::WeekOf(base::FromTimestamp(all->weeks(25))), spi::WeekOf(clock_.Now()));
  ASSERT_EQ(all->causes_size(), 3);
  const v1::CauseTrend& billing = all->causes(0);
  EXPECT_EQ(billing.category_id(), "billing") << "most tickets first";
  EXPECT_EQ(billing.name(), "Billing");
  EXPECT_EQ(billing.tickets(), 2);
  EXPECT_EQ(billing.repeat_contacts(), 1);
  ASSERT_EQ(billing.weekly_tickets_size(), 26);
  EXPECT_EQ(billing.weekly_tickets(25) + billing.weekly_tickets(24), 2);

  v1::CausesOverTimeRequest praise;
  praise.mutable_filter()->set_kind(v1::PRAISE);
  auto p = service_->CausesOverTime(praise);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->causes_size(), 1);
  EXPECT_EQ(p->causes(0).category_id(), "kudos");

  v1::CausesOverTimeRequest year;
  base::SetTimestamp(year.mutable_filter()->mutable_from(), clock_.Now() - 52 * week);
  auto y = service_->CausesOverTime(year);
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->causes(0).tickets(), 3) << "a year holds Dee's ticket too";

  v1::CausesOverTimeRequest elsewhere;
  elsewhere.mutable_filter()->set_helpdesk_id("shop");
  auto e = service_->CausesOverTime(elsewhere);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->causes_size(), 0);

  v1::CausesOverTimeRequest inverted;
  base::SetTimestamp(inverted.mutable_filter()->mutable_from(), clock_.Now());
  base::SetTimestamp(inverted.mutable_filter()->mutable_to(), clock_.Now() - 2 * week);
  EXPECT_TRUE(absl::IsInvalidArgument(service_->CausesOverTime(inverted).status()));
}

TEST_F(InsightsTest, ATaskIsStalledWhileItsCauseArrivesAndItsStatusStandsStill) {
  const int64_t task = Task("billing", v1::TASK_OPEN);
  clock_.Advance(absl::Hours(24 * 60));
  // Two tickets linked in the 4 weeks before the last 4, four in the last 4 (three in 14 days).
  Ticket("1", "billing", absl::Hours(24 * 40), "a", "", task);
  Ticket("2", "billing", absl::Hours(24 * 35), "b", "", task);
  Ticket("3", "billing", absl::Hours(24 * 20), "c", "", task);
  Ticket("4", "billing", absl::Hours(24 * 10), "d", "", task);
  Ticket("5", "billing", absl::Hours(24 * 5), "e", "", task);
  Ticket("6", "billing", absl::Hours(24 * 1), "e", "", task);
  auto r = service_->TasksByImpact({});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->tasks_size(), 1);
  const v1::TaskImpact& t = r->tasks(0);
  EXPECT_EQ(t.task().ticket_count(), 6);
  EXPECT_EQ(t.task().customer_count(), 5);
  EXPECT_EQ(t.recent_tickets(), 4);
  EXPECT_EQ(t.earlier_tickets(), 2);
  EXPECT_DOUBLE_EQ(t.growth(), 1.0);
  EXPECT_EQ(t.window_tickets(), 3);
  EXPECT_TRUE(t.stalled()) << "3 tickets in 14 days, no status change in 60 days";
  EXPECT_EQ(r->stall_min_tickets(), 3u);

  Status(task, v1::TASK_IN_PROGRESS);
  r = service_->TasksByImpact({});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->tasks(0).stalled()) << "its status just changed";
  EXPECT_EQ(base::FromTimestamp(r->tasks(0).status_changed_at()), clock_.Now());

  v1::TasksByImpactRequest praise;
  praise.set_kind(v1::PRAISE);
  r = service_->TasksByImpact(praise);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tasks_size(), 0);
}

TEST_F(InsightsTest, AFixShowsItsStepsWhetherItCameBackAndTheLoopsCycle) {
  Ticket("1", "login", absl::Hours(48), "ann");
  const int64_t task = Task("login", v1::TASK_OPEN);  // opened two days after the first ticket
  ASSERT_TRUE(store_
                  ->Transact([&](spi::StoreTransaction& tx) {
                    v1::TaskLink l;
                    l.set_helpdesk_id("support");
                    l.set_ticket_id("1");
                    l.set_task_id(task);
                    base::SetTimestamp(l.mutable_linked_at(), clock_.Now());
                    return tx.PutLink(l);
                  })
                  .ok());
  clock_.Advance(absl::Hours(24 * 5));
  Status(task, v1::TASK_DONE);  // five days later
  {
    auto r = service_->FixOutcomes({});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->fixes_size(), 1) << "fixed, not yet shipped, is listed";
    EXPECT_FALSE(r->fixes(0).has_shipped());
  }
  clock_.Advance(absl::Hours(24));
  Status(task, v1::TASK_SHIPPED);  // released a day later
  ASSERT_TRUE(store_
                  ->Transact([&](spi::StoreTransaction& tx) {
                    v1::OutboxAction a;
                    a.mutable_notify_ticket()->set_task_id(task);
                    return tx.Enqueue(absl::StrCat("notify:", task, ":support:1"), a, clock_.Now());
                  })
                  .ok());
  auto due = store_->DueActions(clock_.Now(), 10);
  ASSERT_TRUE(due.ok() && due->size() == 1u);
  clock_.Advance(absl::Hours(3));
  ASSERT_TRUE(store_->CompleteActions({(*due)[0].id}).ok());  // told three hours after shipped
  // The cause comes back: a regression task.
  const int64_t again = Task("login", v1::TASK_OPEN, /*regression_of=*/task);
  auto r = service_->FixOutcomes({});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->fixes_size(), 1);
  const v1::FixOutcome& f = r->fixes(0);
  EXPECT_EQ(f.task().id(), task);
  EXPECT_EQ(f.came_back_as(), again);
  EXPECT_EQ(f.tickets_told(), 1);
  EXPECT_EQ(base::FromTimestamp(f.told()) - base::FromTimestamp(f.shipped()), absl::Hours(3));
  EXPECT_EQ(base::FromTimestamp(f.shipped()) - base::FromTimestamp(f.done()), absl::Hours(24));
  EXPECT_EQ(f.task().release(), "v2.3");
  ASSERT_GE(r->cycles_size(), 2);
  EXPECT_EQ(r->cycles(0).category_id(), "") << "every cause together first";
  EXPECT_EQ(r->cycles(1).category_id(), "login");
  auto stage = [&](const std::string& name) -> absl::Duration {
    for (const v1::CycleStage& s : r->cycles(0).stages())
      if (s.stage() == name) return absl::Seconds(s.median().seconds());
    return absl::InfiniteDuration();
  };
  EXPECT_EQ(stage("to_task"), absl::Hours(48));
  EXPECT_EQ(stage("to_done"), absl::Hours(24 * 5));
  EXPECT_EQ(stage("to_shipped"), absl::Hours(24));
  EXPECT_EQ(stage("to_told"), absl::Hours(3));

  v1::FixOutcomesRequest praise;
  praise.mutable_filter()->set_kind(v1::PRAISE);
  auto none = service_->FixOutcomes(praise);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->fixes_size(), 0);
  EXPECT_EQ(none->cycles_size(), 0);
}

TEST_F(InsightsTest, SuggestionsCountTheirCustomersAndPraiseCreditsItsAgents) {
  const int64_t task = Task("dark-mode", v1::TASK_OPEN);
  Ticket("1", "dark-mode", absl::Hours(1), "ann", "", task);
  Ticket("2", "dark-mode", absl::Hours(2), "ann", "", task);
  Ticket("3", "dark-mode", absl::Hours(3), "bob", "", task);
  Ticket("4", "kudos", absl::Hours(1), "cy", "Ida");
  Ticket("5", "kudos", absl::Hours(2), "dee", "Ida");
  Ticket("6", "kudos", absl::Hours(3), "eve", "Max");
  auto r = service_->CustomersVoice({});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->suggestions_size(), 1);
  EXPECT_EQ(r->suggestions(0).tickets(), 3);
  EXPECT_EQ(r->suggestions(0).customers(), 2);
  EXPECT_EQ(r->suggestions(0).task_id(), task);
  EXPECT_EQ(r->suggestions(0).task_status(), v1::TASK_OPEN);
  ASSERT_EQ(r->praise_size(), 2);
  EXPECT_EQ(r->praise(0).agent(), "Ida");
  EXPECT_EQ(r->praise(0).tickets(), 2);
  EXPECT_EQ(r->praise(1).agent(), "Max");
}

}  // namespace
}  // namespace debrief
