// What is SQLite's own in the embedded store: the schema's versions, the inbox file beside the
// database, the group commit. Everything the Store interface promises is in the conformance
// suite (store_conformance_test.cc), which this store runs too.
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

}  // namespace
}  // namespace debrief::store
