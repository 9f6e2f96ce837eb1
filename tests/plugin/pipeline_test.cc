// The pipeline through the real SQLite store, classifier and link policy; the helpdesk
// adapter is a mock (its own tests cover it).
#include "pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "classify/keyword_classifier.h"
#include "config/config.h"
#include "mocks/spi_mocks.h"
#include "pg/test_postgres.h"
#include "store/pg_store.h"
#include "store/sqlite_store.h"

namespace debrief::pipeline {
namespace {

using ::testing::_;
using ::testing::Invoke;
using ::testing::NiceMock;
using ::testing::Return;
using ::testing::ReturnRef;

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = config::ParseConfig(R"(
trackers: [{id: tasks, type: builtin}]
link_policy: {open_after_tickets: 3, window: 7d}
taxonomy:
  categories:
    - {id: billing, name: Billing, kind: complaint, keywords: ["charged twice", refund]}
    - {id: login, name: Login, kind: complaint, keywords: ["log ?in"]}
)",
                                 dir_.path());
    ASSERT_TRUE(c.ok()) << c.status();
    config_ = *c;
    auto s = store::OpenSqliteStore({.path = dir_.file("d.db")}, clock_);
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    classifier_ = std::move(*classify::KeywordClassifier::Create(config_.taxonomy(), clock_));
    policy_ = std::make_unique<policy::LinkPolicy>(config_, clock_);
    ON_CALL(adapter_, id()).WillByDefault(ReturnRef(id_));
    // The mock's "wire format" is "ticket_id|subject|body"; Normalize splits it.
    ON_CALL(adapter_, Normalize(_)).WillByDefault(Invoke([](const spi::InboundDelivery& d) {
      std::vector<std::string> parts = absl::StrSplit(std::string(d.body), '|');
      spi::NormalizeResult r;
      if (parts[0] == "ping") {
        r.ignored_reason = "ping";
        return absl::StatusOr<spi::NormalizeResult>(r);
      }
      if (parts.size() != 3)
        return absl::StatusOr<spi::NormalizeResult>(absl::InvalidArgumentError("bad"));
      r.event.emplace();
      r.event->set_type(v1::TICKET_CREATED);
      r.event->mutable_ticket()->set_ticket_id(parts[0]);
      r.event->mutable_ticket()->set_subject(parts[1]);
      r.event->mutable_ticket()->set_body(parts[2]);
      r.event->mutable_ticket()->mutable_requester()->set_id("cust-" + parts[0]);
      return absl::StatusOr<spi::NormalizeResult>(r);
    }));
    pipeline_ = std::make_unique<Pipeline>(
        *store_, std::map<std::string, spi::HelpdeskAdapter*>{{"support", &adapter_}}, *classifier_,
        *policy_, clock_, 64, absl::Milliseconds(10));
  }

  void Deliver(const std::string& key, const std::string& body) {
    spi::StoredDelivery d;
    d.adapter_id = "support";
    d.delivery_key = key;
    d.body = body;
    d.received_at = clock_.Now();
    std::promise<void> p;
    store_->AppendDelivery(d, [&](auto r) {
      EXPECT_TRUE(r.ok());
      p.set_value();
    });
    p.get_future().wait();
  }

  std::vector<v1::ImprovementTask> Tasks() {
    std::vector<v1::ImprovementTask> out;
    EXPECT_TRUE(store_
                    ->Read([&](spi::StoreTransaction& tx) -> absl::Status {
                      out = *tx.ListTasks({});
                      return absl::OkStatus();
                    })
                    .ok());
    return out;
  }

  std::vector<v1::TaskLink> Links(int64_t task) {
    std::vector<v1::TaskLink> out;
    EXPECT_TRUE(store_
                    ->Read([&](spi::StoreTransaction& tx) -> absl::Status {
                      out = *tx.LinksOfTask(task);
                      return absl::OkStatus();
                    })
                    .ok());
    return out;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  v1::Config config_;
  std::unique_ptr<spi::Store> store_;
  std::unique_ptr<classify::Classifier> classifier_;
  std::unique_ptr<policy::LinkPolicy> policy_;
  std::string id_ = "support";
  NiceMock<testing::MockHelpdeskAdapter> adapter_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(PipelineTest, OpensOneTaskAtTheThresholdAndLinksLaterTickets) {
  Deliver("d1", "1|Charged twice|I was charged twice");
  Deliver("d2", "2|Refund|please refund me");
  ASSERT_TRUE(pipeline_->Drain().ok());
  EXPECT_TRUE(Tasks().empty()) << "two tickets are below the threshold of three";

  Deliver("d3", "3|Charged twice again|charged twice!");
  ASSERT_TRUE(pipeline_->Drain().ok());
  auto tasks = Tasks();
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].category_id(), "billing");
  EXPECT_EQ(tasks[0].status(), v1::TASK_PENDING_CREATE);
  EXPECT_EQ(tasks[0].tracker_id(), "tasks");
  EXPECT_EQ(Links(tasks[0].id()).size(), 3u);

  Deliver("d4", "4|Refund please|refund");
  ASSERT_TRUE(pipeline_->Drain().ok());
  ASSERT_EQ(Tasks().size(), 1u);
  EXPECT_EQ(Links(tasks[0].id()).size(), 4u);
  EXPECT_EQ(Tasks()[0].customer_count(), 4);
  EXPECT_EQ(pipeline_->stats().processed.load(), 4);

  // The outbox holds the create (which carries the first three links), write-backs, and one
  // sync for the later link, debounced to the end of the impact interval (default an hour).
  auto due = store_->DueActions(clock_.Now(), 100);
  ASSERT_TRUE(due.ok());
  int creates = 0, syncs = 0, writebacks = 0;
  for (const auto& e : *due) {
    creates += e.action.has_create_task();
    syncs += e.action.has_sync_task();
    writebacks += e.action.has_write_back();
  }
  EXPECT_EQ(creates, 1);
  EXPECT_EQ(syncs, 0);
  EXPECT_GE(writebacks, 4);
  due = store_->DueActions(clock_.Now() + absl::Hours(1), 100);
  syncs = 0;
  for (const auto& e : *due) syncs += e.action.has_sync_task();
  EXPECT_EQ(syncs, 1);
}

TEST_F(PipelineTest, TicketsOutsideTheWindowDoNotOpenATask) {
  Deliver("d1", "1|Charged twice|x");
  Deliver("d2", "2|Charged twice|x");
  ASSERT_TRUE(pipeline_->Drain().ok());
  clock_.Advance(absl::Hours(24 * 8));
  Deliver("d3", "3|Charged twice|x");
  ASSERT_TRUE(pipeline_->Drain().ok());
  EXPECT_TRUE(Tasks().empty());
}

TEST_F(PipelineTest, MalformedAndIgnoredDeliveriesAreRecordedNotRetriedForever) {
  Deliver("d1", "garbage");
  Deliver("d2", "ping");
  Deliver("d3", "3|Log in broken|cannot log in");
  ASSERT_TRUE(pipeline_->Drain().ok());
  EXPECT_EQ(pipeline_->stats().failed.load(), 1);
  EXPECT_EQ(pipeline_->stats().ignored.load(), 1);
  EXPECT_EQ(pipeline_->stats().processed.load(), 1);
  EXPECT_TRUE(store_->PendingDeliveries(0, 10)->empty());
}

TEST_F(PipelineTest, NeedsReviewTicketsAreNotLinked) {
  for (int i = 0; i < 4; ++i)
    Deliver("d" + std::to_string(i), std::to_string(i) + "|Hello|what are your hours");
  ASSERT_TRUE(pipeline_->Drain().ok());
  EXPECT_TRUE(Tasks().empty());
  ASSERT_TRUE(store_
                  ->Read([&](spi::StoreTransaction& tx) -> absl::Status {
                    auto r = tx.GetTicket("support", "0");
                    EXPECT_TRUE((*r)->classification->needs_review());
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_F(PipelineTest, ACrashBeforeCommitReprocessesFromScratchWithoutDuplicates) {
  for (int i = 1; i <= 3; ++i)
    Deliver("d" + std::to_string(i), std::to_string(i) + "|Charged twice|x");
  ASSERT_TRUE(pipeline_->Drain().ok());
  // A second pipeline over the same store (a restart) finds nothing pending and changes nothing.
  Pipeline again(*store_, {{"support", &adapter_}}, *classifier_, *policy_, clock_, 64,
                 absl::Milliseconds(10));
  ASSERT_TRUE(again.Drain().ok());
  EXPECT_EQ(again.stats().processed.load(), 0);
  EXPECT_EQ(Tasks().size(), 1u);
}

TEST_F(PipelineTest, ABurstIsReadAheadYetEveryDeliveryTakesEffectOnceAndInOrder) {
  // Batches of 2, so every batch but the last is full and the next one is read ahead while
  // it commits; one more delivery arrives mid-burst, while a batch is being prepared.
  Pipeline small(*store_, {{"support", &adapter_}}, *classifier_, *policy_, clock_, 2,
                 absl::Milliseconds(10));
  bool added = false;
  ON_CALL(adapter_, Normalize(_)).WillByDefault(Invoke([&](const spi::InboundDelivery& d) {
    std::vector<std::string> parts = absl::StrSplit(std::string(d.body), '|');
    if (parts[0] == "4" && !added) {
      added = true;
      Deliver("late", "1|Cannot log in|the newest state of ticket 1");
    }
    spi::NormalizeResult r;
    r.event.emplace();
    r.event->set_type(v1::TICKET_UPDATED);
    r.event->mutable_ticket()->set_ticket_id(parts[0]);
    r.event->mutable_ticket()->set_subject(parts[1]);
    r.event->mutable_ticket()->set_body(parts[2]);
    return absl::StatusOr<spi::NormalizeResult>(r);
  }));
  Deliver("d1", "1|Charged twice|first");
  for (int i = 2; i <= 6; ++i)
    Deliver("d" + std::to_string(i), std::to_string(i) + "|Charged twice|x");
  Deliver("d7", "1|Charged twice|second");  // before "late" in the inbox
  ASSERT_TRUE(small.Drain().ok());
  EXPECT_TRUE(added);
  EXPECT_EQ(small.stats().processed.load(), 8);
  // Nothing is left pending, and a second drain (a fresh read) finds nothing.
  EXPECT_TRUE(store_->PendingDeliveries(0, 100)->empty());
  ASSERT_TRUE(small.Drain().ok());
  EXPECT_EQ(small.stats().processed.load(), 8);
  // The last delivery for ticket 1 wins: its text and its category.
  ASSERT_TRUE(store_
                  ->Read([&](spi::StoreTransaction& tx) -> absl::Status {
                    auto t = tx.GetTicket("support", "1");
                    EXPECT_TRUE(t.ok() && t->has_value());
                    EXPECT_EQ((*t)->ticket.body(), "the newest state of ticket 1");
                    EXPECT_EQ((*t)->classification->category_id(), "login");
                    return absl::OkStatus();
                  })
                  .ok());
}

// Replicas on one PostgreSQL database, each with its pipeline: they share the inbox, and each
// delivery is processed once in effect.
class PipelineReplicas : public PipelineTest {
 protected:
  void SetUp() override {
    PipelineTest::SetUp();
    auto conninfo = testing::FreshPostgresDatabase("pipeline_replicas");
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    for (const char* name : {"a", "b"}) {
      auto s = store::OpenPostgresStore(
          {.conninfo = *conninfo, .read_connections = 1, .replica = name}, clock_);
      ASSERT_TRUE(s.ok()) << s.status();
      replicas_.push_back(std::move(*s));
    }
  }

  std::unique_ptr<Pipeline> PipelineOn(spi::Store& store, spi::HelpdeskAdapter& adapter, int batch,
                                       const std::string& helpdesk = "support") {
    auto p = std::make_unique<Pipeline>(
        store, std::map<std::string, spi::HelpdeskAdapter*>{{helpdesk, &adapter}}, *classifier_,
        *policy_, clock_, batch, absl::Milliseconds(10));
    p->set_shared_inbox(true);
    return p;
  }

  void DeliverTo(spi::Store& store, const std::string& key, const std::string& body,
                 const std::string& helpdesk = "support") {
    spi::StoredDelivery d;
    d.adapter_id = helpdesk;
    d.delivery_key = key;
    d.body = body;
    d.received_at = clock_.Now();
    std::promise<void> p;
    store.AppendDelivery(d, [&](auto r) {
      EXPECT_TRUE(r.ok());
      p.set_value();
    });
    p.get_future().wait();
  }

  int64_t Backlog(spi::Store& store) {
    auto b = store.Backlog();
    EXPECT_TRUE(b.ok()) << b.status();
    return b.ok() ? b->pending : -1;
  }

  std::vector<std::unique_ptr<spi::Store>> replicas_;
};

TEST_F(PipelineReplicas, TwoPipelinesShareTheInboxAndProcessEachDeliveryOnce) {
  constexpr int kDeliveries = 400;
  for (int i = 0; i < kDeliveries; ++i)
    DeliverTo(*replicas_[i % 2], absl::StrCat("d", i),
              absl::StrCat(i, i % 3 == 0 ? "|Cannot log in|login fails" : "|Charged twice|refund"));
  auto a = PipelineOn(*replicas_[0], adapter_, 16);
  auto b = PipelineOn(*replicas_[1], adapter_, 16);
  std::thread ta([&] { EXPECT_TRUE(a->Drain().ok()); });
  std::thread tb([&] { EXPECT_TRUE(b->Drain().ok()); });
  ta.join();
  tb.join();
  EXPECT_EQ(Backlog(*replicas_[0]), 0);
  EXPECT_EQ(a->stats().processed.load() + b->stats().processed.load(), kDeliveries)
      << "a delivery processed twice, or not at all";
  // One task per cause, whichever replica saw the threshold crossed.
  std::vector<v1::ImprovementTask> tasks;
  ASSERT_TRUE(replicas_[1]
                  ->Read([&](spi::StoreTransaction& tx) -> absl::Status {
                    auto t = tx.ListTasks({});
                    if (!t.ok()) return t.status();
                    tasks = *t;
                    return absl::OkStatus();
                  })
                  .ok());
  std::vector<std::string> categories;
  for (const auto& t : tasks) categories.push_back(t.category_id());
  std::sort(categories.begin(), categories.end());
  EXPECT_EQ(categories, (std::vector<std::string>{"billing", "login"}));
}

// A replica that stalls past its claim: another takes the deliveries over and processes them;
// when the first comes back, it finds them settled and leaves them as they are.
TEST_F(PipelineReplicas, AReplicaWhoseClaimLapsedLeavesWhatAnotherSettled) {
  for (int i = 0; i < 3; ++i)
    DeliverTo(*replicas_[0], absl::StrCat("d", i), absl::StrCat(i, "|Charged twice|refund"));
  // The first replica's adapter holds its first delivery until released: the replica has
  // claimed and is preparing its batch.
  NiceMock<testing::MockHelpdeskAdapter> slow;
  ON_CALL(slow, id()).WillByDefault(ReturnRef(id_));
  std::promise<void> inside, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> first{true};
  ON_CALL(slow, Normalize(_)).WillByDefault(Invoke([&](const spi::InboundDelivery& d) {
    if (first.exchange(false)) {
      inside.set_value();
      released.wait();
    }
    return adapter_.Normalize(d);
  }));
  auto a = PipelineOn(*replicas_[0], slow, 16);
  auto b = PipelineOn(*replicas_[1], adapter_, 16);
  std::thread ta([&] { EXPECT_TRUE(a->Drain().ok()); });
  inside.get_future().wait();
  EXPECT_EQ(Backlog(*replicas_[1]), 3);
  ASSERT_TRUE(b->Drain().ok());
  EXPECT_EQ(b->stats().processed.load(), 0) << "the first replica's claim is still good";
  clock_.Advance(absl::Seconds(31));  // longer than a claim lasts (PostgresOptions::claim)
  ASSERT_TRUE(b->Drain().ok());
  EXPECT_EQ(b->stats().processed.load(), 3);
  release.set_value();
  ta.join();
  EXPECT_EQ(a->stats().processed.load(), 0) << "processed again after another replica did";
  EXPECT_EQ(a->stats().attempts_failed.load(), 0);
  EXPECT_EQ(Backlog(*replicas_[0]), 0);
}

// A rolling update that adds a helpdesk: a replica still on the old configuration leaves that
// helpdesk's deliveries to one that has it, instead of making them dead letters; one that no
// replica takes becomes a dead letter in the end all the same.
TEST_F(PipelineReplicas, ADeliveryForAHelpdeskThisReplicaLacksWaitsForOneThatHasIt) {
  DeliverTo(*replicas_[0], "z1", "1|Charged twice|refund", "zendesk");
  auto old = PipelineOn(*replicas_[0], adapter_, 16);  // knows "support" only
  ASSERT_TRUE(old->Drain().ok());
  EXPECT_EQ(old->stats().failed.load(), 0);
  EXPECT_EQ(Backlog(*replicas_[0]), 1);
  clock_.Advance(absl::Seconds(31));  // the old replica's claim lapses
  auto updated = PipelineOn(*replicas_[1], adapter_, 16, "zendesk");
  ASSERT_TRUE(updated->Drain().ok());
  EXPECT_EQ(updated->stats().processed.load(), 1);
  EXPECT_EQ(Backlog(*replicas_[0]), 0);

  DeliverTo(*replicas_[0], "y1", "2|Charged twice|refund", "yonder");
  ASSERT_TRUE(old->Drain().ok());
  EXPECT_EQ(Backlog(*replicas_[0]), 1);
  clock_.Advance(Pipeline::kLeaveForOthers + absl::Seconds(1));
  ASSERT_TRUE(old->Drain().ok());
  EXPECT_EQ(old->stats().failed.load(), 1) << "no replica has it: a dead letter, as alone";
  EXPECT_EQ(Backlog(*replicas_[0]), 0);
}

}  // namespace
}  // namespace debrief::pipeline
