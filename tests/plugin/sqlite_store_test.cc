#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <future>

#include "mocks/spi_mocks.h"

namespace debrief::store {
namespace {

using testing::FakeClock;
using testing::TempDir;

spi::StoredDelivery Delivery(const std::string& key, const std::string& body = "{}") {
  spi::StoredDelivery d;
  d.adapter_id = "support";
  d.delivery_key = key;
  d.body = body;
  d.headers["content-type"] = "application/json";
  d.received_at = absl::FromUnixSeconds(1795000000);
  return d;
}

absl::StatusOr<spi::AppendOutcome> Append(spi::Store& s, spi::StoredDelivery d) {
  std::promise<absl::StatusOr<spi::AppendOutcome>> p;
  s.AppendDelivery(std::move(d), [&](absl::StatusOr<spi::AppendOutcome> r) { p.set_value(r); });
  return p.get_future().get();
}

TEST(SqliteStore, AppendsDurablyAndDeduplicatesByDeliveryKey) {
  TempDir dir;
  FakeClock clock;
  auto store = OpenSqliteStore({.path = dir.file("d.db")}, clock);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(*Append(**store, Delivery("a", "one")), spi::AppendOutcome::kStored);
  EXPECT_EQ(*Append(**store, Delivery("a", "one again")), spi::AppendOutcome::kDuplicate);
  EXPECT_EQ(*Append(**store, Delivery("b", "two")), spi::AppendOutcome::kStored);
  store->reset();

  // Reopened: both deliveries are there, in order, with headers and bodies intact.
  auto again = OpenSqliteStore({.path = dir.file("d.db")}, clock);
  ASSERT_TRUE(again.ok());
  auto pending = (*again)->PendingDeliveries(0, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].body, "one");
  EXPECT_EQ((*pending)[0].headers.at("content-type"), "application/json");
  EXPECT_EQ((*pending)[1].body, "two");
  EXPECT_LT((*pending)[0].seq, (*pending)[1].seq);
}

// The random id the markers Debrief leaves in trackers and helpdesks carry (Loop::EffectKey).
TEST(SqliteStore, EachDatabaseHasItsOwnLastingInstallationId) {
  TempDir dir;
  FakeClock clock;
  auto id_of = [&](const std::string& file) {
    auto store = OpenSqliteStore({.path = dir.file(file)}, clock);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? testing::ReadCursor(**store, spi::kInstallationCursor) : std::string();
  };
  const std::string a = id_of("a.db");
  EXPECT_EQ(a.size(), 32u) << a;
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_EQ(id_of("a.db"), a) << "kept across restarts";
  EXPECT_NE(id_of("b.db"), a) << "another database, another installation";
}

TEST(SqliteStore, GroupCommitGathersConcurrentAppendsIntoFewTransactions) {
  TempDir dir;
  FakeClock clock;
  auto store = OpenSqliteStore(
      {.path = dir.file("d.db"), .commit_delay = absl::Milliseconds(20), .max_batch = 1000}, clock);
  ASSERT_TRUE(store.ok());
  std::atomic<int> stored{0};
  std::promise<void> all;
  constexpr int kN = 200;
  for (int i = 0; i < kN; ++i) {
    (*store)->AppendDelivery(Delivery("k" + std::to_string(i)), [&](auto r) {
      ASSERT_TRUE(r.ok());
      if (++stored == kN) all.set_value();
    });
  }
  all.get_future().wait();
  auto pending = (*store)->PendingDeliveries(0, 1000);
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->size(), static_cast<size_t>(kN));
}

TEST(SqliteStore, OnlyOneActiveTaskPerCategory) {
  TempDir dir;
  FakeClock clock;
  auto store = OpenSqliteStore({.path = dir.file("d.db")}, clock);
  ASSERT_TRUE(store.ok());
  v1::ImprovementTask t;
  t.set_category_id("billing");
  t.set_tracker_id("tasks");
  t.set_title("Root cause: billing");
  t.set_status(v1::TASK_PENDING_CREATE);
  ASSERT_TRUE((*store)
                  ->Transact([&](spi::StoreTransaction& tx) { return tx.InsertTask(t).status(); })
                  .ok());
  absl::Status second =
      (*store)->Transact([&](spi::StoreTransaction& tx) { return tx.InsertTask(t).status(); });
  EXPECT_TRUE(absl::IsAlreadyExists(second)) << second;
  // Once done, a new task for the category may open (a regression).
  ASSERT_TRUE((*store)
                  ->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
                    auto active = tx.ActiveTask("billing");
                    if (!active.ok()) return active.status();
                    (*active)->set_status(v1::TASK_DONE);
                    return tx.UpdateTask(**active);
                  })
                  .ok());
  EXPECT_TRUE((*store)
                  ->Transact([&](spi::StoreTransaction& tx) { return tx.InsertTask(t).status(); })
                  .ok());
}

TEST(SqliteStore, FailedTransactionRollsBackEverything) {
  TempDir dir;
  FakeClock clock;
  auto store = OpenSqliteStore({.path = dir.file("d.db")}, clock);
  ASSERT_TRUE(store.ok());
  spi::TicketRecord r;
  r.ticket.set_helpdesk_id("support");
  r.ticket.set_ticket_id("1");
  r.first_seen = clock.Now();
  absl::Status s = (*store)->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    if (auto st = tx.PutTicket(r); !st.ok()) return st;
    return absl::AbortedError("crash before commit");
  });
  EXPECT_TRUE(absl::IsAborted(s));
  ASSERT_TRUE((*store)
                  ->Read([&](spi::StoreTransaction& tx) -> absl::Status {
                    auto t = tx.GetTicket("support", "1");
                    EXPECT_TRUE(t.ok() && !t->has_value());
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST(SqliteStore, OutboxKeysAreIdempotentAndRetriesWaitUntilDue) {
  TempDir dir;
  FakeClock clock;
  auto store = OpenSqliteStore({.path = dir.file("d.db")}, clock);
  ASSERT_TRUE(store.ok());
  v1::OutboxAction a;
  a.mutable_create_task()->set_task_id(7);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE((*store)
                    ->Transact([&](spi::StoreTransaction& tx) {
                      return tx.Enqueue("create:7", a, clock.Now());
                    })
                    .ok());
  auto due = (*store)->DueActions(clock.Now(), 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  ASSERT_TRUE((*store)->RetryAction((*due)[0].id, clock.Now() + absl::Seconds(30), "503").ok());
  EXPECT_TRUE((*store)->DueActions(clock.Now(), 10)->empty());
  clock.Advance(absl::Seconds(31));
  due = (*store)->DueActions(clock.Now(), 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].attempts, 1);
  ASSERT_TRUE((*store)->CompleteActions({(*due)[0].id}).ok());
  EXPECT_TRUE((*store)->DueActions(clock.Now() + absl::Hours(1), 10)->empty());
}

TEST(SqliteStore, RefusesADatabaseFromANewerVersion) {
  TempDir dir;
  FakeClock clock;
  { ASSERT_TRUE(OpenSqliteStore({.path = dir.file("d.db")}, clock).ok()); }
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(dir.file("d.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "INSERT INTO schema_migrations VALUES(999, 0)", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  auto s = OpenSqliteStore({.path = dir.file("d.db")}, clock);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(s.status())) << s.status();
}

// Headers are kept as received: a Latin-1 value reads back byte for byte (a header that was
// not UTF-8 once made every later read of the inbox fail).
TEST(SqliteStore, KeepsHeadersThatAreNotUtf8) {
  TempDir dir;
  FakeClock clock;
  auto store = OpenSqliteStore({.path = dir.file("d.db")}, clock);
  ASSERT_TRUE(store.ok()) << store.status();
  spi::StoredDelivery d = Delivery("latin");
  d.headers["x-city"] = "Z\xfcrich";
  ASSERT_EQ(*Append(**store, d), spi::AppendOutcome::kStored);
  ASSERT_EQ(*Append(**store, Delivery("after")), spi::AppendOutcome::kStored);
  auto pending = (*store)->PendingDeliveries(0, 10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].headers.at("x-city"), "Z\xfcrich");
  EXPECT_TRUE((*pending)[0].unreadable.empty());
}

// A damaged row comes back marked unreadable, and the rows after it are read as ever.
TEST(SqliteStore, AnUnreadableDeliveryRowDoesNotStopTheRead) {
  TempDir dir;
  FakeClock clock;
  auto store = OpenSqliteStore({.path = dir.file("d.db")}, clock);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_EQ(*Append(**store, Delivery("a")), spi::AppendOutcome::kStored);
  ASSERT_EQ(*Append(**store, Delivery("b", "two")), spi::AppendOutcome::kStored);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("d.inbox.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE deliveries SET headers = x'0a05ff' WHERE delivery_key = 'a'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto pending = (*store)->PendingDeliveries(0, 10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_FALSE((*pending)[0].unreadable.empty());
  EXPECT_EQ((*pending)[0].delivery_key, "a");
  EXPECT_TRUE((*pending)[1].unreadable.empty());
  EXPECT_EQ((*pending)[1].body, "two");
}

// The same sending (replay key) under a new delivery id is a duplicate; deliveries without a
// replay key are told apart by their ids alone.
TEST(SqliteStore, ASendingSeenBeforeIsADuplicateWhateverItsDeliveryId) {
  TempDir dir;
  FakeClock clock;
  auto store = OpenSqliteStore({.path = dir.file("d.db")}, clock);
  ASSERT_TRUE(store.ok()) << store.status();
  spi::StoredDelivery first = Delivery("id-1");
  first.replay_key = "sig-1";
  spi::StoredDelivery replayed = Delivery("id-2");
  replayed.replay_key = "sig-1";
  EXPECT_EQ(*Append(**store, first), spi::AppendOutcome::kStored);
  EXPECT_EQ(*Append(**store, replayed), spi::AppendOutcome::kDuplicate);
  EXPECT_EQ(*Append(**store, Delivery("id-3")), spi::AppendOutcome::kStored);
  EXPECT_EQ(*Append(**store, Delivery("id-4")), spi::AppendOutcome::kStored);
  EXPECT_EQ((*store)->PendingDeliveries(0, 10)->size(), 3u);
}

// Failed attempts are counted per delivery; a dead letter is listed with its error and
// attempts, and an outcome recorded later (a replay) forgets the failures.
TEST(SqliteStore, CountsFailedAttemptsAndListsDeadLetters) {
  TempDir dir;
  FakeClock clock;
  auto store = OpenSqliteStore({.path = dir.file("d.db")}, clock);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_EQ(*Append(**store, Delivery("a")), spi::AppendOutcome::kStored);
  const int64_t seq = (*store)->PendingDeliveries(0, 1)->at(0).seq;
  for (int want = 1; want <= 3; ++want) {
    int got = 0;
    ASSERT_TRUE((*store)
                    ->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
                      auto n = tx.RecordDeliveryFailure(seq, "boom");
                      if (!n.ok()) return n.status();
                      got = *n;
                      return absl::OkStatus();
                    })
                    .ok());
    EXPECT_EQ(got, want);
  }
  ASSERT_TRUE((*store)
                  ->Transact([&](spi::StoreTransaction& tx) {
                    return tx.MarkDelivery(seq, spi::DeliveryState::kFailed, "gave up: boom");
                  })
                  .ok());
  auto dead = (*store)->ListDeadLetters(10);
  ASSERT_TRUE(dead.ok()) << dead.status();
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].seq, seq);
  EXPECT_EQ((*dead)[0].delivery_key, "a");
  EXPECT_EQ((*dead)[0].attempts, 3);
  EXPECT_EQ((*dead)[0].error, "gave up: boom");
  EXPECT_TRUE((*store)->PendingDeliveries(0, 10)->empty());
  ASSERT_TRUE((*store)
                  ->Transact([&](spi::StoreTransaction& tx) {
                    return tx.MarkDelivery(seq, spi::DeliveryState::kProcessed, "");
                  })
                  .ok());
  EXPECT_TRUE((*store)->ListDeadLetters(10)->empty());
  EXPECT_EQ((*store)->GetDelivery(seq)->delivery_key, "a");
  EXPECT_TRUE(absl::IsNotFound((*store)->GetDelivery(seq + 1).status()));
}

}  // namespace
}  // namespace debrief::store
