// The Store conformance suite (in the manner of Arrow's GenericFileSystemTest): what every
// spi::Store does, as the comments in debrief/spi/store.h promise it, through the interface
// alone. Each case opens one kind of store in a fresh directory; nothing below knows which
// kind it is, so a new implementation is one more entry in Cases().
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/time_util.h"
#include "debrief/spi/store.h"
#include "google/protobuf/util/message_differencer.h"
#include "mocks/spi_mocks.h"
#include "pg/test_postgres.h"
#include "store/pg_store.h"
#include "store/sqlite_store.h"

namespace debrief {
namespace {

using ::testing::ElementsAre;
using testing::FakeClock;
using ::testing::IsEmpty;
using testing::TempDir;
using ::testing::UnorderedElementsAre;

struct StoreCase {
  std::string name;
  // Opens the store kept in `dir` (a fresh directory, or one this opened before).
  std::function<absl::StatusOr<std::unique_ptr<spi::Store>>(const std::string& dir,
                                                            const spi::Clock&)>
      open;
};

// The PostgreSQL database standing for `dir`: a fresh one the first time, the same one when the
// test opens that directory again.
absl::StatusOr<std::string> DatabaseOf(const std::string& dir) {
  static std::mutex mu;
  static std::map<std::string, std::string>* databases = new std::map<std::string, std::string>;
  std::lock_guard<std::mutex> l(mu);
  if (auto it = databases->find(dir); it != databases->end()) return it->second;
  auto conninfo = testing::FreshPostgresDatabase("conformance");
  if (conninfo.ok()) (*databases)[dir] = *conninfo;
  return conninfo;
}

std::vector<StoreCase> Cases() {
  return {
      {"Sqlite",
       [](const std::string& dir, const spi::Clock& clock) {
         return store::OpenSqliteStore({.path = dir + "/debrief.db"}, clock);
       }},
      {"Postgres",
       [](const std::string& dir,
          const spi::Clock& clock) -> absl::StatusOr<std::unique_ptr<spi::Store>> {
         auto conninfo = DatabaseOf(dir);
         if (!conninfo.ok()) return conninfo.status();
         return store::OpenPostgresStore({.conninfo = *conninfo}, clock);
       }},
  };
}

// How long a test waits for the store's commit thread: generous for a loaded machine, and a
// store that never answers fails the test instead of hanging it.
constexpr std::chrono::seconds kPatience(30);

MATCHER_P(EqualsProto, want, "") {
  return google::protobuf::util::MessageDifferencer::Equals(arg, want);
}

// Outcomes of appends, gathered on the store's commit thread and read by the test afterwards.
// The callbacks share it (it does not live on the test's stack), so a callback that comes after
// a failed wait writes into live memory.
struct Acks {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<absl::StatusOr<spi::AppendOutcome>> outcomes;

  // False if fewer than n outcomes came within kPatience.
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, kPatience, [&] { return outcomes.size() >= n; });
  }
  std::vector<absl::StatusOr<spi::AppendOutcome>> Taken() {
    std::lock_guard<std::mutex> l(mu);
    return outcomes;
  }
};

// An AppendDelivery `done` that records its outcome in *acks.
std::function<void(absl::StatusOr<spi::AppendOutcome>)> Record(std::shared_ptr<Acks> acks) {
  return [acks](absl::StatusOr<spi::AppendOutcome> r) {
    std::lock_guard<std::mutex> l(acks->mu);
    acks->outcomes.push_back(std::move(r));
    acks->cv.notify_all();
  };
}

// What an append came to, as a word a failure message can show.
std::string Outcome(const absl::StatusOr<spi::AppendOutcome>& r) {
  if (!r.ok()) return r.status().ToString();
  return *r == spi::AppendOutcome::kStored ? "stored" : "duplicate";
}

absl::Status StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

spi::StoredDelivery Delivery(const std::string& key, const std::string& body = "{}") {
  spi::StoredDelivery d;
  d.adapter_id = "support";
  d.delivery_key = key;
  d.headers["content-type"] = "application/json";
  d.body = body;
  d.received_at = absl::FromUnixSeconds(1795000000);
  return d;
}

std::vector<std::string> Keys(const std::vector<spi::StoredDelivery>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) out.push_back(d.delivery_key);
  return out;
}

// A ticket of the helpdesk "support" without a classification.
spi::TicketRecord Unclassified(const std::string& id, absl::Time first_seen) {
  spi::TicketRecord r;
  r.ticket.set_helpdesk_id("support");
  r.ticket.set_ticket_id(id);
  r.ticket.set_subject("About " + id);
  r.first_seen = first_seen;
  return r;
}

// ... tagged with `category`: confidently, or waiting for review.
spi::TicketRecord Classified(const std::string& id, const std::string& category,
                             absl::Time first_seen, bool needs_review = false) {
  spi::TicketRecord r = Unclassified(id, first_seen);
  v1::Classification& c = r.classification.emplace();
  c.set_category_id(category);
  c.set_confidence(needs_review ? 0.2 : 0.9);
  c.set_needs_review(needs_review);
  c.set_model("keyword-v1");
  return r;
}

template <typename T>
std::vector<std::string> TicketIds(const std::vector<T>& tickets) {
  std::vector<std::string> out;
  for (const auto& t : tickets) {
    if constexpr (std::is_same_v<T, spi::TicketRecord>)
      out.push_back(t.ticket.ticket_id());
    else
      out.push_back(t.ticket_id());
  }
  return out;
}

v1::ImprovementTask NewTask(const std::string& category,
                            v1::TaskStatus status = v1::TASK_PENDING_CREATE) {
  v1::ImprovementTask t;
  t.set_category_id(category);
  t.set_tracker_id("tasks");
  t.set_title("Root cause: " + category);
  t.set_status(status);
  return t;
}

std::vector<int64_t> TaskIds(const std::vector<v1::ImprovementTask>& tasks) {
  std::vector<int64_t> out;
  for (const auto& t : tasks) out.push_back(t.id());
  return out;
}

v1::TaskLink Link(const std::string& ticket_id, int64_t task_id, absl::Time at,
                  v1::LinkOrigin origin = v1::LINK_POLICY) {
  v1::TaskLink l;
  l.set_helpdesk_id("support");
  l.set_ticket_id(ticket_id);
  l.set_task_id(task_id);
  l.set_origin(origin);
  base::SetTimestamp(l.mutable_linked_at(), at);
  return l;
}

v1::OutboxAction CreateTask(int64_t task_id) {
  v1::OutboxAction a;
  a.mutable_create_task()->set_task_id(task_id);
  return a;
}

std::vector<std::string> OutboxKeys(const std::vector<spi::OutboxEntry>& es) {
  std::vector<std::string> out;
  for (const auto& e : es) out.push_back(e.key);
  return out;
}

class StoreConformance : public ::testing::TestWithParam<StoreCase> {
 protected:
  void SetUp() override {
    store_ = Open(dir_);
    ASSERT_NE(store_, nullptr);
  }

  std::unique_ptr<spi::Store> Open(const TempDir& dir) {
    auto s = GetParam().open(dir.path(), clock_);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // A restart: the store is closed and opened again on the same directory.
  void Reopen() {
    store_->Close();
    store_.reset();
    store_ = Open(dir_);
    ASSERT_NE(store_, nullptr);
  }

  absl::StatusOr<spi::AppendOutcome> Append(spi::StoredDelivery d) {
    auto acks = std::make_shared<Acks>();
    store_->AppendDelivery(std::move(d), Record(acks));
    if (!acks->WaitFor(1)) return absl::DeadlineExceededError("the append was never acknowledged");
    return acks->Taken()[0];
  }

  // Appends deliveries with these keys, one after the other, and returns their seqs.
  std::vector<int64_t> AppendAll(const std::vector<std::string>& keys) {
    for (const std::string& k : keys) EXPECT_EQ(Outcome(Append(Delivery(k))), "stored") << k;
    std::vector<int64_t> seqs;
    auto pending = store_->PendingDeliveries(0, 1000);
    EXPECT_TRUE(pending.ok()) << pending.status();
    if (!pending.ok()) return seqs;
    for (const std::string& k : keys)
      for (const auto& d : *pending)
        if (d.delivery_key == k) seqs.push_back(d.seq);
    EXPECT_EQ(seqs.size(), keys.size());
    return seqs;
  }

  // Runs fn in a transaction (Write) or on a snapshot (Query) and returns what fn returned, or
  // why the transaction failed.
  template <typename Fn>
  auto Write(Fn fn) {
    return Run(fn, /*write=*/true);
  }
  template <typename Fn>
  auto Query(Fn fn) {
    return Run(fn, /*write=*/false);
  }
  template <typename Fn>
  auto Run(Fn fn, bool write) -> std::invoke_result_t<Fn, spi::StoreTransaction&> {
    using R = std::invoke_result_t<Fn, spi::StoreTransaction&>;
    std::optional<R> out;
    auto body = [&](spi::StoreTransaction& tx) -> absl::Status {
      out.emplace(fn(tx));
      return StatusOf(*out);
    };
    absl::Status s = write ? store_->Transact(body) : store_->Read(body);
    if (!s.ok()) return R(s);
    return std::move(*out);
  }

  // Writes the task and returns its id (0 if it failed).
  int64_t Insert(const v1::ImprovementTask& t) {
    auto id = Write([&](spi::StoreTransaction& tx) { return tx.InsertTask(t); });
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : 0;
  }

  v1::ImprovementTask Get(int64_t task_id) {
    auto t = Query([&](spi::StoreTransaction& tx) { return tx.GetTask(task_id); });
    EXPECT_TRUE(t.ok() && t->has_value()) << "task " << task_id;
    return t.ok() && t->has_value() ? **t : v1::ImprovementTask();
  }

  // The tracker reports the task done (or won't do) at `at`.
  void Finish(int64_t task_id, v1::TaskStatus status, absl::Time at) {
    v1::ImprovementTask t = Get(task_id);
    t.set_status(status);
    base::SetTimestamp(t.mutable_done_at(), at);
    EXPECT_TRUE(Write([&](spi::StoreTransaction& tx) { return tx.UpdateTask(t); }).ok());
  }

  void Put(const std::vector<spi::TicketRecord>& tickets) {
    for (const auto& r : tickets)
      EXPECT_TRUE(Write([&](spi::StoreTransaction& tx) { return tx.PutTicket(r); }).ok())
          << r.ticket.ticket_id();
  }

  // "helpdesk/ticket" of every ticket of the same person as this one, as TicketsOfSamePerson
  // returns them.
  std::vector<std::string> SamePerson(const std::string& helpdesk, const std::string& id) {
    auto r =
        Query([&](spi::StoreTransaction& tx) { return tx.TicketsOfSamePerson(helpdesk, id, 10); });
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> out;
    if (r.ok())
      for (const auto& t : *r) out.push_back(t.ticket.helpdesk_id() + "/" + t.ticket.ticket_id());
    return out;
  }

  // The ticket in this helpdesk, from a requester with this id and address.
  static spi::TicketRecord Requested(spi::TicketRecord r, const std::string& helpdesk,
                                     const std::string& id, const std::string& email) {
    r.ticket.set_helpdesk_id(helpdesk);
    r.ticket.mutable_requester()->set_id(id);
    r.ticket.mutable_requester()->set_email(email);
    return r;
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<spi::Store> store_;
};

// --- Deliveries: AppendDelivery, PendingDeliveries, GetDelivery -------------------------------

TEST_P(StoreConformance, AnAppendedDeliveryIsStoredAsReceived) {
  spi::StoredDelivery d = Delivery("a", R"({"ticket": {"id": 7}})");
  d.headers["x-signature"] = "sha256=00ff";
  d.received_at = clock_.Now();
  EXPECT_EQ(Outcome(Append(d)), "stored");
  auto pending = store_->PendingDeliveries(0, 10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 1u);
  const spi::StoredDelivery& got = (*pending)[0];
  EXPECT_GT(got.seq, 0);
  EXPECT_EQ(got.adapter_id, "support");
  EXPECT_EQ(got.delivery_key, "a");
  EXPECT_EQ(got.headers, d.headers);
  EXPECT_EQ(got.body, d.body);
  EXPECT_EQ(got.received_at, d.received_at);
  EXPECT_TRUE(got.unreadable.empty()) << got.unreadable;
  auto one = store_->GetDelivery(got.seq);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->delivery_key, "a");
  EXPECT_EQ(one->headers, d.headers);
  EXPECT_EQ(one->body, d.body);
  EXPECT_EQ(one->received_at, d.received_at);
}

// Headers are kept as received: a Latin-1 value reads back byte for byte (a header that was
// not UTF-8 once made every later read of the inbox fail).
TEST_P(StoreConformance, HeadersThatAreNotUtf8ReadBackByteForByte) {
  spi::StoredDelivery d = Delivery("latin");
  d.headers["x-city"] = "Z\xfcrich";
  ASSERT_EQ(Outcome(Append(d)), "stored");
  ASSERT_EQ(Outcome(Append(Delivery("after"))), "stored");
  auto pending = store_->PendingDeliveries(0, 10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].headers.at("x-city"), "Z\xfcrich");
  EXPECT_TRUE((*pending)[0].unreadable.empty());
  EXPECT_EQ((*pending)[1].delivery_key, "after");
}

TEST_P(StoreConformance, ADeliveryKeySeenBeforeIsADuplicate) {
  EXPECT_EQ(Outcome(Append(Delivery("a", "one"))), "stored");
  EXPECT_EQ(Outcome(Append(Delivery("a", "one again"))), "duplicate");
  auto pending = store_->PendingDeliveries(0, 10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].body, "one") << "the first one is kept";
}

// The same sending (replay key) under a new delivery id is a duplicate; deliveries without a
// replay key are told apart by their ids alone.
TEST_P(StoreConformance, ASendingSeenBeforeIsADuplicateWhateverItsDeliveryId) {
  spi::StoredDelivery first = Delivery("id-1");
  first.replay_key = "sig-1";
  spi::StoredDelivery replayed = Delivery("id-2");
  replayed.replay_key = "sig-1";
  EXPECT_EQ(Outcome(Append(first)), "stored");
  EXPECT_EQ(Outcome(Append(replayed)), "duplicate");
  EXPECT_EQ(Outcome(Append(Delivery("id-3"))), "stored");
  EXPECT_EQ(Outcome(Append(Delivery("id-4"))), "stored");
  auto pending = store_->PendingDeliveries(0, 10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_THAT(Keys(*pending), ElementsAre("id-1", "id-3", "id-4"));
}

// Webhooks arrive on several HTTP threads at once: each is acknowledged, none is lost.
TEST_P(StoreConformance, AppendsFromManyThreadsAtOnceAreAllAcknowledgedAndPending) {
  constexpr int kThreads = 8;
  constexpr int kEach = 50;
  auto acks = std::make_shared<Acks>();
  std::set<std::string> sent;
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kEach; ++i) sent.insert(absl::StrCat("t", t, "-", i));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        store_->AppendDelivery(Delivery(absl::StrCat("t", t, "-", i)), Record(acks));
    });
  for (auto& th : threads) th.join();
  ASSERT_TRUE(acks->WaitFor(kThreads * kEach))
      << acks->Taken().size() << " of " << kThreads * kEach << " appends acknowledged";
  for (const auto& r : acks->Taken()) EXPECT_EQ(Outcome(r), "stored");
  auto pending = store_->PendingDeliveries(0, 10 * kThreads * kEach);
  ASSERT_TRUE(pending.ok()) << pending.status();
  std::vector<std::string> keys = Keys(*pending);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), sent);
  EXPECT_EQ(keys.size(), sent.size()) << "each exactly once";
  for (size_t i = 1; i < pending->size(); ++i)
    EXPECT_LT((*pending)[i - 1].seq, (*pending)[i].seq) << "oldest first, each its own seq";
}

TEST_P(StoreConformance, DeliveriesSurviveACloseAndReopen) {
  EXPECT_EQ(Outcome(Append(Delivery("a", "one"))), "stored");
  EXPECT_EQ(Outcome(Append(Delivery("a", "one again"))), "duplicate");
  EXPECT_EQ(Outcome(Append(Delivery("b", "two"))), "stored");
  Reopen();
  auto pending = store_->PendingDeliveries(0, 10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].body, "one");
  EXPECT_EQ((*pending)[0].headers.at("content-type"), "application/json");
  EXPECT_EQ((*pending)[1].body, "two");
  EXPECT_LT((*pending)[0].seq, (*pending)[1].seq);
  EXPECT_EQ(Outcome(Append(Delivery("a", "once more"))), "duplicate")
      << "what was seen before the restart is still a duplicate";
}

TEST_P(StoreConformance, PendingDeliveriesAreOldestFirstAfterTheGivenSeqUpToTheLimit) {
  const std::vector<int64_t> seq = AppendAll({"a", "b", "c", "d", "e"});
  ASSERT_EQ(seq.size(), 5u);
  for (size_t i = 1; i < seq.size(); ++i) EXPECT_LT(seq[i - 1], seq[i]);
  auto all = store_->PendingDeliveries(0, 10);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(Keys(*all), ElementsAre("a", "b", "c", "d", "e"));
  auto after = store_->PendingDeliveries(seq[1], 10);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(Keys(*after), ElementsAre("c", "d", "e"));
  auto first_two = store_->PendingDeliveries(0, 2);
  ASSERT_TRUE(first_two.ok()) << first_two.status();
  EXPECT_THAT(Keys(*first_two), ElementsAre("a", "b"));
  auto none = store_->PendingDeliveries(seq[4], 10);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, IsEmpty());
}

// The pipeline works through the inbox in seq order and records each outcome, so those with an
// outcome are a prefix: the pending deliveries are the ones after it.
TEST_P(StoreConformance, ADeliveryWithAnOutcomeIsNoLongerPending) {
  const std::vector<int64_t> seq = AppendAll({"a", "b", "c", "d", "e"});
  ASSERT_EQ(seq.size(), 5u);
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                if (auto s = tx.MarkDelivery(seq[0], spi::DeliveryState::kProcessed, ""); !s.ok())
                  return s;
                if (auto s = tx.MarkDelivery(seq[1], spi::DeliveryState::kIgnored, "no event");
                    !s.ok())
                  return s;
                return tx.MarkDelivery(seq[2], spi::DeliveryState::kFailed, "refused");
              }).ok());
  auto pending = store_->PendingDeliveries(0, 10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_THAT(Keys(*pending), ElementsAre("d", "e"));
  std::vector<spi::DeliveryState> states;
  for (int64_t s : seq) {
    auto state = Query([&](spi::StoreTransaction& tx) { return tx.GetDeliveryState(s); });
    ASSERT_TRUE(state.ok()) << state.status();
    states.push_back(*state);
  }
  EXPECT_THAT(states, ElementsAre(spi::DeliveryState::kProcessed, spi::DeliveryState::kIgnored,
                                  spi::DeliveryState::kFailed, spi::DeliveryState::kPending,
                                  spi::DeliveryState::kPending));
}

// A failed attempt is not an outcome: the delivery is tried again.
TEST_P(StoreConformance, AFailedAttemptLeavesADeliveryPending) {
  const std::vector<int64_t> seq = AppendAll({"a", "b"});
  ASSERT_EQ(seq.size(), 2u);
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.RecordDeliveryFailure(seq[0], "503");
              }).ok());
  auto pending = store_->PendingDeliveries(0, 10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_THAT(Keys(*pending), ElementsAre("a", "b"));
  auto state = Query([&](spi::StoreTransaction& tx) { return tx.GetDeliveryState(seq[0]); });
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, spi::DeliveryState::kPending);
}

TEST_P(StoreConformance, TheBacklogIsTheDeliveriesWithoutAnOutcomeAndTheOldestOnesArrival) {
  auto empty = store_->Backlog();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->pending, 0);
  EXPECT_EQ(empty->oldest, absl::InfiniteFuture());
  spi::StoredDelivery later = Delivery("c");
  later.received_at += absl::Minutes(5);
  const std::vector<int64_t> seq = AppendAll({"a", "b"});
  ASSERT_EQ(Outcome(Append(later)), "stored");
  ASSERT_EQ(seq.size(), 2u);
  auto b = store_->Backlog();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->pending, 3);
  EXPECT_EQ(b->oldest, absl::FromUnixSeconds(1795000000));
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                if (auto s = tx.MarkDelivery(seq[0], spi::DeliveryState::kProcessed, ""); !s.ok())
                  return s;
                return tx.MarkDelivery(seq[1], spi::DeliveryState::kFailed, "x");
              }).ok());
  b = store_->Backlog();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->pending, 1) << "a dead letter has its outcome: it waits for no one";
  EXPECT_EQ(b->oldest, later.received_at);
}

TEST_P(StoreConformance, GetDeliveryFindsADeliveryWhateverItsStateAndOnlyThat) {
  const std::vector<int64_t> seq = AppendAll({"a", "b"});
  ASSERT_EQ(seq.size(), 2u);
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.MarkDelivery(seq[0], spi::DeliveryState::kProcessed, "");
              }).ok());
  auto done = store_->GetDelivery(seq[0]);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->delivery_key, "a");
  EXPECT_EQ(done->seq, seq[0]);
  auto unknown = store_->GetDelivery(seq[1] + 1000);
  EXPECT_TRUE(absl::IsNotFound(unknown.status())) << unknown.status();
}

// --- Outcomes and dead letters: MarkDelivery, GetDeliveryState, RecordDeliveryFailure,
// ListDeadLetters -----------------------------------------------------------------------------

// Failed attempts are counted per delivery; a dead letter is listed with its error and
// attempts, and an outcome recorded later (a replay) takes it off the list.
TEST_P(StoreConformance, FailedAttemptsAreCountedAndTheDeadLetterListsThem) {
  spi::StoredDelivery d = Delivery("a");
  d.received_at = clock_.Now() - absl::Minutes(5);
  ASSERT_EQ(Outcome(Append(d)), "stored");
  auto first = store_->PendingDeliveries(0, 1);
  ASSERT_TRUE(first.ok() && first->size() == 1u);
  const int64_t seq = (*first)[0].seq;
  for (int want = 1; want <= 3; ++want) {
    auto got =
        Write([&](spi::StoreTransaction& tx) { return tx.RecordDeliveryFailure(seq, "boom"); });
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, want);
  }
  clock_.Advance(absl::Minutes(1));
  const absl::Time failed_at = clock_.Now();
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.MarkDelivery(seq, spi::DeliveryState::kFailed, "gave up: boom");
              }).ok());
  auto dead = store_->ListDeadLetters(10);
  ASSERT_TRUE(dead.ok()) << dead.status();
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].seq, seq);
  EXPECT_EQ((*dead)[0].adapter_id, "support");
  EXPECT_EQ((*dead)[0].delivery_key, "a");
  EXPECT_EQ((*dead)[0].received_at, d.received_at);
  EXPECT_EQ((*dead)[0].failed_at, failed_at);
  EXPECT_EQ((*dead)[0].attempts, 3);
  EXPECT_EQ((*dead)[0].error, "gave up: boom");
  auto pending = store_->PendingDeliveries(0, 10);
  ASSERT_TRUE(pending.ok());
  EXPECT_THAT(*pending, IsEmpty());

  // Replayed, and processed this time.
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.MarkDelivery(seq, spi::DeliveryState::kProcessed, "");
              }).ok());
  dead = store_->ListDeadLetters(10);
  ASSERT_TRUE(dead.ok()) << dead.status();
  EXPECT_THAT(*dead, IsEmpty());
  auto state = Query([&](spi::StoreTransaction& tx) { return tx.GetDeliveryState(seq); });
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, spi::DeliveryState::kProcessed) << "a later outcome replaces the earlier";
  auto again =
      Write([&](spi::StoreTransaction& tx) { return tx.RecordDeliveryFailure(seq, "again"); });
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, 1) << "the outcome forgot the earlier failures";
  EXPECT_EQ(store_->GetDelivery(seq)->delivery_key, "a");
}

// The pipeline gives up at once on what no retry can fix (no adapter, a refused body).
TEST_P(StoreConformance, ADeliveryGivenUpOnAtOnceIsADeadLetterOfOneAttempt) {
  const std::vector<int64_t> seq = AppendAll({"a"});
  ASSERT_EQ(seq.size(), 1u);
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.MarkDelivery(seq[0], spi::DeliveryState::kFailed, "no adapter");
              }).ok());
  auto dead = store_->ListDeadLetters(10);
  ASSERT_TRUE(dead.ok()) << dead.status();
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].attempts, 1);
  EXPECT_EQ((*dead)[0].error, "no adapter");
}

TEST_P(StoreConformance, DeadLettersAreNewestFirstUpToTheLimit) {
  const std::vector<int64_t> seq = AppendAll({"a", "b", "c", "d"});
  ASSERT_EQ(seq.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    clock_.Advance(absl::Minutes(1));
    const spi::DeliveryState state =
        i == 2 ? spi::DeliveryState::kProcessed : spi::DeliveryState::kFailed;
    ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                  return tx.MarkDelivery(seq[i], state, absl::StrCat("error ", i));
                }).ok());
  }
  auto dead = store_->ListDeadLetters(10);
  ASSERT_TRUE(dead.ok()) << dead.status();
  std::vector<std::string> keys;
  for (const auto& d : *dead) keys.push_back(d.delivery_key);
  EXPECT_THAT(keys, ElementsAre("d", "b", "a"));
  auto two = store_->ListDeadLetters(2);
  ASSERT_TRUE(two.ok()) << two.status();
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].delivery_key, "d");
  EXPECT_EQ((*two)[1].delivery_key, "b");
}

// What another replica settled while this one held the delivery: the pipeline asks within the
// transaction that would record its own outcome.
TEST_P(StoreConformance, SettledDeliveriesAreThoseOfTheRangeWithAnOutcome) {
  const std::vector<int64_t> seq = AppendAll({"a", "b", "c", "d", "e"});
  ASSERT_EQ(seq.size(), 5u);
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                if (auto s = tx.MarkDelivery(seq[1], spi::DeliveryState::kProcessed, ""); !s.ok())
                  return s;
                if (auto s = tx.RecordDeliveryFailure(seq[2], "503"); !s.ok()) return s.status();
                if (auto s = tx.MarkDelivery(seq[3], spi::DeliveryState::kFailed, "refused");
                    !s.ok())
                  return s;
                return tx.MarkDelivery(seq[4], spi::DeliveryState::kIgnored, "no event");
              }).ok());
  auto settled =
      Write([&](spi::StoreTransaction& tx) { return tx.SettledDeliveries(seq[0], seq[3]); });
  ASSERT_TRUE(settled.ok()) << settled.status();
  // A failed attempt is no outcome; the ignored one is outside the range.
  EXPECT_THAT(*settled, ElementsAre(seq[1], seq[3]));
  auto none =
      Write([&](spi::StoreTransaction& tx) { return tx.SettledDeliveries(seq[0], seq[0]); });
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, IsEmpty());
}

TEST_P(StoreConformance, ALeaseIsOneHoldersUntilItLapsesOrIsReleased) {
  const absl::Time t = clock_.Now();
  auto hold = [&](const std::string& name, const std::string& holder, absl::Time now) {
    auto held = Write([&](spi::StoreTransaction& tx) {
      return tx.HoldLease(name, holder, now, now + absl::Seconds(15));
    });
    EXPECT_TRUE(held.ok()) << held.status();
    return held.ok() && *held;
  };
  EXPECT_TRUE(hold("jobs", "replica-a", t));
  EXPECT_FALSE(hold("jobs", "replica-b", t + absl::Seconds(5)));
  EXPECT_TRUE(hold("other", "replica-b", t + absl::Seconds(5)));  // leases are by name
  // Renewed by its holder: it lasts from the renewal.
  EXPECT_TRUE(hold("jobs", "replica-a", t + absl::Seconds(10)));
  EXPECT_FALSE(hold("jobs", "replica-b", t + absl::Seconds(20)));
  // Lapsed: the next to ask takes it, and the former holder no longer has it.
  EXPECT_TRUE(hold("jobs", "replica-b", t + absl::Seconds(25)));
  EXPECT_FALSE(hold("jobs", "replica-a", t + absl::Seconds(26)));
  // Released by someone else than its holder: nothing happens.
  ASSERT_TRUE(
      Write([&](spi::StoreTransaction& tx) { return tx.ReleaseLease("jobs", "replica-a"); }).ok());
  EXPECT_FALSE(hold("jobs", "replica-a", t + absl::Seconds(27)));
  // Released by its holder: free at once.
  ASSERT_TRUE(
      Write([&](spi::StoreTransaction& tx) { return tx.ReleaseLease("jobs", "replica-b"); }).ok());
  EXPECT_TRUE(hold("jobs", "replica-a", t + absl::Seconds(28)));
}

// --- Transact and Read -------------------------------------------------------------------------

TEST_P(StoreConformance, ATransactionCommitsEverythingItWrote) {
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                if (auto s = tx.PutTicket(Unclassified("1", clock_.Now())); !s.ok()) return s;
                if (auto s = tx.PutCursor("reconcile:support", "page-2"); !s.ok()) return s;
                return tx.Enqueue("create:1", CreateTask(1), clock_.Now());
              }).ok());
  auto ticket = Query([&](spi::StoreTransaction& tx) { return tx.GetTicket("support", "1"); });
  ASSERT_TRUE(ticket.ok()) << ticket.status();
  EXPECT_TRUE(ticket->has_value());
  auto cursor = Query([&](spi::StoreTransaction& tx) { return tx.GetCursor("reconcile:support"); });
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  EXPECT_EQ(cursor->value_or(""), "page-2");
  auto due = store_->DueActions(clock_.Now(), 10);
  ASSERT_TRUE(due.ok()) << due.status();
  EXPECT_THAT(OutboxKeys(*due), ElementsAre("create:1"));
}

TEST_P(StoreConformance, AFailedTransactionRollsBackEverything) {
  const std::vector<int64_t> seq = AppendAll({"a"});
  ASSERT_EQ(seq.size(), 1u);
  const absl::Time now = clock_.Now();
  absl::Status s = store_->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    if (auto st = tx.PutTicket(Classified("1", "billing", now)); !st.ok()) return st;
    auto id = tx.InsertTask(NewTask("billing"));
    if (!id.ok()) return id.status();
    if (auto st = tx.PutLink(Link("1", *id, now)); !st.ok()) return st;
    if (auto st = tx.Enqueue("create:1", CreateTask(*id), now); !st.ok()) return st;
    if (auto st = tx.PutCursor("reconcile:support", "page-2"); !st.ok()) return st;
    if (auto st = tx.RecordFeedback("support", "1", "", "billing", "agent", now); !st.ok())
      return st.status();
    if (auto st = tx.MarkDelivery(seq[0], spi::DeliveryState::kProcessed, ""); !st.ok()) return st;
    return absl::AbortedError("crash before commit");
  });
  EXPECT_TRUE(absl::IsAborted(s)) << s;
  ASSERT_TRUE(Query([&](spi::StoreTransaction& tx) -> absl::Status {
                auto t = tx.GetTicket("support", "1");
                EXPECT_TRUE(t.ok() && !t->has_value()) << "ticket";
                auto tasks = tx.ListTasks({});
                EXPECT_TRUE(tasks.ok() && tasks->empty()) << "task";
                auto active = tx.ActiveTask("billing");
                EXPECT_TRUE(active.ok() && !active->has_value()) << "active task";
                auto link = tx.GetLink("support", "1");
                EXPECT_TRUE(link.ok() && !link->has_value()) << "link";
                auto cursor = tx.GetCursor("reconcile:support");
                EXPECT_TRUE(cursor.ok() && !cursor->has_value()) << "cursor";
                auto feedback = tx.ListFeedback(10);
                EXPECT_TRUE(feedback.ok() && feedback->empty()) << "feedback";
                auto state = tx.GetDeliveryState(seq[0]);
                EXPECT_TRUE(state.ok() && *state == spi::DeliveryState::kPending) << "outcome";
                return absl::OkStatus();
              }).ok());
  auto due = store_->DueActions(now + absl::Hours(1), 10);
  ASSERT_TRUE(due.ok());
  EXPECT_THAT(*due, IsEmpty()) << "outbox";
  auto pending = store_->PendingDeliveries(0, 10);
  ASSERT_TRUE(pending.ok());
  EXPECT_THAT(Keys(*pending), ElementsAre("a"));
  // Nothing of the failed transaction lingers: the category may still open its task.
  EXPECT_GT(Insert(NewTask("billing")), 0);
}

TEST_P(StoreConformance, AReadSeesCommittedDataAndCannotWrite) {
  Put({Unclassified("1", clock_.Now())});
  absl::Status write_in_read;
  ASSERT_TRUE(store_
                  ->Read([&](spi::StoreTransaction& tx) -> absl::Status {
                    auto t = tx.GetTicket("support", "1");
                    EXPECT_TRUE(t.ok() && t->has_value()) << "committed data is visible";
                    write_in_read = tx.PutTicket(Unclassified("2", clock_.Now()));
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_FALSE(write_in_read.ok()) << "a write inside Read must fail";
  auto t = Query([&](spi::StoreTransaction& tx) { return tx.GetTicket("support", "2"); });
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_FALSE(t->has_value()) << "and leave nothing behind";
}

// The API's reads run while the pipeline holds a transaction open: they neither wait for it
// nor see what it has not committed.
TEST_P(StoreConformance, AReadDoesNotWaitForAnOpenTransactionNorSeeItsWrites) {
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool written = false;
    bool read = false;
  };
  auto gate = std::make_shared<Gate>();
  std::thread writer([&, gate] {
    absl::Status s = store_->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
      if (auto st = tx.PutTicket(Unclassified("1", clock_.Now())); !st.ok()) return st;
      std::unique_lock<std::mutex> l(gate->mu);
      gate->written = true;
      gate->cv.notify_all();
      gate->cv.wait_for(l, std::chrono::seconds(10), [&] { return gate->read; });
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
  });
  auto release = absl::MakeCleanup([&] {
    {
      std::lock_guard<std::mutex> l(gate->mu);
      gate->read = true;
      gate->cv.notify_all();
    }
    writer.join();
  });
  {
    std::unique_lock<std::mutex> l(gate->mu);
    ASSERT_TRUE(gate->cv.wait_for(l, kPatience, [&] { return gate->written; }));
  }
  auto during = Query([&](spi::StoreTransaction& tx) { return tx.GetTicket("support", "1"); });
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_FALSE(during->has_value()) << "an uncommitted write was visible (or Read waited for it)";
  std::move(release).Invoke();
  auto after = Query([&](spi::StoreTransaction& tx) { return tx.GetTicket("support", "1"); });
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(after->has_value());
}

// --- Tickets -----------------------------------------------------------------------------------

TEST_P(StoreConformance, ATicketReadsBackWithItsClassificationCorrectionAndFirstSeen) {
  spi::TicketRecord r = Classified("1", "billing", clock_.Now() - absl::Hours(30));
  r.ticket.mutable_requester()->set_id("cust-1");
  r.ticket.mutable_requester()->set_email("c1@example.com");
  r.ticket.set_body("I was charged twice");
  r.ticket.add_tags("vip");
  base::SetTimestamp(r.ticket.mutable_created_at(), r.first_seen);
  v1::Reason* why = r.classification->add_reasons();
  why->set_feature("charged twice");
  why->set_weight(0.7);
  base::SetTimestamp(r.classification->mutable_classified_at(), clock_.Now());
  r.agent_corrected = true;
  Put({r, Unclassified("2", clock_.Now())});

  auto got = Query([&](spi::StoreTransaction& tx) { return tx.GetTicket("support", "1"); });
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_THAT((*got)->ticket, EqualsProto(r.ticket));
  ASSERT_TRUE((*got)->classification.has_value());
  EXPECT_THAT(*(*got)->classification, EqualsProto(*r.classification));
  EXPECT_TRUE((*got)->agent_corrected);
  EXPECT_EQ((*got)->first_seen, r.first_seen);

  auto plain = Query([&](spi::StoreTransaction& tx) { return tx.GetTicket("support", "2"); });
  ASSERT_TRUE(plain.ok() && plain->has_value());
  EXPECT_FALSE((*plain)->classification.has_value());
  EXPECT_FALSE((*plain)->agent_corrected);
  auto none = Query([&](spi::StoreTransaction& tx) { return tx.GetTicket("support", "3"); });
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());
  auto other_helpdesk =
      Query([&](spi::StoreTransaction& tx) { return tx.GetTicket("sales", "1"); });
  ASSERT_TRUE(other_helpdesk.ok()) << other_helpdesk.status();
  EXPECT_FALSE(other_helpdesk->has_value()) << "a ticket is named by helpdesk and id";
}

TEST_P(StoreConformance, PuttingATicketAgainReplacesItsContentAndClassification) {
  Put({Classified("1", "billing", clock_.Now())});
  spi::TicketRecord changed = Classified("1", "login", clock_.Now());
  changed.ticket.set_subject("Cannot log in");
  changed.agent_corrected = true;
  Put({changed});
  auto got = Query([&](spi::StoreTransaction& tx) { return tx.GetTicket("support", "1"); });
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->ticket.subject(), "Cannot log in");
  EXPECT_EQ((*got)->classification->category_id(), "login");
  EXPECT_TRUE((*got)->agent_corrected);
}

TEST_P(StoreConformance, UnlinkedTicketsAreTheCategorysConfidentUnlinkedTicketsSinceATime) {
  const absl::Time since = clock_.Now();
  Put({Classified("fresh", "billing", since + absl::Hours(1)),
       Classified("at-since", "billing", since),
       Classified("old", "billing", since - absl::Seconds(1)),
       Classified("unsure", "billing", since + absl::Hours(1), /*needs_review=*/true),
       Classified("other", "login", since + absl::Hours(1)),
       Classified("linked", "billing", since + absl::Hours(1))});
  const int64_t task = Insert(NewTask("billing"));
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.PutLink(Link("linked", task, since));
              }).ok());
  auto got = Query([&](spi::StoreTransaction& tx) { return tx.UnlinkedTickets("billing", since); });
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(TicketIds(*got), UnorderedElementsAre("fresh", "at-since"));
}

TEST_P(StoreConformance, CountTicketsCountsConfidentTicketsFirstSeenInAHalfOpenWindow) {
  const absl::Time from = clock_.Now();
  const absl::Time to = from + absl::Hours(24);
  Put({Classified("at-from", "billing", from),
       Classified("inside", "billing", from + absl::Hours(3)), Classified("at-to", "billing", to),
       Classified("before", "billing", from - absl::Hours(1)),
       Classified("unsure", "billing", from + absl::Hours(1), /*needs_review=*/true),
       Classified("other", "login", from + absl::Hours(1))});
  auto n = Query([&](spi::StoreTransaction& tx) { return tx.CountTickets("billing", from, to); });
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2) << "at-from and inside";
  auto none = Query([&](spi::StoreTransaction& tx) { return tx.CountTickets("export", from, to); });
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, 0);
}

TEST_P(StoreConformance, NeedsReviewTicketsAreOldestFirstAndLeaveOutAgentCorrections) {
  const absl::Time since = clock_.Now();
  spi::TicketRecord corrected = Classified("corrected", "", since + absl::Hours(1), true);
  corrected.agent_corrected = true;
  Put({Classified("third", "", since + absl::Hours(3), true),
       Classified("first", "billing", since, true),
       Classified("second", "", since + absl::Hours(2), true), corrected,
       Classified("confident", "billing", since + absl::Hours(1)),
       Classified("too-old", "", since - absl::Hours(1), true)});
  auto all = Query([&](spi::StoreTransaction& tx) { return tx.NeedsReviewTickets(since, 10); });
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(TicketIds(*all), ElementsAre("first", "second", "third"));
  auto two = Query([&](spi::StoreTransaction& tx) { return tx.NeedsReviewTickets(since, 2); });
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_THAT(TicketIds(*two), ElementsAre("first", "second"));
}

TEST_P(StoreConformance, ForEachTicketVisitsEveryTicketAndStopsWhenFnSaysSo) {
  Put({Unclassified("1", clock_.Now()), Classified("2", "billing", clock_.Now()),
       Unclassified("3", clock_.Now()), Unclassified("4", clock_.Now())});
  std::vector<std::string> seen;
  ASSERT_TRUE(Query([&](spi::StoreTransaction& tx) {
                return tx.ForEachTicket([&](const spi::TicketRecord& r) {
                  seen.push_back(r.ticket.ticket_id());
                  return true;
                });
              }).ok());
  EXPECT_THAT(seen, UnorderedElementsAre("1", "2", "3", "4"));
  int calls = 0;
  ASSERT_TRUE(Query([&](spi::StoreTransaction& tx) {
                return tx.ForEachTicket([&](const spi::TicketRecord&) { return ++calls < 2; });
              }).ok());
  EXPECT_EQ(calls, 2);
}

// --- Tasks -------------------------------------------------------------------------------------

TEST_P(StoreConformance, InsertTaskReturnsTheIdItIsReadBackBy) {
  v1::ImprovementTask billing = NewTask("billing");
  billing.set_regression_of(41);
  const int64_t a = Insert(billing);
  const int64_t b = Insert(NewTask("login"));
  EXPECT_GT(a, 0);
  EXPECT_GT(b, 0);
  EXPECT_NE(a, b);
  v1::ImprovementTask got = Get(a);
  EXPECT_EQ(got.id(), a);
  EXPECT_EQ(got.category_id(), "billing");
  EXPECT_EQ(got.tracker_id(), "tasks");
  EXPECT_EQ(got.title(), "Root cause: billing");
  EXPECT_EQ(got.status(), v1::TASK_PENDING_CREATE);
  EXPECT_EQ(got.regression_of(), 41);
  EXPECT_EQ(Get(b).category_id(), "login");
  auto none = Query([&](spi::StoreTransaction& tx) { return tx.GetTask(a + b + 1000); });
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());
}

TEST_P(StoreConformance, ASecondActiveTaskForACategoryIsRefused) {
  const int64_t first = Insert(NewTask("billing"));
  ASSERT_GT(first, 0);
  for (v1::TaskStatus status : {v1::TASK_PENDING_CREATE, v1::TASK_OPEN, v1::TASK_IN_PROGRESS}) {
    v1::ImprovementTask t = Get(first);
    t.set_status(status);
    ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) { return tx.UpdateTask(t); }).ok());
    auto second =
        Write([&](spi::StoreTransaction& tx) { return tx.InsertTask(NewTask("billing")); });
    EXPECT_TRUE(absl::IsAlreadyExists(second.status()))
        << v1::TaskStatus_Name(status) << ": " << second.status();
  }
  EXPECT_GT(Insert(NewTask("login")), 0) << "another category is not blocked";
  // Once done, a new task for the category may open (a regression); so after won't do.
  Finish(first, v1::TASK_DONE, clock_.Now());
  const int64_t regression = Insert(NewTask("billing"));
  EXPECT_GT(regression, 0);
  Finish(regression, v1::TASK_WONT_DO, clock_.Now());
  EXPECT_GT(Insert(NewTask("billing")), 0);
}

TEST_P(StoreConformance, ActiveTaskIsTheCategorysPendingOpenOrInProgressTask) {
  auto active = [&](const std::string& category) {
    auto t = Query([&](spi::StoreTransaction& tx) { return tx.ActiveTask(category); });
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() && t->has_value() ? (*t)->id() : 0;
  };
  EXPECT_EQ(active("billing"), 0);
  const int64_t id = Insert(NewTask("billing"));
  EXPECT_EQ(active("billing"), id);
  EXPECT_EQ(active("login"), 0);
  v1::ImprovementTask t = Get(id);
  t.set_status(v1::TASK_IN_PROGRESS);
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) { return tx.UpdateTask(t); }).ok());
  EXPECT_EQ(active("billing"), id);
  Finish(id, v1::TASK_DONE, clock_.Now());
  EXPECT_EQ(active("billing"), 0);
}

TEST_P(StoreConformance, GetTaskCountsItsLinkedTicketsCustomersAndWhenTheyWereSeen) {
  const absl::Time t0 = clock_.Now();
  spi::TicketRecord a = Classified("a", "billing", t0 + absl::Hours(2));
  a.ticket.mutable_requester()->set_id("cust-1");
  spi::TicketRecord b = Classified("b", "billing", t0);
  b.ticket.mutable_requester()->set_id("cust-1");
  spi::TicketRecord c = Classified("c", "billing", t0 + absl::Hours(5));
  c.ticket.mutable_requester()->set_email("c@example.com");
  spi::TicketRecord elsewhere = Classified("d", "login", t0 - absl::Hours(9));
  elsewhere.ticket.mutable_requester()->set_id("cust-9");
  Put({a, b, c, elsewhere});
  const int64_t task = Insert(NewTask("billing"));
  const int64_t other = Insert(NewTask("login"));
  EXPECT_EQ(Get(task).ticket_count(), 0);
  EXPECT_FALSE(Get(task).has_first_seen()) << "no tickets, no first seen";
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                for (const char* id : {"a", "b", "c"})
                  if (auto s = tx.PutLink(Link(id, task, t0)); !s.ok()) return s;
                return tx.PutLink(Link("d", other, t0));
              }).ok());
  v1::ImprovementTask got = Get(task);
  EXPECT_EQ(got.ticket_count(), 3);
  EXPECT_EQ(got.customer_count(), 2) << "cust-1 twice, c@example.com";
  EXPECT_EQ(base::FromTimestamp(got.first_seen()), t0);
  EXPECT_EQ(base::FromTimestamp(got.last_seen()), t0 + absl::Hours(5));
}

TEST_P(StoreConformance, ListTasksFiltersByCategoryAndStatus) {
  const int64_t billing_done = Insert(NewTask("billing"));
  Finish(billing_done, v1::TASK_DONE, clock_.Now());
  const int64_t billing_open = Insert(NewTask("billing"));
  v1::ImprovementTask open = Get(billing_open);
  open.set_status(v1::TASK_OPEN);
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) { return tx.UpdateTask(open); }).ok());
  const int64_t login_open = Insert(NewTask("login", v1::TASK_OPEN));
  const int64_t export_pending = Insert(NewTask("export"));
  auto list = [&](const spi::TaskFilter& f) {
    auto l = Query([&](spi::StoreTransaction& tx) { return tx.ListTasks(f); });
    EXPECT_TRUE(l.ok()) << l.status();
    return l.ok() ? TaskIds(*l) : std::vector<int64_t>{};
  };
  EXPECT_THAT(list({}),
              UnorderedElementsAre(billing_done, billing_open, login_open, export_pending));
  EXPECT_THAT(list({.category_id = "billing"}), UnorderedElementsAre(billing_done, billing_open));
  EXPECT_THAT(list({.category_id = "", .status = v1::TASK_OPEN}),
              UnorderedElementsAre(billing_open, login_open));
  EXPECT_THAT(list({.category_id = "billing", .status = v1::TASK_DONE}), ElementsAre(billing_done));
  EXPECT_THAT(list({.category_id = "kudos"}), IsEmpty());
}

TEST_P(StoreConformance, UpdateTaskWritesStatusExternalIdsDoneAtVerificationAndFlagged) {
  const int64_t id = Insert(NewTask("billing"));
  v1::ImprovementTask t = Get(id);
  t.set_status(v1::TASK_DONE);
  t.set_external_id("1042");
  t.set_external_key("OPS-42");
  t.set_url("https://tracker.example.com/issues/1042");
  t.set_title("Root cause: double charges");
  base::SetTimestamp(t.mutable_done_at(), clock_.Now() + absl::Hours(1));
  v1::FixVerification* v = t.mutable_verification();
  v->set_verdict(v1::FixVerification::VERIFIED);
  v->set_before(12);
  v->set_after(0);
  v->set_p_value(1.0 / 4096);
  v->set_summary("Fix verified");
  t.set_flagged(true);
  // What the tracker last showed (the loop's debounce reads it back).
  t.set_synced_ticket_count(12);
  base::SetTimestamp(t.mutable_synced_at(), clock_.Now() + absl::Minutes(10));
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) { return tx.UpdateTask(t); }).ok());
  v1::ImprovementTask got = Get(id);
  EXPECT_EQ(got.status(), v1::TASK_DONE);
  EXPECT_EQ(got.external_id(), "1042");
  EXPECT_EQ(got.external_key(), "OPS-42");
  EXPECT_EQ(got.url(), t.url());
  EXPECT_EQ(got.title(), "Root cause: double charges");
  EXPECT_THAT(got.done_at(), EqualsProto(t.done_at()));
  EXPECT_THAT(got.verification(), EqualsProto(t.verification()));
  EXPECT_TRUE(got.flagged());
  EXPECT_EQ(got.synced_ticket_count(), 12);
  EXPECT_THAT(got.synced_at(), EqualsProto(t.synced_at()));

  // Reopened in the tracker: what the update leaves out is gone.
  got.set_status(v1::TASK_OPEN);
  got.clear_done_at();
  got.clear_verification();
  got.set_flagged(false);
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) { return tx.UpdateTask(got); }).ok());
  v1::ImprovementTask reopened = Get(id);
  EXPECT_EQ(reopened.status(), v1::TASK_OPEN);
  EXPECT_FALSE(reopened.has_done_at());
  EXPECT_FALSE(reopened.has_verification());
  EXPECT_FALSE(reopened.flagged());
  EXPECT_EQ(reopened.external_id(), "1042");

  // Shipped in a release: its day and name are kept, and taken away with the status.
  reopened.set_status(v1::TASK_SHIPPED);
  base::SetTimestamp(reopened.mutable_done_at(), clock_.Now() + absl::Hours(2));
  base::SetTimestamp(reopened.mutable_shipped_at(), clock_.Now() + absl::Hours(30));
  reopened.set_release("v2.3");
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) { return tx.UpdateTask(reopened); }).ok());
  v1::ImprovementTask shipped = Get(id);
  EXPECT_EQ(shipped.status(), v1::TASK_SHIPPED);
  EXPECT_THAT(shipped.shipped_at(), EqualsProto(reopened.shipped_at()));
  EXPECT_EQ(shipped.release(), "v2.3");
  shipped.set_status(v1::TASK_OPEN);
  shipped.clear_shipped_at();
  shipped.clear_release();
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) { return tx.UpdateTask(shipped); }).ok());
  EXPECT_FALSE(Get(id).has_shipped_at());
  EXPECT_EQ(Get(id).release(), "");
}

TEST_P(StoreConformance, LastDoneTaskIsTheCategorysMostRecentlyDone) {
  auto last = [&](const std::string& category) {
    auto t = Query([&](spi::StoreTransaction& tx) { return tx.LastDoneTask(category); });
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() && t->has_value() ? (*t)->id() : 0;
  };
  const int64_t first = Insert(NewTask("billing"));
  EXPECT_EQ(last("billing"), 0) << "not done yet";
  Finish(first, v1::TASK_DONE, clock_.Now());
  EXPECT_EQ(last("billing"), first);
  const int64_t second = Insert(NewTask("billing"));
  Finish(second, v1::TASK_DONE, clock_.Now() + absl::Hours(24));
  const int64_t dropped = Insert(NewTask("billing"));
  Finish(dropped, v1::TASK_WONT_DO, clock_.Now() + absl::Hours(48));
  EXPECT_EQ(last("billing"), second) << "won't do is not done";
  const int64_t shipped = Insert(NewTask("billing"));
  Finish(shipped, v1::TASK_SHIPPED, clock_.Now() + absl::Hours(72));
  EXPECT_EQ(last("billing"), shipped) << "shipped is done and more";
  EXPECT_EQ(last("login"), 0);
}

TEST_P(StoreConformance, TaskByExternalIdFindsTheTaskOfATrackerIssue) {
  const int64_t id = Insert(NewTask("billing"));
  v1::ImprovementTask t = Get(id);
  t.set_status(v1::TASK_OPEN);
  t.set_external_id("1042");
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) { return tx.UpdateTask(t); }).ok());
  auto by = [&](const std::string& tracker, const std::string& external) {
    auto got =
        Query([&](spi::StoreTransaction& tx) { return tx.TaskByExternalId(tracker, external); });
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() && got->has_value() ? (*got)->id() : 0;
  };
  EXPECT_EQ(by("tasks", "1042"), id);
  EXPECT_EQ(by("tasks", "1043"), 0);
  EXPECT_EQ(by("other-tracker", "1042"), 0) << "an issue id is only unique in its tracker";
}

TEST_P(StoreConformance, StatusHistoryListsATasksChangesInTheOrderRecorded) {
  const int64_t task = Insert(NewTask("billing"));
  const int64_t other = Insert(NewTask("login"));
  const absl::Time t0 = clock_.Now();
  auto change = [](int64_t id, v1::TaskStatus s, absl::Time at, const std::string& source) {
    v1::TaskStatusChange c;
    c.set_task_id(id);
    c.set_status(s);
    base::SetTimestamp(c.mutable_at(), at);
    c.set_source(source);
    return c;
  };
  const std::vector<v1::TaskStatusChange> want = {
      change(task, v1::TASK_PENDING_CREATE, t0, "policy"),
      change(task, v1::TASK_OPEN, t0 + absl::Minutes(1), "poll"),
      change(task, v1::TASK_DONE, t0 + absl::Hours(50), "webhook"),
      [&] {
        v1::TaskStatusChange c = change(task, v1::TASK_SHIPPED, t0 + absl::Hours(90), "poll");
        c.set_release("v2.3");
        return c;
      }(),
  };
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                for (size_t i = 0; i < want.size(); ++i) {
                  if (auto s = tx.RecordStatusChange(want[i]); !s.ok()) return s;
                  if (i == 0)  // another task's change in between
                    if (auto s = tx.RecordStatusChange(change(other, v1::TASK_OPEN, t0, "poll"));
                        !s.ok())
                      return s;
                }
                return absl::OkStatus();
              }).ok());
  auto history = Query([&](spi::StoreTransaction& tx) { return tx.StatusHistory(task); });
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_THAT((*history)[i], EqualsProto(want[i])) << i;
}

// --- Links -------------------------------------------------------------------------------------

TEST_P(StoreConformance, PutLinkReplacesTheTicketsEarlierLink) {
  const int64_t first = Insert(NewTask("billing"));
  const int64_t second = Insert(NewTask("login"));
  const absl::Time t0 = clock_.Now();
  ASSERT_TRUE(
      Write([&](spi::StoreTransaction& tx) { return tx.PutLink(Link("1", first, t0)); }).ok());
  const v1::TaskLink moved = Link("1", second, t0 + absl::Hours(1), v1::LINK_AGENT);
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) { return tx.PutLink(moved); }).ok());
  auto got = Query([&](spi::StoreTransaction& tx) { return tx.GetLink("support", "1"); });
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_THAT(**got, EqualsProto(moved));
  auto of_first = Query([&](spi::StoreTransaction& tx) { return tx.LinksOfTask(first); });
  ASSERT_TRUE(of_first.ok()) << of_first.status();
  EXPECT_THAT(*of_first, IsEmpty());
  auto of_second = Query([&](spi::StoreTransaction& tx) { return tx.LinksOfTask(second); });
  ASSERT_TRUE(of_second.ok()) << of_second.status();
  ASSERT_EQ(of_second->size(), 1u);
  EXPECT_THAT((*of_second)[0], EqualsProto(moved));
  auto none = Query([&](spi::StoreTransaction& tx) { return tx.GetLink("support", "2"); });
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());
}

TEST_P(StoreConformance, LinksOfTaskAreTheTasksLinksOnly) {
  const int64_t task = Insert(NewTask("billing"));
  const int64_t other = Insert(NewTask("login"));
  const absl::Time t0 = clock_.Now();
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                for (const char* id : {"1", "2"})
                  if (auto s = tx.PutLink(Link(id, task, t0)); !s.ok()) return s;
                return tx.PutLink(Link("3", other, t0));
              }).ok());
  auto links = Query([&](spi::StoreTransaction& tx) { return tx.LinksOfTask(task); });
  ASSERT_TRUE(links.ok()) << links.status();
  std::vector<std::string> ids;
  for (const auto& l : *links) {
    ids.push_back(l.ticket_id());
    EXPECT_EQ(l.task_id(), task);
    EXPECT_EQ(l.helpdesk_id(), "support");
  }
  EXPECT_THAT(ids, UnorderedElementsAre("1", "2"));
}

TEST_P(StoreConformance, DeleteLinkUnlinksTheTicket) {
  const int64_t task = Insert(NewTask("billing"));
  const absl::Time t0 = clock_.Now();
  Put({Classified("1", "billing", t0), Classified("2", "billing", t0)});
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                if (auto s = tx.PutLink(Link("1", task, t0)); !s.ok()) return s;
                return tx.PutLink(Link("2", task, t0));
              }).ok());
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) { return tx.DeleteLink("support", "1"); }).ok());
  auto got = Query([&](spi::StoreTransaction& tx) { return tx.GetLink("support", "1"); });
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->has_value());
  auto links = Query([&](spi::StoreTransaction& tx) { return tx.LinksOfTask(task); });
  ASSERT_TRUE(links.ok()) << links.status();
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ((*links)[0].ticket_id(), "2");
  EXPECT_EQ(Get(task).ticket_count(), 1);
  auto unlinked =
      Query([&](spi::StoreTransaction& tx) { return tx.UnlinkedTickets("billing", t0); });
  ASSERT_TRUE(unlinked.ok()) << unlinked.status();
  EXPECT_THAT(TicketIds(*unlinked), ElementsAre("1")) << "the ticket may be linked again";
}

TEST_P(StoreConformance, TicketsOfTaskAreOldestFirst) {
  const int64_t task = Insert(NewTask("billing"));
  const int64_t other = Insert(NewTask("login"));
  const absl::Time t0 = clock_.Now();
  Put({Classified("late", "billing", t0 + absl::Hours(3)),
       Classified("early", "billing", t0 + absl::Hours(1)),
       Classified("middle", "billing", t0 + absl::Hours(2)), Classified("elsewhere", "login", t0)});
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                for (const char* id : {"late", "early", "middle"})
                  if (auto s = tx.PutLink(Link(id, task, t0)); !s.ok()) return s;
                return tx.PutLink(Link("elsewhere", other, t0));
              }).ok());
  auto tickets = Query([&](spi::StoreTransaction& tx) { return tx.TicketsOfTask(task); });
  ASSERT_TRUE(tickets.ok()) << tickets.status();
  EXPECT_THAT(TicketIds(*tickets), ElementsAre("early", "middle", "late"));
  ASSERT_EQ(tickets->size(), 3u);
  EXPECT_EQ((*tickets)[0].first_seen, t0 + absl::Hours(1));
  EXPECT_EQ((*tickets)[0].classification->category_id(), "billing");
}

// --- Outbox ------------------------------------------------------------------------------------

TEST_P(StoreConformance, EnqueueIsIdempotentByKey) {
  const absl::Time now = clock_.Now();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                  return tx.Enqueue("create:7", CreateTask(7 + i), now + absl::Seconds(i));
                }).ok());
  auto due = store_->DueActions(now + absl::Hours(1), 10);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].key, "create:7");
  EXPECT_EQ((*due)[0].action.create_task().task_id(), 7) << "the first one stays";
  EXPECT_EQ((*due)[0].attempts, 0);
  // Once carried out, the key still stands: the effect happens once.
  ASSERT_TRUE(store_->CompleteActions({(*due)[0].id}).ok());
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.Enqueue("create:7", CreateTask(7), now);
              }).ok());
  due = store_->DueActions(now + absl::Hours(1), 10);
  ASSERT_TRUE(due.ok()) << due.status();
  EXPECT_THAT(*due, IsEmpty());
}

TEST_P(StoreConformance, DueActionsAreOnlyTheDueOnesOldestFirstUpToTheLimit) {
  const absl::Time now = clock_.Now();
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                if (auto s = tx.Enqueue("a", CreateTask(1), now - absl::Minutes(2)); !s.ok())
                  return s;
                if (auto s = tx.Enqueue("later", CreateTask(2), now + absl::Hours(1)); !s.ok())
                  return s;
                if (auto s = tx.Enqueue("b", CreateTask(3), now - absl::Minutes(1)); !s.ok())
                  return s;
                return tx.Enqueue("c", CreateTask(4), now);
              }).ok());
  auto due = store_->DueActions(now, 10);
  ASSERT_TRUE(due.ok()) << due.status();
  EXPECT_THAT(OutboxKeys(*due), ElementsAre("a", "b", "c"));
  EXPECT_EQ((*due)[2].action.create_task().task_id(), 4);
  auto two = store_->DueActions(now, 2);
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_THAT(OutboxKeys(*two), ElementsAre("a", "b"));
  auto all = store_->DueActions(now + absl::Hours(1), 10);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(OutboxKeys(*all), UnorderedElementsAre("a", "b", "c", "later"));
}

TEST_P(StoreConformance, DeadActionsAreListedNewestFirstAndRevivedOrDiscardedOneOrAll) {
  const absl::Time now = clock_.Now();
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                for (const char* k : {"a", "b", "c", "d"})
                  if (auto s = tx.Enqueue(k, CreateTask(1), now); !s.ok()) return s;
                return absl::OkStatus();
              }).ok());
  auto due = store_->DueActions(now, 10);
  ASSERT_TRUE(due.ok() && due->size() == 4u);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(store_->DeadLetterAction((*due)[i].id, absl::StrCat("refused ", i)).ok());
  const int64_t a = (*due)[0].id, b = (*due)[1].id, c = (*due)[2].id, d = (*due)[3].id;
  auto list = [&](spi::ActionState state) {
    auto l = Query([&](spi::StoreTransaction& tx) { return tx.ListActions(state, 10); });
    EXPECT_TRUE(l.ok()) << l.status();
    return l.ok() ? *l : std::vector<spi::OutboxEntry>();
  };
  std::vector<spi::OutboxEntry> dead = list(spi::ActionState::kDead);
  ASSERT_THAT(OutboxKeys(dead), ElementsAre("c", "b", "a"));
  EXPECT_EQ(dead[0].last_error, "refused 2");
  EXPECT_EQ(dead[0].attempts, 1);
  EXPECT_EQ(dead[0].created_at, now);
  EXPECT_EQ(dead[0].action.create_task().task_id(), 1);
  EXPECT_THAT(OutboxKeys(list(spi::ActionState::kPending)), ElementsAre("d"));

  // One revived: pending again, due when asked, its attempts reset.
  auto n = Write(
      [&](spi::StoreTransaction& tx) { return tx.ReviveDeadActions(b, now + absl::Minutes(1)); });
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1);
  due = store_->DueActions(now + absl::Minutes(1), 10);
  ASSERT_TRUE(due.ok());
  EXPECT_THAT(OutboxKeys(*due), UnorderedElementsAre("b", "d"));
  for (const auto& e : *due)
    if (e.key == "b") EXPECT_EQ(e.attempts, 0);
  // What is not dead cannot be revived or discarded; what does not exist is not found.
  EXPECT_EQ(Write([&](spi::StoreTransaction& tx) { return tx.ReviveDeadActions(d, now); })
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      Write([&](spi::StoreTransaction& tx) { return tx.DiscardDeadActions(b); }).status().code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Write([&](spi::StoreTransaction& tx) { return tx.DiscardDeadActions(d + 100); })
                .status()
                .code(),
            absl::StatusCode::kNotFound);

  // One discarded, then all that are left.
  n = Write([&](spi::StoreTransaction& tx) { return tx.DiscardDeadActions(a); });
  ASSERT_TRUE(n.ok() && *n == 1);
  EXPECT_THAT(OutboxKeys(list(spi::ActionState::kDead)), ElementsAre("c"));
  EXPECT_THAT(OutboxKeys(list(spi::ActionState::kDiscarded)), ElementsAre("a"));
  n = Write([&](spi::StoreTransaction& tx) { return tx.DiscardDeadActions(0); });
  ASSERT_TRUE(n.ok() && *n == 1);
  EXPECT_THAT(list(spi::ActionState::kDead), IsEmpty());
  n = Write([&](spi::StoreTransaction& tx) { return tx.ReviveDeadActions(0, now); });
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0) << "nothing dead is left to revive";
  due = store_->DueActions(now + absl::Hours(1), 10);
  ASSERT_TRUE(due.ok());
  EXPECT_THAT(OutboxKeys(*due), UnorderedElementsAre("b", "d")) << "discarded ones never run";
}

TEST_P(StoreConformance, CompleteActionsTakesTheActionsOffTheDueList) {
  const absl::Time now = clock_.Now();
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                for (const char* k : {"a", "b", "c"})
                  if (auto s = tx.Enqueue(k, CreateTask(1), now); !s.ok()) return s;
                return absl::OkStatus();
              }).ok());
  auto due = store_->DueActions(now, 10);
  ASSERT_TRUE(due.ok() && due->size() == 3u);
  ASSERT_TRUE(store_->CompleteActions({(*due)[0].id, (*due)[2].id}).ok());
  ASSERT_TRUE(store_->CompleteActions({}).ok()) << "an empty batch is nothing to do";
  due = store_->DueActions(now + absl::Hours(1), 10);
  ASSERT_TRUE(due.ok()) << due.status();
  EXPECT_THAT(OutboxKeys(*due), ElementsAre("b"));
}

TEST_P(StoreConformance, RetryActionReschedulesAndCountsTheAttempt) {
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.Enqueue("create:7", CreateTask(7), clock_.Now());
              }).ok());
  auto due = store_->DueActions(clock_.Now(), 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  const int64_t id = (*due)[0].id;
  ASSERT_TRUE(store_->RetryAction(id, clock_.Now() + absl::Seconds(30), "503").ok());
  EXPECT_TRUE(store_->DueActions(clock_.Now(), 10)->empty());
  clock_.Advance(absl::Seconds(31));
  due = store_->DueActions(clock_.Now(), 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].id, id);
  EXPECT_EQ((*due)[0].attempts, 1);
  ASSERT_TRUE(store_->RetryAction(id, clock_.Now(), "503 again").ok());
  due = store_->DueActions(clock_.Now(), 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].attempts, 2);
  ASSERT_TRUE(store_->CompleteActions({id}).ok());
  EXPECT_TRUE(store_->DueActions(clock_.Now() + absl::Hours(1), 10)->empty());
}

TEST_P(StoreConformance, ShiftingPendingActionsKeepsTheirDistanceAndLeavesDoneOnes) {
  const absl::Time now = clock_.Now();
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                if (auto s = tx.Enqueue("soon", CreateTask(1), now + absl::Seconds(2)); !s.ok())
                  return s;
                if (auto s = tx.Enqueue("later", CreateTask(2), now + absl::Hours(3)); !s.ok())
                  return s;
                return tx.Enqueue("done", CreateTask(3), now);
              }).ok());
  auto due = store_->DueActions(now, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  ASSERT_TRUE(store_->CompleteActions({(*due)[0].id}).ok());
  // The clock went back an hour: what was due in 2 s is due 2 s after the new now.
  ASSERT_TRUE(store_->ShiftPendingActions(-absl::Hours(1)).ok());
  const absl::Time back = now - absl::Hours(1);
  EXPECT_TRUE(store_->DueActions(back + absl::Seconds(1), 10)->empty());
  EXPECT_THAT(OutboxKeys(*store_->DueActions(back + absl::Seconds(2), 10)), ElementsAre("soon"));
  EXPECT_THAT(OutboxKeys(*store_->DueActions(back + absl::Hours(3), 10)),
              ElementsAre("soon", "later"));
}

TEST_P(StoreConformance, ADeadLetteredActionIsNeverDueAgain) {
  const absl::Time now = clock_.Now();
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                if (auto s = tx.Enqueue("doomed", CreateTask(1), now); !s.ok()) return s;
                return tx.Enqueue("fine", CreateTask(2), now);
              }).ok());
  auto due = store_->DueActions(now, 10);
  ASSERT_TRUE(due.ok() && due->size() == 2u);
  ASSERT_TRUE(store_->DeadLetterAction((*due)[0].id, "404: no such project").ok());
  due = store_->DueActions(now + absl::Hours(24 * 365), 10);
  ASSERT_TRUE(due.ok()) << due.status();
  EXPECT_THAT(OutboxKeys(*due), ElementsAre("fine"));
}

// A vendor's answer quoted in an error (Latin-1, cut mid-character, with a NUL) is recorded
// with the action and the delivery: a write that records a failure must not fail itself, or
// the action would stay due and be tried first again, before every one behind it.
TEST_P(StoreConformance, ErrorsQuotingBytesThatAreNotUtf8AreRecorded) {
  static constexpr char kQuoted[] = "403 Acc\xe8s refus\xe9 \xe2\x82 \0 end";
  const std::string latin1(kQuoted, sizeof kQuoted - 1);
  const absl::Time now = clock_.Now();
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                if (auto s = tx.Enqueue("retried", CreateTask(1), now); !s.ok()) return s;
                return tx.Enqueue("dead", CreateTask(2), now);
              }).ok());
  auto due = store_->DueActions(now, 10);
  ASSERT_TRUE(due.ok() && due->size() == 2u);
  ASSERT_TRUE(store_->RetryAction((*due)[0].id, now + absl::Minutes(1), latin1).ok());
  ASSERT_TRUE(store_->DeadLetterAction((*due)[1].id, latin1).ok());
  auto dead =
      Query([&](spi::StoreTransaction& tx) { return tx.ListActions(spi::ActionState::kDead, 10); });
  ASSERT_TRUE(dead.ok() && dead->size() == 1u);
  EXPECT_THAT((*dead)[0].last_error, ::testing::StartsWith("403 Acc"));
  EXPECT_THAT((*dead)[0].last_error, ::testing::HasSubstr("end"));

  ASSERT_EQ(Outcome(Append(Delivery("d"))), "stored");
  auto pending = store_->PendingDeliveries(0, 1);
  ASSERT_TRUE(pending.ok() && pending->size() == 1u);
  const int64_t seq = (*pending)[0].seq;
  auto attempts =
      Write([&](spi::StoreTransaction& tx) { return tx.RecordDeliveryFailure(seq, latin1); });
  ASSERT_TRUE(attempts.ok()) << attempts.status();
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.MarkDelivery(seq, spi::DeliveryState::kFailed, latin1);
              }).ok());
  auto letters = store_->ListDeadLetters(10);
  ASSERT_TRUE(letters.ok() && letters->size() == 1u);
  EXPECT_THAT((*letters)[0].error, ::testing::StartsWith("403 Acc"));
}

// A delivery id far beyond what anyone sends (16 KiB; the id headers are not signed) is taken or
// refused by itself: the deliveries committed with it are stored either way.
TEST_P(StoreConformance, AHugeDeliveryIdFailsAloneIfAtAllNotTheDeliveriesBesideIt) {
  auto acks = std::make_shared<Acks>();
  const std::string huge(16 * 1024, 'k');
  for (const std::string& key : {std::string("before"), huge, std::string("after")})
    store_->AppendDelivery(Delivery(key), Record(acks));
  ASSERT_TRUE(acks->WaitFor(3));
  auto pending = store_->PendingDeliveries(0, 10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  std::set<std::string> keys;
  for (const auto& d : *pending) keys.insert(d.delivery_key.size() > 100 ? "huge" : d.delivery_key);
  EXPECT_TRUE(keys.count("before") && keys.count("after"));
  int stored = 0;
  for (const auto& r : acks->Taken()) stored += r.ok() && *r == spi::AppendOutcome::kStored;
  EXPECT_EQ(stored, static_cast<int>(keys.size())) << "acknowledged exactly what was stored";
}

// Listing every ticket goes past the store's page (500) without skipping or repeating one.
TEST_P(StoreConformance, ForEachTicketVisitsThousandsOnceEach) {
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                for (int i = 0; i < 1234; ++i)
                  if (auto s = tx.PutTicket(Unclassified(absl::StrCat("t", i), clock_.Now()));
                      !s.ok())
                    return s;
                return absl::OkStatus();
              }).ok());
  std::multiset<std::string> seen;
  ASSERT_TRUE(Query([&](spi::StoreTransaction& tx) {
                return tx.ForEachTicket([&](const spi::TicketRecord& r) {
                  seen.insert(r.ticket.ticket_id());
                  return true;
                });
              }).ok());
  EXPECT_EQ(seen.size(), 1234u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 1234u);
}

// --- Feedback, promoted categories, cursors ----------------------------------------------------

TEST_P(StoreConformance, ListFeedbackIsNewestFirstUpToTheLimit) {
  const absl::Time t0 = clock_.Now();
  std::vector<int64_t> ids;
  ASSERT_TRUE(
      Write([&](spi::StoreTransaction& tx) -> absl::Status {
        for (const auto& [id, old, now, agent, minutes] :
             std::vector<std::tuple<std::string, std::string, std::string, std::string, int>>{
                 {"1", "", "billing", "ann", 0},
                 {"2", "login", "billing", "bo", 1},
                 {"3", "billing", "login", "ann", 2}}) {
          auto r = tx.RecordFeedback(id == "3" ? "sales" : "support", id, old, now, agent,
                                     t0 + absl::Minutes(minutes));
          if (!r.ok()) return r.status();
          ids.push_back(*r);
        }
        return absl::OkStatus();
      }).ok());
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_LT(ids[0], ids[1]);
  EXPECT_LT(ids[1], ids[2]);
  auto all = Query([&](spi::StoreTransaction& tx) { return tx.ListFeedback(10); });
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].helpdesk_id, "sales");
  EXPECT_EQ((*all)[0].ticket_id, "3");
  EXPECT_EQ((*all)[0].category_id, "login") << "what the agent chose";
  EXPECT_EQ((*all)[1].ticket_id, "2");
  EXPECT_EQ((*all)[2].ticket_id, "1");
  EXPECT_EQ((*all)[2].category_id, "billing");
  auto two = Query([&](spi::StoreTransaction& tx) { return tx.ListFeedback(2); });
  ASSERT_TRUE(two.ok()) << two.status();
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].ticket_id, "3");
  EXPECT_EQ((*two)[1].ticket_id, "2");
  EXPECT_EQ((*two)[0].id, ids[2]);
  // What came after a correction, oldest first: how replicas learn each other's.
  auto after = Query([&](spi::StoreTransaction& tx) { return tx.ListFeedbackAfter(ids[0], 10); });
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].id, ids[1]);
  EXPECT_EQ((*after)[0].ticket_id, "2");
  EXPECT_EQ((*after)[1].id, ids[2]);
  EXPECT_EQ((*after)[1].category_id, "login");
  auto one = Query([&](spi::StoreTransaction& tx) { return tx.ListFeedbackAfter(0, 1); });
  ASSERT_TRUE(one.ok() && one->size() == 1u);
  EXPECT_EQ((*one)[0].id, ids[0]);
}

TEST_P(StoreConformance, PromotedCategoriesAreInPromotionOrderAndEachIdIsPromotedOnce) {
  auto promoted = [](const std::string& id, int64_t emerging) {
    v1::PromotedCategory p;
    p.mutable_category()->set_id(id);
    p.mutable_category()->set_name("Category " + id);
    p.mutable_category()->set_kind(v1::COMPLAINT);
    p.add_examples("an example of " + id);
    p.set_emerging_id(emerging);
    return p;
  };
  const v1::PromotedCategory zeta = promoted("zeta", 7);
  const v1::PromotedCategory alpha = promoted("alpha", 3);
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) { return tx.PutPromotedCategory(zeta); }).ok());
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) { return tx.PutPromotedCategory(alpha); }).ok());
  clock_.Advance(absl::Minutes(1));
  absl::Status again =
      Write([&](spi::StoreTransaction& tx) { return tx.PutPromotedCategory(promoted("zeta", 9)); });
  EXPECT_TRUE(absl::IsAlreadyExists(again)) << again;
  auto all = Query([&](spi::StoreTransaction& tx) { return tx.PromotedCategories(); });
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_THAT((*all)[0], EqualsProto(zeta));
  EXPECT_THAT((*all)[1], EqualsProto(alpha));
}

// Taxonomy versions are numbered 1, 2, ... in the order stored (whatever number they carry)
// and read back newest first, whole.
TEST_P(StoreConformance, TaxonomyVersionsAreNumberedInOrderAndReadNewestFirst) {
  auto version = [](const std::string& actor, const std::string& category) {
    v1::TaxonomyVersion v;
    v.set_version(99);
    v.set_actor(actor);
    v.set_review_threshold(0.5);
    v.add_categories()->set_id(category);
    v1::TaxonomyChange* c = v.add_changes();
    c->set_kind(v1::CATEGORY_ADDED);
    c->set_category_id(category);
    return v;
  };
  auto none = Query([&](spi::StoreTransaction& tx) { return tx.TaxonomyVersions(10); });
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  for (const char* who : {"config file", "ann", "bob"}) {
    auto n = Write([&](spi::StoreTransaction& tx) {
      return tx.PutTaxonomyVersion(version(who, absl::StrCat("c-", who)));
    });
    ASSERT_TRUE(n.ok()) << n.status();
  }
  auto two = Query([&](spi::StoreTransaction& tx) { return tx.TaxonomyVersions(2); });
  ASSERT_TRUE(two.ok()) << two.status();
  ASSERT_EQ(two->size(), 2u);
  v1::TaxonomyVersion want = version("bob", "c-bob");
  want.set_version(3);
  EXPECT_THAT((*two)[0], EqualsProto(want));
  EXPECT_EQ((*two)[1].version(), 2);
  EXPECT_EQ((*two)[1].actor(), "ann");
}

// A merge or split moves a task to another category; a category keeps one active task.
TEST_P(StoreConformance, MoveTaskChangesItsCategoryUnlessThatOneHasAnActiveTask) {
  const int64_t refund = Insert(NewTask("refund"));
  const int64_t billing = Insert(NewTask("billing"));
  absl::Status clash =
      Write([&](spi::StoreTransaction& tx) { return tx.MoveTask(refund, "billing"); });
  EXPECT_TRUE(absl::IsAlreadyExists(clash)) << clash;
  EXPECT_EQ(Get(refund).category_id(), "refund");
  Finish(billing, v1::TASK_DONE, clock_.Now());
  ASSERT_TRUE(
      Write([&](spi::StoreTransaction& tx) { return tx.MoveTask(refund, "billing"); }).ok());
  EXPECT_EQ(Get(refund).category_id(), "billing");
  auto active = Query([&](spi::StoreTransaction& tx) { return tx.ActiveTask("billing"); });
  ASSERT_TRUE(active.ok() && active->has_value());
  EXPECT_EQ((*active)->id(), refund);
  absl::Status missing =
      Write([&](spi::StoreTransaction& tx) { return tx.MoveTask(refund + 100, "x"); });
  EXPECT_TRUE(absl::IsNotFound(missing)) << missing;
}

// What a split classifies again: the category's tickets since a time, sure or not, newest
// first, up to the limit.
TEST_P(StoreConformance, TicketsOfCategoryAreItsTicketsSinceATimeNewestFirst) {
  const absl::Time since = clock_.Now();
  Put({Classified("old", "app", since - absl::Seconds(1)), Classified("first", "app", since),
       Classified("unsure", "app", since + absl::Hours(1), /*needs_review=*/true),
       Classified("newest", "app", since + absl::Hours(2)),
       Classified("other", "login", since + absl::Hours(1))});
  auto all =
      Query([&](spi::StoreTransaction& tx) { return tx.TicketsOfCategory("app", since, 10); });
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(TicketIds(*all), ElementsAre("newest", "unsure", "first"));
  auto one =
      Query([&](spi::StoreTransaction& tx) { return tx.TicketsOfCategory("app", since, 1); });
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_THAT(TicketIds(*one), ElementsAre("newest"));
}

// --- The agent's view: a requester's journey, similar tickets, task search, a task's trend ----

// The same person is the same case-folded e-mail address in any helpdesk; without an address,
// the same requester id in the same helpdesk only.
TEST_P(StoreConformance, TicketsOfSamePersonMatchTheAddressAcrossHelpdesksNewestFirst) {
  const absl::Time t0 = absl::FromUnixSeconds(1795000000);
  ASSERT_TRUE(
      Write([&](spi::StoreTransaction& tx) -> absl::Status {
        for (const auto& r :
             {Requested(Unclassified("1", t0), "support", "u1", "Ann@Example.com"),
              Requested(Unclassified("2", t0 + absl::Hours(1)), "rt", "9", "ann@example.COM"),
              Requested(Unclassified("3", t0 + absl::Hours(2)), "support", "u2", "bob@x.org"),
              Requested(Unclassified("4", t0 + absl::Hours(3)), "support", "u3", ""),
              Requested(Unclassified("5", t0 + absl::Hours(4)), "support", "u3", ""),
              Requested(Unclassified("6", t0 + absl::Hours(5)), "rt", "u3", ""),
              Unclassified("7", t0)}) {
          absl::Status s = tx.PutTicket(r);
          if (!s.ok()) return s;
        }
        return absl::OkStatus();
      }).ok());
  EXPECT_THAT(SamePerson("support", "1"), ElementsAre("rt/2", "support/1"));
  EXPECT_THAT(SamePerson("rt", "2"), ElementsAre("rt/2", "support/1"));
  EXPECT_THAT(SamePerson("support", "3"), ElementsAre("support/3"));
  EXPECT_THAT(SamePerson("support", "4"), ElementsAre("support/5", "support/4"))
      << "a requester id matches within its helpdesk only";
  EXPECT_THAT(SamePerson("support", "7"), ElementsAre("support/7"))
      << "no requester: just this one";
  EXPECT_THAT(SamePerson("support", "nope"), IsEmpty());
  Reopen();
  EXPECT_THAT(SamePerson("support", "1"), ElementsAre("rt/2", "support/1"))
      << "kept across restarts";
}

// An admin makes two identities one person (a second address, a helpdesk naming requesters by
// id): the journey joins them, the merge takes in whoever each was merged with, and a split
// takes one identity out again while the others stay together.
TEST_P(StoreConformance, MergedIdentitiesAreOneJourneyUntilSplit) {
  const absl::Time t0 = absl::FromUnixSeconds(1795000000);
  ASSERT_TRUE(
      Write([&](spi::StoreTransaction& tx) -> absl::Status {
        for (const auto& r :
             {Requested(Unclassified("1", t0), "support", "u1", "ann@example.com"),
              Requested(Unclassified("2", t0 + absl::Hours(1)), "shop", "77", ""),
              Requested(Unclassified("3", t0 + absl::Hours(2)), "support", "u2",
                        "ann.smith@corp.example"),
              Requested(Unclassified("4", t0 + absl::Hours(3)), "support", "u3", "bob@x.org")}) {
          absl::Status s = tx.PutTicket(r);
          if (!s.ok()) return s;
        }
        return absl::OkStatus();
      }).ok());
  auto of = [&](const std::string& helpdesk, const std::string& id) {
    auto p = Query([&](spi::StoreTransaction& tx) { return tx.PersonOfTicket(helpdesk, id); });
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : "";
  };
  auto merge = [&](const std::string& a, const std::string& b) {
    return Write([&](spi::StoreTransaction& tx) { return tx.MergePeople(a, b, t0); });
  };
  auto split = [&](const std::string& a) {
    return Write([&](spi::StoreTransaction& tx) { return tx.SplitPerson(a); });
  };
  std::string by_email;
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                by_email = tx.PersonOfEmail("  ANN@example.com ");
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(by_email, of("support", "1")) << "an address names the same identity, any case";
  EXPECT_EQ(of("support", "nope"), "");

  EXPECT_THAT(SamePerson("shop", "2"), ElementsAre("shop/2"));
  auto n = merge(of("shop", "2"), of("support", "1"));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2);
  EXPECT_THAT(SamePerson("shop", "2"), ElementsAre("shop/2", "support/1"));
  EXPECT_THAT(SamePerson("support", "1"), ElementsAre("shop/2", "support/1"));
  // A third identity merged with one of the two joins both.
  n = merge(of("support", "1"), of("support", "3"));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 3);
  EXPECT_THAT(SamePerson("shop", "2"), ElementsAre("support/3", "shop/2", "support/1"));
  EXPECT_THAT(SamePerson("support", "4"), ElementsAre("support/4")) << "Bob is nobody else";
  n = merge(of("shop", "2"), of("support", "3"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3) << "merging two identities of one person again changes nothing";
  Reopen();
  EXPECT_THAT(SamePerson("support", "1"), ElementsAre("support/3", "shop/2", "support/1"))
      << "kept across restarts";

  // Taking the first address out leaves the other two together.
  ASSERT_TRUE(split(of("support", "1")).ok());
  EXPECT_THAT(SamePerson("support", "1"), ElementsAre("support/1"));
  EXPECT_THAT(SamePerson("shop", "2"), ElementsAre("support/3", "shop/2"));
  EXPECT_EQ(split(of("support", "1")).code(), absl::StatusCode::kNotFound)
      << "an identity merged with none cannot be split";
  ASSERT_TRUE(split(of("shop", "2")).ok());
  EXPECT_THAT(SamePerson("shop", "2"), ElementsAre("shop/2"));
  EXPECT_THAT(SamePerson("support", "3"), ElementsAre("support/3"));
  EXPECT_EQ(split(of("support", "3")).code(), absl::StatusCode::kNotFound)
      << "the last one left is alone again";
}

TEST_P(StoreConformance, OpenTicketsOfCategoryLeaveOutSolvedClosedAndUnsureOnes) {
  const absl::Time t0 = absl::FromUnixSeconds(1795000000);
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                auto with = [](spi::TicketRecord r, const std::string& status) {
                  r.ticket.set_status(status);
                  return r;
                };
                for (const auto& r :
                     {with(Classified("1", "billing", t0), "open"),
                      with(Classified("2", "billing", t0 + absl::Hours(1)), "new"),
                      with(Classified("3", "billing", t0 + absl::Hours(2)), "solved"),
                      with(Classified("4", "billing", t0 + absl::Hours(3)), "closed"),
                      with(Classified("5", "billing", t0 + absl::Hours(4), true), "open"),
                      with(Classified("6", "login", t0 + absl::Hours(5)), "open"),
                      with(Classified("7", "billing", t0 + absl::Hours(6)), "pending")}) {
                  absl::Status s = tx.PutTicket(r);
                  if (!s.ok()) return s;
                }
                return absl::OkStatus();
              }).ok());
  auto open =
      Query([&](spi::StoreTransaction& tx) { return tx.OpenTicketsOfCategory("billing", 10); });
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_THAT(TicketIds(*open), ElementsAre("7", "2", "1"));
  auto two =
      Query([&](spi::StoreTransaction& tx) { return tx.OpenTicketsOfCategory("billing", 2); });
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_THAT(TicketIds(*two), ElementsAre("7", "2"));
}

TEST_P(StoreConformance, SearchTasksMatchesEveryWordAnyCaseActiveOnesFirst) {
  v1::ImprovementTask a = NewTask("billing", v1::TASK_OPEN);
  a.set_title("Refunds take two weeks");
  v1::ImprovementTask b = NewTask("billing", v1::TASK_DONE);
  b.set_title("Refund form times out");
  v1::ImprovementTask c = NewTask("login", v1::TASK_OPEN);
  c.set_title("Password reset e-mail never comes");
  const int64_t ia = Insert(a), ib = Insert(b), ic = Insert(c);
  auto search = [&](const std::string& words, const std::string& category) {
    auto r = Query([&](spi::StoreTransaction& tx) { return tx.SearchTasks(words, category, 10); });
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? TaskIds(*r) : std::vector<int64_t>{};
  };
  EXPECT_THAT(search("REFUND", ""), ElementsAre(ia, ib)) << "the active one first";
  EXPECT_THAT(search("refund form", ""), ElementsAre(ib)) << "every word";
  EXPECT_THAT(search("", "login"), ElementsAre(ic));
  EXPECT_THAT(search("refund", "login"), IsEmpty());
  EXPECT_THAT(search("", ""), UnorderedElementsAre(ia, ib, ic));
  EXPECT_THAT(search("100%_'\"", ""), IsEmpty()) << "LIKE's wildcards and quotes are words too";
}

TEST_P(StoreConformance, WeeklyTicketsOfTaskCountLinksPerWeekOldestFirst) {
  const absl::Time now = absl::FromUnixSeconds(1795000000);
  const int64_t task = Insert(NewTask("billing", v1::TASK_OPEN));
  const int64_t other = Insert(NewTask("login", v1::TASK_OPEN));
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                const std::vector<std::pair<std::string, absl::Duration>> links = {
                    {"1", absl::Hours(1)},
                    {"2", absl::Hours(2)},
                    {"3", absl::Hours(24 * 7 + 1)},
                    {"4", absl::Hours(24 * 7 * 3 + 5)},
                    {"5", absl::Hours(24 * 7 * 9)}};
                for (const auto& [id, ago] : links) {
                  absl::Status s = tx.PutTicket(Classified(id, "billing", now - ago));
                  if (s.ok()) s = tx.PutLink(Link(id, task, now - ago));
                  if (!s.ok()) return s;
                }
                absl::Status s = tx.PutTicket(Classified("9", "login", now - absl::Hours(1)));
                if (s.ok()) s = tx.PutLink(Link("9", other, now - absl::Hours(1)));
                return s;
              }).ok());
  auto weekly =
      Query([&](spi::StoreTransaction& tx) { return tx.WeeklyTicketsOfTask(task, now, 4); });
  ASSERT_TRUE(weekly.ok()) << weekly.status();
  EXPECT_THAT(*weekly, ElementsAre(1, 0, 1, 2)) << "the link 9 weeks ago is outside the window";
}

// PeekTask is GetTask's row without the counts that read every link.
TEST_P(StoreConformance, PeekTaskIsTheTaskRowWithoutItsCounts) {
  const absl::Time now = absl::FromUnixSeconds(1795000000);
  const int64_t task = Insert(NewTask("billing", v1::TASK_OPEN));
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                absl::Status s = tx.PutTicket(Classified("1", "billing", now));
                if (s.ok()) s = tx.PutLink(Link("1", task, now));
                return s;
              }).ok());
  auto full = Query([&](spi::StoreTransaction& tx) { return tx.GetTask(task); });
  auto peek = Query([&](spi::StoreTransaction& tx) { return tx.PeekTask(task); });
  ASSERT_TRUE(full.ok() && full->has_value()) << full.status();
  ASSERT_TRUE(peek.ok() && peek->has_value()) << peek.status();
  EXPECT_EQ((*full)->ticket_count(), 1);
  EXPECT_EQ((*peek)->ticket_count(), 0);
  v1::ImprovementTask row = **full;
  row.clear_ticket_count();
  row.clear_customer_count();
  row.clear_first_seen();
  row.clear_last_seen();
  EXPECT_THAT(**peek, EqualsProto(row));
  auto none = Query([&](spi::StoreTransaction& tx) { return tx.PeekTask(task + 100); });
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

// A task's counts follow its tickets: a link made before its ticket is stored counts once the
// ticket is, and a ticket whose requester changes counts for the new customer.
TEST_P(StoreConformance, TaskCountsFollowTheLinkedTicketsAsTheyChange) {
  const absl::Time t0 = absl::FromUnixSeconds(1795000000);
  const int64_t task = Insert(NewTask("billing", v1::TASK_OPEN));
  auto with = [](spi::TicketRecord r, const std::string& requester) {
    r.ticket.mutable_requester()->set_id(requester);
    return r;
  };
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                absl::Status s = tx.PutLink(Link("1", task, t0));  // before its ticket
                if (s.ok()) s = tx.PutTicket(with(Classified("1", "billing", t0), "ann"));
                if (s.ok())
                  s = tx.PutTicket(with(Classified("2", "billing", t0 + absl::Hours(1)), "bob"));
                if (s.ok()) s = tx.PutLink(Link("2", task, t0 + absl::Hours(1)));
                return s;
              }).ok());
  auto counts = [&] {
    auto t = Query([&](spi::StoreTransaction& tx) { return tx.GetTask(task); });
    EXPECT_TRUE(t.ok() && t->has_value()) << t.status();
    return std::make_pair((*t)->ticket_count(), (*t)->customer_count());
  };
  EXPECT_EQ(counts(), std::make_pair(int64_t{2}, int64_t{2}));
  auto t = Query([&](spi::StoreTransaction& tx) { return tx.GetTask(task); });
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ(base::FromTimestamp((*t)->first_seen()), t0);
  EXPECT_EQ(base::FromTimestamp((*t)->last_seen()), t0 + absl::Hours(1));
  // Bob turns out to be Ann (the helpdesk merged them): one customer.
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.PutTicket(with(Classified("2", "billing", t0 + absl::Hours(1)), "ann"));
              }).ok());
  EXPECT_EQ(counts(), std::make_pair(int64_t{2}, int64_t{1}));
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) { return tx.DeleteLink("support", "1"); }).ok());
  EXPECT_EQ(counts(), std::make_pair(int64_t{1}, int64_t{1}));
  // Ticket 2 moves to another task: this one has none left, the other counts it.
  const int64_t other = Insert(NewTask("refunds", v1::TASK_OPEN));
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.PutLink(Link("2", other, t0 + absl::Hours(2)));
              }).ok());
  EXPECT_EQ(counts(), std::make_pair(int64_t{0}, int64_t{0}));
  auto moved = Query([&](spi::StoreTransaction& tx) { return tx.GetTask(other); });
  ASSERT_TRUE(moved.ok() && moved->has_value()) << moved.status();
  EXPECT_EQ((*moved)->ticket_count(), 1);
  EXPECT_EQ((*moved)->customer_count(), 1);
  // Linked again, to the same task: counted once.
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.PutLink(Link("2", other, t0 + absl::Hours(3)));
              }).ok());
  moved = Query([&](spi::StoreTransaction& tx) { return tx.GetTask(other); });
  ASSERT_TRUE(moved.ok() && moved->has_value());
  EXPECT_EQ((*moved)->ticket_count(), 1);
  EXPECT_EQ((*moved)->customer_count(), 1);
}

TEST_P(StoreConformance, CauseWeeksCountConfidentTicketsPerWeekHelpdeskAndRepeatContact) {
  const int64_t w0 = spi::WeekOf(absl::FromUnixSeconds(1795000000));
  const absl::Time t0 = spi::WeekStart(w0);
  EXPECT_EQ(spi::WeekOf(t0), w0);
  EXPECT_EQ(spi::WeekOf(t0 - absl::Seconds(1)), w0 - 1);
  EXPECT_EQ(absl::FormatTime("%a %H:%M", t0, absl::UTCTimeZone()), "Mon 00:00");
  auto of = [](spi::TicketRecord r, const std::string& email, const std::string& helpdesk) {
    r.ticket.mutable_requester()->set_email(email);
    r.ticket.set_helpdesk_id(helpdesk);
    return r;
  };
  ASSERT_TRUE(
      Write([&](spi::StoreTransaction& tx) -> absl::Status {
        for (const auto& r :
             {of(Classified("1", "billing", t0), "ann@example.com", "support"),
              // Ann again, about the same cause: a repeat contact.
              of(Classified("2", "billing", t0 + absl::Hours(1)), "ann@example.com", "support"),
              of(Classified("3", "billing", t0 + absl::Hours(24 * 7)), "bob@example.com",
                 "support"),
              // Ann about another cause: not a repeat of it.
              of(Classified("4", "login", t0 + absl::Hours(24 * 8)), "ann@example.com", "support"),
              // Unsure: not counted until an agent decides.
              of(Classified("5", "billing", t0 + absl::Hours(24 * 8), true), "cy@example.com",
                 "support"),
              of(Classified("6", "billing", t0 + absl::Hours(24 * 9)), "dee@example.com", "eu")}) {
          if (absl::Status s = tx.PutTicket(r); !s.ok()) return s;
        }
        return absl::OkStatus();
      }).ok());
  auto weeks = [&](const std::string& helpdesk, int64_t from, int64_t to) {
    std::vector<std::string> out;
    auto rows = Query([&](spi::StoreTransaction& tx) { return tx.CauseWeeks(helpdesk, from, to); });
    EXPECT_TRUE(rows.ok()) << rows.status();
    if (rows.ok())
      for (const spi::CauseWeek& r : *rows)
        out.push_back(
            absl::StrCat(r.week - w0, " ", r.category_id, " ", r.tickets, "/", r.repeats));
    return out;
  };
  EXPECT_THAT(weeks("", w0, w0 + 2), ElementsAre("0 billing 2/1", "1 billing 2/0", "1 login 1/0"));
  EXPECT_THAT(weeks("support", w0, w0 + 2),
              ElementsAre("0 billing 2/1", "1 billing 1/0", "1 login 1/0"));
  EXPECT_THAT(weeks("", w0 + 1, w0 + 2), ElementsAre("1 billing 2/0", "1 login 1/0"));
  EXPECT_THAT(weeks("", w0 + 2, w0 + 10), IsEmpty());
  // An agent decides the unsure one (billing) and moves Bob's to login: the weeks follow.
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                absl::Status s =
                    tx.PutTicket(of(Classified("5", "billing", t0 + absl::Hours(24 * 8)),
                                    "cy@example.com", "support"));
                if (s.ok())
                  s = tx.PutTicket(of(Classified("3", "login", t0 + absl::Hours(24 * 7)),
                                      "bob@example.com", "support"));
                return s;
              }).ok());
  EXPECT_THAT(weeks("", w0, w0 + 2), ElementsAre("0 billing 2/1", "1 billing 2/0", "1 login 2/0"));
  // Ann's second ticket turns out to be about login after all: no longer a billing repeat, and
  // her later login ticket is one now (her first about login is this one).
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.PutTicket(of(Classified("2", "login", t0 + absl::Hours(1)),
                                       "ann@example.com", "support"));
              }).ok());
  EXPECT_THAT(weeks("", w0, w0 + 2),
              ElementsAre("0 billing 1/0", "0 login 1/0", "1 billing 2/0", "1 login 2/1"));
}

TEST_P(StoreConformance, CustomersAndAssigneesOfACategoryInAWindow) {
  const absl::Time t0 = absl::FromUnixSeconds(1795000000);
  auto of = [](spi::TicketRecord r, const std::string& requester, const std::string& agent) {
    r.ticket.mutable_requester()->set_id(requester);
    if (!agent.empty()) r.ticket.mutable_assignee()->set_name(agent);
    return r;
  };
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                for (const auto& r :
                     {of(Classified("1", "thanks", t0), "ann", "Ida"),
                      of(Classified("2", "thanks", t0 + absl::Hours(1)), "ann", "Ida"),
                      of(Classified("3", "thanks", t0 + absl::Hours(2)), "bob", "Max"),
                      of(Classified("4", "thanks", t0 + absl::Hours(3)), "cy", ""),
                      of(Classified("5", "thanks", t0 + absl::Hours(24 * 30)), "dee", "Max"),
                      of(Classified("6", "thanks", t0 + absl::Hours(4), true), "eve", "Max")}) {
                  if (absl::Status s = tx.PutTicket(r); !s.ok()) return s;
                }
                return absl::OkStatus();
              }).ok());
  auto customers = Query([&](spi::StoreTransaction& tx) {
    return tx.CountCustomers("thanks", "", t0, t0 + absl::Hours(24 * 1));
  });
  ASSERT_TRUE(customers.ok()) << customers.status();
  EXPECT_EQ(*customers, 3) << "ann twice, bob, cy; dee is later and eve's is unsure";
  auto elsewhere = Query([&](spi::StoreTransaction& tx) {
    return tx.CountCustomers("thanks", "eu", t0, t0 + absl::Hours(24 * 1));
  });
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_EQ(*elsewhere, 0);
  auto agents = Query([&](spi::StoreTransaction& tx) {
    return tx.TicketsByAssignee("thanks", "", t0, t0 + absl::Hours(24 * 1));
  });
  ASSERT_TRUE(agents.ok()) << agents.status();
  EXPECT_THAT(*agents, ElementsAre(std::make_pair(std::string("Ida"), int64_t{2}),
                                   std::make_pair(std::string(""), int64_t{1}),
                                   std::make_pair(std::string("Max"), int64_t{1})));
}

TEST_P(StoreConformance, ToldOfTaskCountsTheNotesAndRepliesCarriedOut) {
  const absl::Time now = clock_.Now();
  auto notify = [](int64_t task, const std::string& ticket) {
    v1::OutboxAction a;
    a.mutable_notify_ticket()->set_task_id(task);
    a.mutable_notify_ticket()->set_ticket_id(ticket);
    return a;
  };
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) -> absl::Status {
                for (const auto& [key, action] :
                     std::vector<std::pair<std::string, v1::OutboxAction>>{
                         {"notify:7:support:1", notify(7, "1")},
                         {"notify:7:support:2", notify(7, "2")},
                         {"notify:7:support:3", notify(7, "3")},
                         {"reply:7:ann", notify(7, "1")},
                         {"notify:70:support:4", notify(70, "4")}}) {
                  if (auto s = tx.Enqueue(key, action, now); !s.ok()) return s;
                }
                return absl::OkStatus();
              }).ok());
  auto told = [&](int64_t task) {
    auto t = Query([&](spi::StoreTransaction& tx) { return tx.ToldOfTask(task); });
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : spi::ToldCounts{};
  };
  EXPECT_EQ(told(7).tickets, 0) << "nothing carried out yet";
  EXPECT_FALSE(told(7).last.has_value());
  auto due = store_->DueActions(now, 10);
  ASSERT_TRUE(due.ok() && due->size() == 5u);
  std::vector<int64_t> done;
  for (const spi::OutboxEntry& e : *due)
    if (e.key != "notify:7:support:3") done.push_back(e.id);
  clock_.Advance(absl::Minutes(5));
  ASSERT_TRUE(store_->CompleteActions(done).ok());
  const spi::ToldCounts seven = told(7);
  EXPECT_EQ(seven.tickets, 2);
  EXPECT_EQ(seven.replies, 1);
  ASSERT_TRUE(seven.last.has_value());
  EXPECT_EQ(*seven.last, now + absl::Minutes(5));
  EXPECT_EQ(told(70).tickets, 1) << "task 70's keys are not task 7's";
}

TEST_P(StoreConformance, ApiTokensAreFoundByTheirHashListedAndRevoked) {
  const absl::Time t0 = absl::FromUnixSeconds(1795000000);
  v1::ApiToken t;
  t.set_name("ann");
  t.set_role("agent");
  t.set_helpdesk_id("support");
  base::SetTimestamp(t.mutable_created_at(), t0);
  auto id = Write([&](spi::StoreTransaction& tx) { return tx.PutApiToken(t, "hash-of-ann"); });
  ASSERT_TRUE(id.ok()) << id.status();
  v1::ApiToken lead;
  lead.set_name("lee");
  lead.set_role("lead");
  auto id2 = Write([&](spi::StoreTransaction& tx) { return tx.PutApiToken(lead, "hash-of-lee"); });
  ASSERT_TRUE(id2.ok()) << id2.status();
  EXPECT_NE(*id, *id2);

  auto found = Query([&](spi::StoreTransaction& tx) { return tx.ApiTokenByHash("hash-of-ann"); });
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id(), *id);
  EXPECT_EQ((*found)->name(), "ann");
  EXPECT_EQ((*found)->role(), "agent");
  EXPECT_EQ((*found)->helpdesk_id(), "support");
  EXPECT_FALSE((*found)->revoked());
  auto none = Query([&](spi::StoreTransaction& tx) { return tx.ApiTokenByHash("hash-of-nobody"); });
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.TouchApiToken(*id, t0 + absl::Hours(1));
              }).ok());
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.RevokeApiToken(*id, t0 + absl::Hours(2));
              }).ok());
  EXPECT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.RevokeApiToken(*id, t0 + absl::Hours(3));
              }).ok())
      << "revoking twice is fine";
  EXPECT_EQ(Write([&](spi::StoreTransaction& tx) { return tx.RevokeApiToken(999, t0); }).code(),
            absl::StatusCode::kNotFound);
  Reopen();
  auto all = Query([&](spi::StoreTransaction& tx) { return tx.ListApiTokens(); });
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  const v1::ApiToken& ann = (*all)[0].id() == *id ? (*all)[0] : (*all)[1];
  EXPECT_TRUE(ann.revoked());
  EXPECT_EQ(base::FromTimestamp(ann.last_used_at()), t0 + absl::Hours(1));
  auto again = Query([&](spi::StoreTransaction& tx) { return tx.ApiTokenByHash("hash-of-ann"); });
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_TRUE((*again)->revoked()) << "a revoked token is still found, and says so";
}

TEST_P(StoreConformance, ACursorIsAbsentUntilPutAndAPutOverwritesIt) {
  auto get = [&](const std::string& name) {
    auto v = Query([&](spi::StoreTransaction& tx) { return tx.GetCursor(name); });
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : std::nullopt;
  };
  EXPECT_EQ(get("reconcile:support"), std::nullopt);
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.PutCursor("reconcile:support", "1");
              }).ok());
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.PutCursor("backfill:support", "p9");
              }).ok());
  ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                return tx.PutCursor("reconcile:support", "2");
              }).ok());
  EXPECT_EQ(get("reconcile:support"), "2");
  EXPECT_EQ(get("backfill:support"), "p9");
  Reopen();
  EXPECT_EQ(get("reconcile:support"), "2") << "a cursor outlives a restart";
}

TEST_P(StoreConformance, TheAuditLogIsReadNewestFirstByPageAndByActor) {
  const absl::Time now = clock_.Now();
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(Write([&](spi::StoreTransaction& tx) {
                  return tx.AppendAudit({0, now + absl::Seconds(i), i % 2 ? "ana" : "bo",
                                         absl::StrCat("Admin.Do", i), absl::StrCat("id: ", i),
                                         i == 4 ? "PERMISSION_DENIED" : "ok"});
                }).ok());
  auto read = [&](int limit, int64_t before, const std::string& actor) {
    auto l = Query([&](spi::StoreTransaction& tx) { return tx.ListAudit(limit, before, actor); });
    EXPECT_TRUE(l.ok()) << l.status();
    std::vector<std::string> out;
    if (l.ok())
      for (const auto& r : *l) out.push_back(absl::StrCat(r.action, "/", r.actor, "/", r.outcome));
    return std::make_pair(out, l.ok() && !l->empty() ? l->back().id : int64_t{0});
  };
  auto [first, last_id] = read(2, 0, "");
  EXPECT_THAT(first, ElementsAre("Admin.Do4/bo/PERMISSION_DENIED", "Admin.Do3/ana/ok"));
  EXPECT_THAT(read(10, last_id, "").first,
              ElementsAre("Admin.Do2/bo/ok", "Admin.Do1/ana/ok", "Admin.Do0/bo/ok"));
  EXPECT_THAT(read(10, 0, "ana").first, ElementsAre("Admin.Do3/ana/ok", "Admin.Do1/ana/ok"));
  auto one = Query([&](spi::StoreTransaction& tx) { return tx.ListAudit(1, 0, "bo"); });
  ASSERT_TRUE(one.ok() && one->size() == 1u);
  EXPECT_EQ((*one)[0].at, now + absl::Seconds(4));
  EXPECT_EQ((*one)[0].target, "id: 4");
  Reopen();
  EXPECT_EQ(read(10, 0, "").first.size(), 5u) << "the log outlives a restart";
}

// The random id the markers Debrief leaves in trackers and helpdesks carry (Loop::EffectKey).
TEST_P(StoreConformance, EachStoreHasItsOwnLastingInstallationId) {
  const std::string id = testing::ReadCursor(*store_, spi::kInstallationCursor);
  EXPECT_EQ(id.size(), 32u) << id;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  Reopen();
  EXPECT_EQ(testing::ReadCursor(*store_, spi::kInstallationCursor), id) << "kept across restarts";
  TempDir elsewhere;
  std::unique_ptr<spi::Store> other = Open(elsewhere);
  ASSERT_NE(other, nullptr);
  const std::string other_id = testing::ReadCursor(*other, spi::kInstallationCursor);
  EXPECT_FALSE(other_id.empty());
  EXPECT_NE(other_id, id) << "another store, another installation";
}

// --- SetDeliveryListener, Close ----------------------------------------------------------------

// The listener wakes the pipeline, which then reads the delivery: by the time it is called,
// the delivery must be committed. The listener holds on until the test has read, so a store that
// called it before committing would be caught every time, not now and then.
TEST_P(StoreConformance, TheDeliveryListenerIsCalledOnceAnAppendIsCommitted) {
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    int calls = 0;
    bool released = false;
  };
  auto gate = std::make_shared<Gate>();
  store_->SetDeliveryListener([gate] {
    std::unique_lock<std::mutex> l(gate->mu);
    ++gate->calls;
    gate->cv.notify_all();
    gate->cv.wait_for(l, kPatience, [&] { return gate->released; });
  });
  auto release = absl::MakeCleanup([gate] {
    std::lock_guard<std::mutex> l(gate->mu);
    gate->released = true;
    gate->cv.notify_all();
  });
  auto acks = std::make_shared<Acks>();
  store_->AppendDelivery(Delivery("a"), Record(acks));
  {
    std::unique_lock<std::mutex> l(gate->mu);
    ASSERT_TRUE(gate->cv.wait_for(l, kPatience, [&] { return gate->calls > 0; }))
        << "the listener was never called";
  }
  auto pending = store_->PendingDeliveries(0, 10);
  std::move(release).Invoke();
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_THAT(Keys(*pending), ElementsAre("a"));
  ASSERT_TRUE(acks->WaitFor(1));
  EXPECT_EQ(Outcome(acks->Taken()[0]), "stored");
}

// A graceful shutdown: what was appended before Close is on disk when Close returns; what comes
// after is refused, and its sender hears so.
TEST_P(StoreConformance, CloseFlushesQueuedAppendsAndLaterOnesFail) {
  constexpr int kQueued = 20;
  auto acks = std::make_shared<Acks>();
  for (int i = 0; i < kQueued; ++i)
    store_->AppendDelivery(Delivery(absl::StrCat("k", i)), Record(acks));
  store_->Close();
  std::vector<absl::StatusOr<spi::AppendOutcome>> before = acks->Taken();
  EXPECT_EQ(before.size(), static_cast<size_t>(kQueued)) << "answered by the time Close returns";
  for (const auto& r : before) EXPECT_EQ(Outcome(r), "stored");

  auto late = std::make_shared<Acks>();
  store_->AppendDelivery(Delivery("late"), Record(late));
  ASSERT_TRUE(late->WaitFor(1)) << "an append after Close is still answered";
  EXPECT_FALSE(late->Taken()[0].ok()) << Outcome(late->Taken()[0]);

  store_.reset();
  store_ = Open(dir_);
  ASSERT_NE(store_, nullptr);
  auto pending = store_->PendingDeliveries(0, 100);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ(pending->size(), static_cast<size_t>(kQueued));
  for (const auto& d : *pending) EXPECT_NE(d.delivery_key, "late");
}

// No prefix: the tests are StoreConformance.<behaviour>/<store>, one per case.
INSTANTIATE_TEST_SUITE_P(, StoreConformance, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace debrief
