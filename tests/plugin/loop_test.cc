// Close the loop, as scenarios on a fake clock through the real pipeline, SQLite store, link
// policy, builtin tracker, loop and executor. The helpdesk is a mock that records what it is
// asked to post (the helpdesk adapters have their own tests).
#include "loop/loop.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "base/time_util.h"
#include "classify/keyword_classifier.h"
#include "config/config.h"
#include "loop/verification.h"
#include "mocks/spi_mocks.h"
#include "outbox/executor.h"
#include "pipeline/pipeline.h"
#include "store/sqlite_store.h"
#include "tracker/builtin/builtin_tracker.h"

namespace debrief::loop {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::NiceMock;
using ::testing::Not;
using ::testing::Return;
using ::testing::ReturnRef;

struct Posted {
  std::string ticket_id;
  spi::TicketNote note;
};

class LoopScenario : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = config::ParseConfig(R"(
trackers: [{id: tasks, type: builtin}]
link_policy: {open_after_tickets: 3, window: 30d}
loop:
  impact_interval: 10m
  public_replies: true
  settling_delay: 7d
  verify_window: 28d
taxonomy:
  categories:
    - {id: billing, name: Double charges, kind: complaint, keywords: ["charged twice"],
       public_reply: true}
    - {id: login, name: Login loops, kind: complaint, keywords: ["log ?in"]}
    - {id: export, name: Export to CSV, kind: suggestion, keywords: ["export"],
       open_immediately: true, public_reply: true}
    - {id: kudos, name: Helpful agents, kind: praise, keywords: ["thank you"],
       open_immediately: true}
)",
                                 dir_.path());
    ASSERT_TRUE(c.ok()) << c.status();
    config_ = *c;
    store_ = std::move(*store::OpenSqliteStore({.path = dir_.file("d.db")}, clock_));
    classifier_ = std::move(*classify::KeywordClassifier::Create(config_.taxonomy(), clock_));
    policy_ = std::make_unique<policy::LinkPolicy>(config_, clock_);
    auto t =
        adapters::builtin::BuiltinTracker::Open("tasks", dir_.file("t.db"), "http://t/", clock_);
    ASSERT_TRUE(t.ok());
    tracker_ = std::move(*t);
    ON_CALL(helpdesk_, id()).WillByDefault(ReturnRef(id_));
    // Wire format of the mock: "ticket|customer id|customer name|status|text|assignee".
    ON_CALL(helpdesk_, Normalize(_)).WillByDefault(Invoke([](const spi::InboundDelivery& d) {
      std::vector<std::string> f = absl::StrSplit(std::string(d.body), '|');
      spi::NormalizeResult r;
      r.event.emplace();
      r.event->set_type(v1::TICKET_CREATED);
      v1::Ticket* t = r.event->mutable_ticket();
      t->set_ticket_id(f[0]);
      t->mutable_requester()->set_id(f[1]);
      t->mutable_requester()->set_name(f[2]);
      t->set_status(f[3]);
      t->set_subject(f[4]);
      t->set_body(f[4]);
      if (f.size() > 5) t->mutable_assignee()->set_name(f[5]);
      return absl::StatusOr<spi::NormalizeResult>(r);
    }));
    ON_CALL(helpdesk_, WriteBack(_, _, _)).WillByDefault(Return(absl::OkStatus()));
    ON_CALL(helpdesk_, PostNote(_, _))
        .WillByDefault(Invoke([this](const v1::Ticket& t, const spi::TicketNote& n) {
          posted_.push_back({t.ticket_id(), n});
          return absl::OkStatus();
        }));
    std::map<std::string, spi::HelpdeskAdapter*> hd{{"support", &helpdesk_}};
    pipeline_ = std::make_unique<pipeline::Pipeline>(*store_, hd, *classifier_, *policy_, clock_,
                                                     64, absl::Milliseconds(10));
    loop_ = std::make_unique<Loop>(
        config_, *store_, hd,
        std::map<std::string, spi::TrackerAdapter*>{{"tasks", tracker_.get()}}, *policy_, clock_);
    executor_ =
        std::make_unique<outbox::Executor>(*store_, hd, *loop_, clock_, outbox::ExecutorOptions{});
  }

  void Ticket(const std::string& id, const std::string& customer, const std::string& name,
              const std::string& text, const std::string& status = "open",
              const std::string& assignee = "") {
    spi::StoredDelivery d;
    d.adapter_id = "support";
    d.delivery_key = "d" + id;
    d.body = absl::StrCat(id, "|", customer, "|", name, "|", status, "|", text, "|", assignee);
    d.received_at = clock_.Now();
    std::promise<void> p;
    store_->AppendDelivery(d, [&](auto) { p.set_value(); });
    p.get_future().wait();
    ASSERT_TRUE(pipeline_->Drain().ok());
  }

  // Runs the executor until nothing is due now.
  void Run() {
    for (int i = 0; i < 20; ++i) {
      auto n = executor_->RunDue();
      ASSERT_TRUE(n.ok()) << n.status();
      if (*n == 0) return;
    }
  }

  v1::ImprovementTask Task(const std::string& category, bool active = true) {
    v1::ImprovementTask out;
    EXPECT_TRUE(store_
                    ->Read([&](spi::StoreTransaction& tx) -> absl::Status {
                      auto tasks = tx.ListTasks({.category_id = category});
                      for (const auto& t : *tasks)
                        if (!active || t.status() == v1::TASK_OPEN ||
                            t.status() == v1::TASK_PENDING_CREATE)
                          out = t;
                      return absl::OkStatus();
                    })
                    .ok());
    return out;
  }

  // The stalled labels taken off so far (ClearStall actions done).
  int ClearStalls() {
    int n = 0;
    EXPECT_TRUE(store_
                    ->Read([&](spi::StoreTransaction& tx) -> absl::Status {
                      auto done = tx.ListActions(spi::ActionState::kDone, 10000);
                      if (!done.ok()) return done.status();
                      for (const auto& a : *done) n += a.action.has_clear_stall();
                      return absl::OkStatus();
                    })
                    .ok());
    return n;
  }

  int NotesFor(const std::string& ticket, bool is_public) {
    int n = 0;
    for (const auto& p : posted_) n += p.ticket_id == ticket && p.note.is_public == is_public;
    return n;
  }

  // The tracker's done is not shipped from now on: a done task waits until someone sets it
  // shipped (the builtin tracker with shipped_when: released).
  void ShipOnRelease() {
    executor_.reset();
    loop_.reset();
    tracker_.reset();
    auto t = adapters::builtin::BuiltinTracker::Open("tasks", dir_.file("t.db"), "http://t/",
                                                     clock_, spi::ShippedWhen::kReleased);
    ASSERT_TRUE(t.ok());
    tracker_ = std::move(*t);
    std::map<std::string, spi::HelpdeskAdapter*> hd{{"support", &helpdesk_}};
    loop_ = std::make_unique<Loop>(
        config_, *store_, hd,
        std::map<std::string, spi::TrackerAdapter*>{{"tasks", tracker_.get()}}, *policy_, clock_);
    executor_ =
        std::make_unique<outbox::Executor>(*store_, hd, *loop_, clock_, outbox::ExecutorOptions{});
  }

  // The task's status changes, oldest first.
  std::vector<v1::TaskStatusChange> History(int64_t task_id) {
    std::vector<v1::TaskStatusChange> out;
    EXPECT_TRUE(store_
                    ->Read([&](spi::StoreTransaction& tx) -> absl::Status {
                      auto h = tx.StatusHistory(task_id);
                      if (!h.ok()) return h.status();
                      out = std::move(*h);
                      return absl::OkStatus();
                    })
                    .ok());
    return out;
  }

  // Three customers' complaints open the billing task; it, once in the tracker.
  v1::ImprovementTask BillingTask() {
    for (int i = 1; i <= 3; ++i)
      Ticket(absl::StrCat(i), absl::StrCat("c", i), "Sam Lee", "I was charged twice");
    Run();
    return Task("billing");
  }

  int64_t LinkedTaskOf(const std::string& ticket) {
    int64_t id = 0;
    EXPECT_TRUE(store_
                    ->Read([&](spi::StoreTransaction& tx) -> absl::Status {
                      auto l = tx.GetLink("support", ticket);
                      if (!l.ok()) return l.status();
                      if (*l) id = (*l)->task_id();
                      return absl::OkStatus();
                    })
                    .ok());
    return id;
  }

  // The builtin tracker closes the task, the follower notices, the executor acts.
  void CloseInTracker(const v1::ImprovementTask& t) {
    ASSERT_TRUE(tracker_->SetStatus(t.external_id(), v1::TASK_DONE).ok());
    auto changed = loop_->PollStatuses();
    ASSERT_TRUE(changed.ok()) << changed.status();
    EXPECT_EQ(*changed, 1);
    Run();
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  v1::Config config_;
  std::unique_ptr<spi::Store> store_;
  std::unique_ptr<classify::Classifier> classifier_;
  std::unique_ptr<policy::LinkPolicy> policy_;
  std::unique_ptr<adapters::builtin::BuiltinTracker> tracker_;
  std::string id_ = "support";
  NiceMock<testing::MockHelpdeskAdapter> helpdesk_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  std::unique_ptr<Loop> loop_;
  std::unique_ptr<outbox::Executor> executor_;
  std::vector<Posted> posted_;
};

TEST_F(LoopScenario, ACauseOpensOneTaskIsKeptCurrentIsClosedTellsEveryTicketOnceAndIsVerified) {
  // Twelve complaints over four weeks (customer c1 twice), from named customers.
  for (int i = 1; i <= 12; ++i) {
    std::string cust = i == 2 ? "c1" : absl::StrCat("c", i);
    Ticket(absl::StrCat(i), cust, i == 1 ? "Maria Gonzalez" : "Sam Lee",
           i == 1 ? "Maria here: I was charged twice, mail maria@example.com or +44 20 7946 0958"
                  : "I was charged twice this month",
           i == 12 ? "solved" : "open");
    if (i == 3) {
      // The threshold is crossed: one task, created with the three tickets.
      Run();
      v1::ImprovementTask t = Task("billing");
      ASSERT_FALSE(t.external_id().empty());
      EXPECT_EQ(*tracker_->LinkedTickets(t.external_id()),
                (std::vector<std::string>{"support/1", "support/2", "support/3"}));
    }
    clock_.Advance(absl::Hours(52));
    Run();
  }
  v1::ImprovementTask task = Task("billing");
  EXPECT_EQ(*tracker_->CountTasks(), 1);
  EXPECT_EQ(tracker_->LinkedTickets(task.external_id())->size(), 12u);
  auto details = tracker_->Details(task.external_id());
  ASSERT_TRUE(details.ok());
  EXPECT_THAT(details->description, HasSubstr("Tickets: 12 from 11 customers"));
  EXPECT_THAT(details->description, HasSubstr("Weekly tickets"));
  // Personal data never reaches the tracker.
  EXPECT_THAT(details->description, Not(HasSubstr("maria@example.com")));
  EXPECT_THAT(details->description, Not(HasSubstr("7946")));
  EXPECT_THAT(details->description, Not(HasSubstr("Maria")));
  EXPECT_THAT(details->description, HasSubstr("[email]"));
  // The same words from ten customers (a form, a macro) are quoted once.
  size_t quoted = 0;
  for (size_t at = details->description.find("> I was charged twice this month");
       at != std::string::npos;
       at = details->description.find("> I was charged twice this month", at + 1))
    ++quoted;
  EXPECT_EQ(quoted, 1u);

  CloseInTracker(task);
  task = Task("billing", /*active=*/false);
  EXPECT_EQ(task.status(), v1::TASK_SHIPPED) << "the builtin tracker ships at done by default";
  for (int i = 1; i <= 12; ++i) {
    const std::string id = absl::StrCat(i);
    EXPECT_EQ(NotesFor(id, /*is_public=*/false), 1) << "ticket " << id;
  }
  // One public reply per customer: c1's second ticket gets none; 12 was solved 2 days ago.
  int replies = 0;
  for (const auto& p : posted_) replies += p.note.is_public;
  EXPECT_EQ(replies, 11);
  EXPECT_EQ(NotesFor("2", /*is_public=*/true) + NotesFor("1", /*is_public=*/true), 1);
  for (const auto& p : posted_) {
    if (!p.note.is_public) {
      EXPECT_EQ(p.note.add_tags, std::vector<std::string>{"debrief-fixed"});
    } else {
      EXPECT_THAT(p.note.body, HasSubstr("You told us about Double charges"));
    }
  }
  // Nothing is told twice: another poll and run add nothing.
  const size_t told = posted_.size();
  EXPECT_EQ(*loop_->PollStatuses(), 0);
  Run();
  EXPECT_EQ(posted_.size(), told);

  // The history holds each status with its time.
  const std::vector<v1::TaskStatusChange> history = History(task.id());
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].status(), v1::TASK_PENDING_CREATE);
  EXPECT_EQ(history[1].status(), v1::TASK_OPEN);
  EXPECT_EQ(history[2].status(), v1::TASK_SHIPPED);
  EXPECT_EQ(history[2].source(), "poll");

  // The cause stopped: after the settling delay and the window, the fix is verified.
  clock_.Advance(absl::Hours(24 * 35) + absl::Minutes(1));
  Run();
  task = Task("billing", /*active=*/false);
  ASSERT_TRUE(task.has_verification());
  EXPECT_EQ(task.verification().verdict(), v1::FixVerification::VERIFIED);
  EXPECT_EQ(task.verification().before(), 12);
  EXPECT_EQ(task.verification().after(), 0);
  EXPECT_DOUBLE_EQ(task.verification().p_value(), 1.0 / 4096);
  EXPECT_FALSE(task.flagged());
  details = tracker_->Details(task.external_id());
  EXPECT_THAT(details->labels, ::testing::Contains("debrief-fix-verified"));
  ASSERT_EQ(details->comments.size(), 1u);
  EXPECT_THAT(details->comments[0],
              HasSubstr("Fix verified: tickets of this cause went down 100%"));
}

TEST_F(LoopScenario, SideEffectKeysNameThisInstallation) {
  // A second Debrief against the same tracker, or this one on a fresh database, numbers its
  // tasks from 1 again: the installation's id keeps their markers apart.
  const std::string installation = testing::ReadCursor(*store_, spi::kInstallationCursor);
  ASSERT_FALSE(installation.empty());
  auto key = loop_->EffectKey("task", "1-billing");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, absl::StrCat("debrief-task-", installation, "-1-billing"));
}

TEST_F(LoopScenario, ACauseThatContinuesIsFlaggedAndItsReturnOpensARegressionTask) {
  for (int i = 1; i <= 6; ++i) {
    Ticket(absl::StrCat("a", i), absl::StrCat("c", i), "Ann Example", "cannot log in again");
    clock_.Advance(absl::Hours(24 * 4));
  }
  Run();
  v1::ImprovementTask first = Task("login");
  ASSERT_FALSE(first.external_id().empty());
  CloseInTracker(first);
  // Never chased (it moved within its window): closing it takes no label off.
  EXPECT_EQ(ClearStalls(), 0);
  // No public reply: the login category does not allow one.
  for (const auto& p : posted_) EXPECT_FALSE(p.note.is_public);

  // It keeps coming, during the settling delay and after.
  for (int i = 1; i <= 9; ++i) {
    clock_.Advance(absl::Hours(24 * 4));
    Ticket(absl::StrCat("b", i), absl::StrCat("d", i), "Bo Example", "log in loop");
    Run();
  }
  // The cause came back: a new task that points at the done one.
  v1::ImprovementTask regression = Task("login");
  ASSERT_NE(regression.id(), first.id());
  EXPECT_EQ(regression.regression_of(), first.id());
  auto details = tracker_->Details(regression.external_id());
  ASSERT_TRUE(details.ok());
  EXPECT_THAT(details->title, HasSubstr("came back"));
  EXPECT_THAT(details->description,
              HasSubstr("Regression: this cause came back after DEBRIEF-" + first.external_id()));

  clock_.Advance(absl::Hours(24 * 3));
  Run();
  v1::ImprovementTask done;
  ASSERT_TRUE(store_
                  ->Read([&](spi::StoreTransaction& tx) {
                    done = **tx.GetTask(first.id());
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(done.has_verification());
  EXPECT_EQ(done.verification().verdict(), v1::FixVerification::NOT_VERIFIED)
      << done.verification().summary();
  EXPECT_TRUE(done.flagged());
  EXPECT_THAT(tracker_->Details(first.external_id())->labels,
              ::testing::Contains("debrief-fix-not-verified"));
}

TEST_F(LoopScenario, ASuggestionCreditsAndThanksItsAuthorAndPraiseCreditsTheAgent) {
  Ticket("s1", "cust-77", "Pat Idea", "Please add an export to CSV", "open");
  Ticket("s2", "lee@example.com", "Lee Idea", "An export would help us", "open");
  Ticket("k1", "cust-78", "Kim Happy", "Thank you, Jo was so helpful", "solved", "Jo Agent");
  Run();
  v1::ImprovementTask idea = Task("export");
  ASSERT_FALSE(idea.external_id().empty()) << "a suggestion opens at once";
  auto details = tracker_->Details(idea.external_id());
  EXPECT_THAT(details->title, HasSubstr("Customer suggestion: Export to CSV"));
  EXPECT_THAT(details->description, HasSubstr("customer cust-77 of ticket support/s1"));
  EXPECT_THAT(details->description, Not(HasSubstr("Pat")));
  clock_.Advance(absl::Minutes(10));  // the second suggestion reaches the task
  Run();
  details = tracker_->Details(Task("export").external_id());
  EXPECT_THAT(details->description, HasSubstr("the requester of ticket support/s2"));
  EXPECT_THAT(details->description, Not(HasSubstr("lee@example.com")));
  v1::ImprovementTask kudos = Task("kudos");
  details = tracker_->Details(kudos.external_id());
  EXPECT_THAT(details->title, HasSubstr("Keep doing this"));
  EXPECT_THAT(details->description,
              HasSubstr("Credited agents (tickets praising them): Jo Agent (1)"));

  CloseInTracker(idea);
  ASSERT_EQ(NotesFor("s1", /*is_public=*/true), 1);
  ASSERT_EQ(NotesFor("s2", /*is_public=*/true), 1);
  for (const auto& p : posted_)
    if (p.note.is_public && p.ticket_id == "s1") {
      EXPECT_THAT(p.note.body, HasSubstr("Hi Pat,\n\nYou suggested Export to CSV"));
    }
}

TEST_F(LoopScenario, TheTaskIsRewrittenWhenItsImpactGrewOrItsLastWriteIsStale) {
  auto linked = [&] { return tracker_->LinkedTickets(Task("billing").external_id())->size(); };
  for (int i = 1; i <= 3; ++i)
    Ticket(absl::StrCat(i), absl::StrCat("c", i), "A B", "charged twice");
  Run();
  EXPECT_EQ(linked(), 3u);  // created with its three tickets
  // The defaults: an edit when the tickets doubled and 10 or more are new, or when the last
  // edit is 72 hours old.
  for (int i = 4; i <= 12; ++i) {
    Ticket(absl::StrCat(i), absl::StrCat("c", i), "A B", "charged twice");
    clock_.Advance(absl::Minutes(10));
    Run();
    EXPECT_EQ(linked(), 3u) << i << " tickets: doubled, but fewer than 10 new; no edit yet";
  }
  Ticket("13", "c13", "A B", "charged twice");
  clock_.Advance(absl::Minutes(10));
  Run();
  EXPECT_EQ(linked(), 13u) << "10 new: one edit carries the ten new links";
  Ticket("14", "c14", "A B", "charged twice");
  clock_.Advance(absl::Hours(71));
  Run();
  EXPECT_EQ(linked(), 13u);
  clock_.Advance(absl::Hours(1));
  Run();
  EXPECT_EQ(linked(), 14u) << "72 hours after the last edit, the task catches up";
}

TEST_F(LoopScenario, AnAgentRequestsATaskWithoutWaitingForTheThreshold) {
  Ticket("r1", "c1", "A B", "charged twice");
  Run();
  EXPECT_EQ(*tracker_->CountTasks(), 0);
  absl::StatusOr<policy::LinkPolicy::Requested> req;
  ASSERT_TRUE(store_
                  ->Transact([&](spi::StoreTransaction& tx) {
                    req = policy_->RequestTask(tx, "support", "r1", "");
                    return req.status();
                  })
                  .ok())
      << req.status();
  EXPECT_TRUE(req->created);
  Run();
  EXPECT_EQ(*tracker_->CountTasks(), 1);
  EXPECT_EQ(*tracker_->LinkedTickets(Task("billing").external_id()),
            std::vector<std::string>{"support/r1"});
  // Asking again links to the same task.
  ASSERT_TRUE(store_
                  ->Transact([&](spi::StoreTransaction& tx) {
                    req = policy_->RequestTask(tx, "support", "r1", "billing");
                    return req.status();
                  })
                  .ok());
  EXPECT_FALSE(req->created);
}

// A task whose cause keeps coming while nobody moves it is chased: one comment with what kept
// coming and the debrief-stalled label, once per window without a status change (14 days and
// 10 tickets by default). A status change ends it; a task that stalls again is chased again.
TEST_F(LoopScenario, AStalledTaskIsChasedOncePerWindowUntilItsStatusMoves) {
  for (int i = 1; i <= 3; ++i)
    Ticket(absl::StrCat("s", i), absl::StrCat("c", i), "Ann Example", "cannot log in");
  Run();
  const v1::ImprovementTask task = Task("login");
  ASSERT_FALSE(task.external_id().empty());
  auto chases = [&] {
    std::vector<std::string> out;
    auto details = tracker_->Details(task.external_id());
    for (const std::string& c : details->comments)
      if (absl::StrContains(c, "has not moved")) out.push_back(c);
    return out;
  };
  // Twelve days of tickets: many, but the task is younger than the window.
  for (int i = 4; i <= 15; ++i) {
    clock_.Advance(absl::Hours(24));
    Ticket(absl::StrCat("s", i), absl::StrCat("c", i), "Ann Example", "log in loop");
  }
  Run();
  EXPECT_EQ(loop_->ChaseStalledTasks().value_or(-1), 0);
  EXPECT_THAT(tracker_->Details(task.external_id())->labels,
              Not(::testing::Contains("debrief-stalled")));

  // Fifteen days unmoved, twelve tickets in the last fourteen: chased.
  clock_.Advance(absl::Hours(24 * 3));
  EXPECT_EQ(loop_->ChaseStalledTasks().value_or(-1), 1);
  Run();
  ASSERT_EQ(chases().size(), 1u);
  EXPECT_THAT(chases()[0], HasSubstr("(15 days) while its cause kept coming: 12 new tickets in "
                                     "the last 14 days, from 12 customers"));
  EXPECT_THAT(chases()[0], HasSubstr("waited since 2026-11-18 (15 days, ticket support/s1)"));
  EXPECT_THAT(chases()[0], Not(HasSubstr("Ann")));
  EXPECT_THAT(tracker_->Details(task.external_id())->labels,
              ::testing::Contains("debrief-stalled"));
  auto clears = [&] { return ClearStalls(); };
  EXPECT_EQ(clears(), 0);
  // Later polls in the same window: not again.
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Hours(2));
    EXPECT_EQ(loop_->ChaseStalledTasks().value_or(-1), 1);
    Run();
  }
  EXPECT_EQ(chases().size(), 1u);

  // Someone takes it: no longer stalled, and the label comes off.
  ASSERT_TRUE(tracker_->SetStatus(task.external_id(), v1::TASK_IN_PROGRESS).ok());
  ASSERT_EQ(loop_->PollStatuses().value_or(-1), 1);
  Run();
  EXPECT_EQ(loop_->ChaseStalledTasks().value_or(-1), 0);
  EXPECT_THAT(tracker_->Details(task.external_id())->labels,
              Not(::testing::Contains("debrief-stalled")));
  EXPECT_EQ(clears(), 1);

  // ... and leaves it there while tickets keep coming: chased again fifteen days later.
  for (int i = 1; i <= 12; ++i) {
    clock_.Advance(absl::Hours(24));
    Ticket(absl::StrCat("u", i), absl::StrCat("d", i), "Bo Example", "log in loop");
    EXPECT_EQ(loop_->ChaseStalledTasks().value_or(-1), 0);
  }
  clock_.Advance(absl::Hours(24 * 3));
  EXPECT_EQ(loop_->ChaseStalledTasks().value_or(-1), 1);
  Run();
  EXPECT_EQ(chases().size(), 2u);
  EXPECT_THAT(tracker_->Details(task.external_id())->labels,
              ::testing::Contains("debrief-stalled"));
  EXPECT_EQ(tracker_->Details(task.external_id())->comments.size(), chases().size())
      << "a chase wrote more than its comment";
  // Done after that: the label comes off once more.
  CloseInTracker(task);
  EXPECT_EQ(clears(), 2);
  EXPECT_THAT(tracker_->Details(task.external_id())->labels,
              Not(::testing::Contains("debrief-stalled")));
}

// The statistics against values computed independently by Python (fractions, math.comb).
TEST(FixVerification, MatchesAnIndependentExactComputation) {
  std::string cmd =
      absl::StrCat("python3 ", DEBRIEF_SOURCE_DIR, "/tests/plugin/testdata/binomial_golden.py");
  FILE* f = popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  int before, after, rows = 0;
  double p;
  while (fscanf(f, "%d %d %lf", &before, &after, &p) == 3) {
    ++rows;
    EXPECT_NEAR(BinomialCdf(after, before + after, 0.5), p, 1e-12 + 1e-9 * p)
        << before << " before, " << after << " after";
    v1::FixVerification v = JudgeFix(before, after, 0.05);
    EXPECT_NEAR(v.p_value(), p, 1e-12 + 1e-9 * p);
    if (before + after < 5)
      EXPECT_EQ(v.verdict(), v1::FixVerification::NOT_YET_KNOWN);
    else
      EXPECT_EQ(v.verdict(),
                p < 0.05 ? v1::FixVerification::VERIFIED : v1::FixVerification::NOT_VERIFIED);
  }
  EXPECT_EQ(pclose(f), 0);
  EXPECT_EQ(rows, 15);
}

// The builtin tracker behind a wrapper that changes what a test needs and passes on the rest.
class ForwardingTracker : public spi::TrackerAdapter {
 public:
  explicit ForwardingTracker(spi::TrackerAdapter& inner) : inner_(inner) {}
  const std::string& id() const override { return inner_.id(); }
  const std::string& type() const override { return inner_.type(); }
  absl::StatusOr<spi::TrackerTask> CreateTask(const spi::TaskDraft& d) override {
    return inner_.CreateTask(d);
  }
  absl::Status UpdateTask(const std::string& id, const spi::TaskUpdate& u) override {
    return inner_.UpdateTask(id, u);
  }
  absl::StatusOr<spi::TrackerTask> GetTask(const std::string& id) override {
    return inner_.GetTask(id);
  }
  absl::StatusOr<std::vector<std::string>> ChangedSince(absl::Time since) override {
    return inner_.ChangedSince(since);
  }
  absl::Status Check(const std::vector<v1::Category>& r) override { return inner_.Check(r); }

 protected:
  spi::TrackerAdapter& inner_;
};

// The builtin tracker behind a tracker whose read-backs (on the task-follower's thread) a test
// can count and wait for, so it knows which of the follower's steps have run.
class WatchedTracker final : public ForwardingTracker {
 public:
  using ForwardingTracker::ForwardingTracker;
  absl::StatusOr<spi::TrackerTask> GetTask(const std::string& id) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      ++reads_[id];
      cv_.notify_all();
    }
    return inner_.GetTask(id);
  }

  int Reads(const std::string& id) {
    std::lock_guard<std::mutex> l(mu_);
    return reads_[id];
  }
  // Waits until the task has been read back more than `after` times; false after 30 s (the
  // test fails instead of hanging).
  bool WaitForRead(const std::string& id, int after) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(30), [&] { return reads_[id] > after; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> reads_;
};

TEST_F(LoopScenario, ATrackerWebhookHasItsTaskReadBackAtOnceNotAtTheNextPoll) {
  for (int i = 1; i <= 3; ++i)
    Ticket(absl::StrCat(i), absl::StrCat("c", i), "Sam", "charged twice");
  // A suggestion opens its task at once: a second task, whose read-backs mark the follower's
  // steps.
  Ticket("s1", "c9", "Pat", "Please add an export to CSV");
  Run();
  v1::ImprovementTask task = Task("billing");
  v1::ImprovementTask marker = Task("export");
  ASSERT_FALSE(task.external_id().empty());
  ASSERT_FALSE(marker.external_id().empty());
  WatchedTracker watched(*tracker_);
  Loop loop(config_, *store_, {}, {{"tasks", &watched}}, *policy_, clock_);
  // A poll now; the next is due in 5 minutes of the fake clock, which stands still.
  ASSERT_EQ(*loop.PollStatuses(), 0);
  const int task_reads = watched.Reads(task.external_id());
  const int marker_reads = watched.Reads(marker.external_id());
  ASSERT_TRUE(tracker_->SetStatus(task.external_id(), v1::TASK_DONE).ok());
  // Named before the follower starts, these reach its first step together.
  loop.Nudge("other-tracker", {task.external_id()});  // not this task's tracker
  loop.Nudge("tasks", {"no-such-task"});
  loop.Nudge("tasks", {marker.external_id()});
  loop.Start();
  ASSERT_TRUE(watched.WaitForRead(marker.external_id(), marker_reads)) << "the first step";
  // The first step has taken its nudges, so this one reaches a later step: once the marker is
  // read again, the first step has ended.
  loop.Nudge("tasks", {marker.external_id()});
  ASSERT_TRUE(watched.WaitForRead(marker.external_id(), marker_reads + 1)) << "a later step";
  EXPECT_EQ(watched.Reads(task.external_id()), task_reads);
  EXPECT_EQ(Task("billing", /*active=*/false).status(), v1::TASK_OPEN)
      << "nothing named this task yet, and the clock has not reached the next poll";
  loop.Nudge("tasks", {task.external_id()});
  ASSERT_TRUE(watched.WaitForRead(task.external_id(), task_reads));
  loop.Stop();  // the step that is reading the task back runs to its end first
  EXPECT_EQ(Task("billing", /*active=*/false).status(), v1::TASK_SHIPPED);
  Run();
  EXPECT_EQ(NotesFor("1", /*is_public=*/false), 1) << "the linked tickets are told";
}

// Done is not shipped: with shipped_when: released, a done task tells nobody; a customer who
// meets the cause meanwhile joins it; the release tells every linked ticket once, and the fix
// is verified from the day it shipped.
TEST_F(LoopScenario, ADoneTaskWaitsForItsReleaseAndItsTicketsAreToldWhenItShips) {
  ShipOnRelease();
  v1::ImprovementTask task = BillingTask();
  ASSERT_FALSE(task.external_id().empty());
  ASSERT_TRUE(tracker_->SetStatus(task.external_id(), v1::TASK_DONE).ok());
  EXPECT_EQ(*loop_->PollStatuses(), 1);
  Run();
  task = Task("billing", /*active=*/false);
  EXPECT_EQ(task.status(), v1::TASK_DONE);
  EXPECT_TRUE(task.has_done_at());
  EXPECT_FALSE(task.has_shipped_at());
  EXPECT_TRUE(posted_.empty()) << "fixed, not shipped: nobody is told";

  // A customer meets the cause before the release: the ticket joins the waiting task.
  clock_.Advance(absl::Hours(24));
  Ticket("4", "c4", "Kim Park", "I was charged twice again");
  Run();
  EXPECT_EQ(LinkedTaskOf("4"), task.id());
  EXPECT_EQ(*tracker_->CountTasks(), 1) << "no task opens for a cause whose fix is coming";
  auto details = tracker_->Details(task.external_id());
  ASSERT_TRUE(details.ok());
  EXPECT_THAT(details->description, HasSubstr("not yet shipped"));

  // Polls read the done task back until it ships.
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(*loop_->PollStatuses(), 0);
  EXPECT_TRUE(posted_.empty());

  clock_.Advance(absl::Hours(24));
  const absl::Time shipped = clock_.Now();
  ASSERT_TRUE(tracker_->SetStatus(task.external_id(), v1::TASK_SHIPPED).ok());
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(*loop_->PollStatuses(), 1);
  Run();
  task = Task("billing", /*active=*/false);
  EXPECT_EQ(task.status(), v1::TASK_SHIPPED);
  EXPECT_EQ(base::FromTimestamp(task.shipped_at()), shipped) << "the day it was set shipped";
  for (int i = 1; i <= 4; ++i) {
    const std::string id = absl::StrCat(i);
    EXPECT_EQ(NotesFor(id, /*is_public=*/false), 1) << "ticket " << id;
  }
  for (const auto& p : posted_)
    if (!p.note.is_public) {
      EXPECT_THAT(p.note.body, HasSubstr("has shipped"));
    }
  const size_t told = posted_.size();
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(*loop_->PollStatuses(), 0);
  Run();
  EXPECT_EQ(posted_.size(), told) << "told once";

  const std::vector<v1::TaskStatusChange> history = History(task.id());
  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(history[2].status(), v1::TASK_DONE);
  EXPECT_EQ(history[3].status(), v1::TASK_SHIPPED);

  // Verified after the settling delay and the window counted from the ship, not the close.
  clock_.Advance(shipped + absl::Hours(24 * 35) - absl::Hours(1) - clock_.Now());
  Run();
  EXPECT_FALSE(Task("billing", /*active=*/false).has_verification());
  clock_.Advance(absl::Hours(2));
  Run();
  EXPECT_TRUE(Task("billing", /*active=*/false).has_verification());
}

// The builtin tracker behind a tracker that names its releases and dates them by their plan
// (a version's due date), as Redmine's and Jira's adapters do.
class DatedReleases final : public ForwardingTracker {
 public:
  DatedReleases(spi::TrackerAdapter& inner, absl::Time planned)
      : ForwardingTracker(inner), planned_(planned) {}
  absl::StatusOr<spi::TrackerTask> GetTask(const std::string& id) override {
    auto t = inner_.GetTask(id);
    if (t.ok() && t->status == v1::TASK_SHIPPED) {
      t->release = "v2.3";
      t->shipped_at = planned_;
    }
    return t;
  }

 private:
  absl::Time planned_;
};

// A release's day is its plan: a version due a month ago and closed today did not reach
// customers before the task was done. The ship date is never before Debrief saw it done, and
// the fix is verified from there.
TEST_F(LoopScenario, AReleasesPlannedDayNeverPutsTheShipBeforeTheFix) {
  ShipOnRelease();
  v1::ImprovementTask task = BillingTask();
  ASSERT_FALSE(task.external_id().empty());
  DatedReleases dated(*tracker_, clock_.Now() - absl::Hours(24 * 30));
  std::map<std::string, spi::HelpdeskAdapter*> hd{{"support", &helpdesk_}};
  Loop loop(config_, *store_, hd, {{"tasks", &dated}}, *policy_, clock_);
  ASSERT_TRUE(tracker_->SetStatus(task.external_id(), v1::TASK_DONE).ok());
  clock_.Advance(absl::Hours(24));
  const absl::Time done = clock_.Now();
  EXPECT_EQ(*loop.PollStatuses(), 1);
  clock_.Advance(absl::Hours(24));
  ASSERT_TRUE(tracker_->SetStatus(task.external_id(), v1::TASK_SHIPPED).ok());
  EXPECT_EQ(*loop.PollStatuses(), 1);
  task = Task("billing", /*active=*/false);
  EXPECT_EQ(task.status(), v1::TASK_SHIPPED);
  EXPECT_EQ(task.release(), "v2.3");
  EXPECT_EQ(base::FromTimestamp(task.shipped_at()), done) << "not the planned day, 30 days ago";
  EXPECT_EQ(base::FromTimestamp(task.done_at()), done);

  // A read that raced the ship (the task reopened, say) does not take it back.
  ASSERT_TRUE(store_
                  ->Transact([&](spi::StoreTransaction& tx) {
                    spi::TrackerTask reopened;
                    reopened.status = v1::TASK_OPEN;
                    return loop.OnStatus(tx, task.id(), reopened, "poll");
                  })
                  .ok());
  EXPECT_EQ(Task("billing", /*active=*/false).status(), v1::TASK_SHIPPED);
}

// The builtin tracker behind a tracker that lists its changes (as Redmine's adapter does),
// counting read-backs.
class ListingTracker final : public ForwardingTracker {
 public:
  using ForwardingTracker::ForwardingTracker;
  absl::StatusOr<spi::TrackerTask> GetTask(const std::string& id) override {
    ++reads;
    if (down) return absl::UnavailableError("tracker down");
    return inner_.GetTask(id);
  }
  absl::StatusOr<std::vector<std::string>> ChangedSince(absl::Time since) override {
    asked_since.push_back(since);
    return changed;
  }

  int reads = 0;
  bool down = false;
  std::vector<std::string> changed;
  std::vector<absl::Time> asked_since;
};

TEST_F(LoopScenario, APolledTrackerThatListsChangesHasOnlyTheChangedTasksReadBack) {
  for (int i = 1; i <= 3; ++i)
    Ticket(absl::StrCat(i), absl::StrCat("c", i), "Sam", "charged twice");
  Run();
  v1::ImprovementTask task = Task("billing");
  ASSERT_FALSE(task.external_id().empty());
  ListingTracker listing(*tracker_);
  Loop loop(config_, *store_, {}, {{"tasks", &listing}}, *policy_, clock_);

  ASSERT_EQ(*loop.PollStatuses(), 0);
  EXPECT_EQ(listing.reads, 1) << "the first poll reads every task";
  EXPECT_TRUE(listing.asked_since.empty());
  const absl::Time first = clock_.Now();

  clock_.Advance(absl::Minutes(5));
  ASSERT_EQ(*loop.PollStatuses(), 0);
  EXPECT_EQ(listing.reads, 1) << "nothing changed, nothing read";
  ASSERT_EQ(listing.asked_since.size(), 1u);
  EXPECT_EQ(listing.asked_since[0], first - absl::Minutes(1)) << "a minute of overlap";

  listing.changed = {"someone-elses-issue"};
  clock_.Advance(absl::Minutes(5));
  ASSERT_EQ(*loop.PollStatuses(), 0);
  EXPECT_EQ(listing.reads, 1) << "changes to issues Debrief does not follow cost nothing";

  // A read-back fails: the next poll reads every task, whatever the listing says.
  listing.changed = {task.external_id()};
  listing.down = true;
  clock_.Advance(absl::Minutes(5));
  ASSERT_EQ(*loop.PollStatuses(), 0);
  listing.down = false;
  listing.changed.clear();
  ASSERT_TRUE(tracker_->SetStatus(task.external_id(), v1::TASK_DONE).ok());
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(*loop.PollStatuses(), 1) << "read back although the listing named nothing";
}

// Fault drill: the tracker answers 503 for ten minutes while complaints keep arriving, and a
// third of the writes it refuses did reach it (the answer was lost on the way back, as behind a
// gateway that times out). The tracker in between is the builtin one behind this outage.
class TrackerOutage final : public spi::TrackerAdapter {
 public:
  TrackerOutage(spi::TrackerAdapter& real, const spi::Clock& clock) : real_(real), clock_(clock) {}
  void Down(absl::Time until) { until_ = until; }

  const std::string& id() const override { return real_.id(); }
  const std::string& type() const override { return real_.type(); }
  absl::StatusOr<spi::TrackerTask> CreateTask(const spi::TaskDraft& d) override {
    if (!down()) return real_.CreateTask(d);
    if (++refused_ % 3 == 0 && real_.CreateTask(d).ok()) ++lost_answers_;
    return Unavailable();
  }
  absl::Status UpdateTask(const std::string& external_id, const spi::TaskUpdate& u) override {
    if (!down()) return real_.UpdateTask(external_id, u);
    if (++refused_ % 3 == 0 && real_.UpdateTask(external_id, u).ok()) ++lost_answers_;
    return Unavailable();
  }
  absl::StatusOr<spi::TrackerTask> GetTask(const std::string& external_id) override {
    if (down()) return Unavailable();
    return real_.GetTask(external_id);
  }
  absl::Status Check(const std::vector<v1::Category>& routed) override {
    return down() ? Unavailable() : real_.Check(routed);
  }
  int refused() const { return refused_; }
  int lost_answers() const { return lost_answers_; }

 private:
  bool down() const { return clock_.Now() < until_; }
  static absl::Status Unavailable() {
    return absl::UnavailableError("HTTP 503 Service Unavailable");
  }
  spi::TrackerAdapter& real_;
  const spi::Clock& clock_;
  absl::Time until_ = absl::InfinitePast();
  int refused_ = 0, lost_answers_ = 0;
};

class TrackerOutageDrill : public LoopScenario {
 protected:
  void SetUp() override {
    LoopScenario::SetUp();
    outage_ = std::make_unique<TrackerOutage>(*tracker_, clock_);
    std::map<std::string, spi::HelpdeskAdapter*> hd{{"support", &helpdesk_}};
    executor_.reset();
    loop_ = std::make_unique<Loop>(
        config_, *store_, hd, std::map<std::string, spi::TrackerAdapter*>{{"tasks", outage_.get()}},
        *policy_, clock_);
    executor_ =
        std::make_unique<outbox::Executor>(*store_, hd, *loop_, clock_, outbox::ExecutorOptions{});
  }

  // Actions tried and waiting to be tried again (the others are scheduled work, such as the
  // periodic rewrite of a task, not yet due).
  int64_t Waiting() {
    int64_t n = 0;
    EXPECT_TRUE(store_
                    ->Read([&](spi::StoreTransaction& tx) -> absl::Status {
                      auto due = tx.ListActions(spi::ActionState::kPending, 10000);
                      if (!due.ok()) return due.status();
                      for (const auto& e : *due) n += e.attempts > 0;
                      return absl::OkStatus();
                    })
                    .ok());
    return n;
  }

  std::unique_ptr<TrackerOutage> outage_;
};

TEST_F(TrackerOutageDrill, TenMinutesOf503DelayEveryWriteNoneIsLostOrDoneTwice) {
  const absl::Time start = clock_.Now();
  outage_->Down(start + absl::Minutes(10));
  // Forty complaints of two causes, one every fifteen seconds, all during the outage; the
  // executor runs as often as debriefd's would.
  std::map<std::string, std::set<std::string>> sent;
  for (int i = 1; i <= 40; ++i) {
    const bool billing = i % 2 == 0;
    const std::string id = absl::StrCat(i);
    Ticket(id, absl::StrCat("c", i), "Sam Lee",
           billing ? "I was charged twice this month" : "I cannot log in since Monday");
    sent[billing ? "billing" : "login"].insert("support/" + id);
    clock_.Advance(absl::Seconds(15));
    Run();
  }
  EXPECT_LE(*tracker_->CountTasks(), 2);  // a create whose answer was lost made its task
  const int refused = outage_->refused();
  EXPECT_GT(refused, 0);
  EXPECT_GT(Waiting(), 0) << "the writes wait for the tracker";

  // The tracker is back: the executor's back-off (at most its maximum) brings every write;
  // the impact section, rewritten at most every loop.impact_interval, follows.
  absl::Duration drained_after = absl::InfiniteDuration();
  for (absl::Duration waited; waited <= absl::Minutes(30); waited += absl::Seconds(15)) {
    Run();
    if (Waiting() == 0 && drained_after == absl::InfiniteDuration())
      drained_after = clock_.Now() - (start + absl::Minutes(10));
    clock_.Advance(absl::Seconds(15));
  }
  ASSERT_LE(drained_after, absl::Minutes(11)) << "writes still waiting after the outage";
  EXPECT_EQ(Waiting(), 0);
  EXPECT_EQ(executor_->stats().dead.load(), 0);

  // The impact text is rewritten when the cause has doubled, or when it grows stale
  // (loop.impact_max_staleness): after that, it counts every ticket.
  for (int h = 0; h < 72; ++h) {
    clock_.Advance(absl::Hours(1));
    Run();
  }

  // Every write delivered, none twice: one task per cause, carrying every ticket once.
  EXPECT_EQ(*tracker_->CountTasks(), 2);
  for (const auto& [category, tickets] : sent) {
    const v1::ImprovementTask t = Task(category);
    ASSERT_FALSE(t.external_id().empty()) << category;
    std::vector<std::string> linked = *tracker_->LinkedTickets(t.external_id());
    EXPECT_EQ(std::set<std::string>(linked.begin(), linked.end()), tickets) << category;
    EXPECT_EQ(linked.size(), tickets.size()) << category;
    auto details = tracker_->Details(t.external_id());
    ASSERT_TRUE(details.ok());
    EXPECT_THAT(details->description, HasSubstr("Tickets: 20 from 20 customers")) << category;
  }
  std::printf(
      "[drill] tracker 503 for 10 min: %d writes refused (%d of them applied, answer "
      "lost), all delivered %s after it recovered, %lld retries, 0 duplicates\n",
      refused, outage_->lost_answers(), absl::FormatDuration(drained_after).c_str(),
      static_cast<long long>(executor_->stats().retried.load()));
}

// Fault drill: the system clock is set back by an hour (a bad NTP step, a VM restored from a
// snapshot) while writes wait for a retry. Work scheduled before the jump must not wait for the
// clock to catch up, nothing may be done twice, and tickets after the jump count as usual.
TEST_F(TrackerOutageDrill, AClockSetBackAnHourDelaysNothingAndDuplicatesNothing) {
  std::set<std::string> billing;
  outage_->Down(clock_.Now() + absl::Minutes(2));
  for (int i = 1; i <= 6; ++i) {
    const std::string id = absl::StrCat(i);
    Ticket(id, absl::StrCat("c", i), "Sam Lee", "I was charged twice this month");
    billing.insert("support/" + id);
    clock_.Advance(absl::Seconds(20));
    Run();
  }
  ASSERT_GT(Waiting(), 0) << "the task waits for the tracker";
  const absl::Time jumped_from = clock_.Now();
  clock_.Advance(-absl::Hours(1));
  // The tracker is back; a new ticket arrives a minute after the jump.
  outage_->Down(absl::InfinitePast());
  absl::Duration drained_after = absl::InfiniteDuration();
  for (absl::Duration waited; waited <= absl::Minutes(30); waited += absl::Seconds(15)) {
    if (waited == absl::Minutes(1)) {
      Ticket("7", "c7", "Sam Lee", "I was charged twice this month");
      billing.insert("support/7");
    }
    Run();
    if (Waiting() == 0 && drained_after == absl::InfiniteDuration() && waited > absl::Minutes(1))
      drained_after = waited;
    clock_.Advance(absl::Seconds(15));
  }
  ASSERT_LE(drained_after, absl::Minutes(15))
      << "writes waited for the clock to come back to " << jumped_from;
  // Ticket 7 is linked at once; the tracker hears of it with the task's next rewrite, which
  // is due loop.impact_max_staleness after the last write: a time the old clock wrote, so this
  // one rewrite comes up to an hour later than it would have.
  ASSERT_TRUE(store_
                  ->Read([&](spi::StoreTransaction& tx) -> absl::Status {
                    auto link = tx.GetLink("support", "7");
                    EXPECT_TRUE(link.ok() && link->has_value()) << "ticket 7 is not linked";
                    return absl::OkStatus();
                  })
                  .ok());
  for (int h = 0; h < 73; ++h) {
    clock_.Advance(absl::Hours(1));
    Run();
  }
  EXPECT_EQ(*tracker_->CountTasks(), 1);
  const v1::ImprovementTask t = Task("billing");
  ASSERT_FALSE(t.external_id().empty());
  std::vector<std::string> linked = *tracker_->LinkedTickets(t.external_id());
  EXPECT_EQ(std::set<std::string>(linked.begin(), linked.end()), billing);
  EXPECT_EQ(linked.size(), billing.size());
  EXPECT_EQ(executor_->stats().dead.load(), 0);
  std::printf(
      "[drill] clock set back 1 h with writes waiting: all delivered %s after the jump, "
      "1 task, %zu tickets linked once\n",
      absl::FormatDuration(drained_after).c_str(), linked.size());
}

}  // namespace
}  // namespace debrief::loop
