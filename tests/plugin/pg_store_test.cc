// What only the PostgreSQL store meets (the Store conformance suite covers what both do): a
// server that drops its connections, a schema from a newer debriefd, a database whose defaults
// would weaken what the store promises.
#include "store/pg_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "mocks/spi_mocks.h"
#include "pg/test_postgres.h"

namespace debrief {
namespace {

using testing::FakeClock;

// Runs SQL on its own connection to the database; fails the test when it fails.
void Sql(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  PGresult* r = PQexec(c, sql.c_str());
  EXPECT_TRUE(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
      << sql << ": " << PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
}

// The single integer `sql` answers, on a connection of its own.
int64_t Count(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  int64_t n = -1;
  if (PQstatus(c) == CONNECTION_OK) {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
      n = std::stoll(PQgetvalue(r, 0, 0));
    PQclear(r);
  }
  PQfinish(c);
  return n;
}

// Every connection the store holds to `conninfo`'s database ends, as at a server restart or a
// failover.
void DropConnections(const std::string& conninfo) {
  Sql(conninfo,
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE datname = current_database() AND pid <> pg_backend_pid()");
}

spi::TicketRecord Ticket(const std::string& id, absl::Time at) {
  spi::TicketRecord r;
  r.ticket.set_helpdesk_id("support");
  r.ticket.set_ticket_id(id);
  r.ticket.set_subject("Charged twice");
  r.first_seen = at;
  return r;
}

absl::Status Put(spi::Store& store, const spi::TicketRecord& r) {
  return store.Transact([&](spi::StoreTransaction& tx) { return tx.PutTicket(r); });
}

bool Has(spi::Store& store, const std::string& id) {
  bool found = false;
  EXPECT_TRUE(store
                  .Read([&](spi::StoreTransaction& tx) -> absl::Status {
                    auto t = tx.GetTicket("support", id);
                    if (!t.ok()) return t.status();
                    found = t->has_value();
                    return absl::OkStatus();
                  })
                  .ok());
  return found;
}

class PgStore : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conninfo = testing::FreshPostgresDatabase("pg_store");
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    conninfo_ = *conninfo;
  }
  std::unique_ptr<spi::Store> Open() {
    auto s = store::OpenPostgresStore({.conninfo = conninfo_, .read_connections = 1}, clock_);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  std::string conninfo_;
  FakeClock clock_;
};

TEST_F(PgStore, AConnectionTheServerDroppedIsMadeAgainOnItsNextUse) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Put(*store, Ticket("1", clock_.Now())).ok());
  DropConnections(conninfo_);
  // Each connection learns of the loss at its next use, connects again and goes on: the
  // callers see nothing of it.
  EXPECT_TRUE(Has(*store, "1"));
  ASSERT_TRUE(Put(*store, Ticket("2", clock_.Now())).ok());
  EXPECT_TRUE(Has(*store, "2"));
}

TEST_F(PgStore, AConnectionLostInsideATransactionFailsItAndWritesNothing) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  absl::Status s = store->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    if (auto put = tx.PutTicket(Ticket("half", clock_.Now())); !put.ok()) return put;
    DropConnections(conninfo_);
    // Not run on a new connection outside the transaction: it fails, and so does the whole.
    return tx.PutTicket(Ticket("rest", clock_.Now()));
  });
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  ASSERT_TRUE(Put(*store, Ticket("later", clock_.Now())).ok()) << "the next transaction works";
  EXPECT_FALSE(Has(*store, "half"));
  EXPECT_FALSE(Has(*store, "rest"));
  EXPECT_TRUE(Has(*store, "later"));
}

TEST_F(PgStore, ASchemaNewerThanThisDebriefdIsRefused) {
  ASSERT_NE(Open(), nullptr);
  Sql(conninfo_, "INSERT INTO schema_migrations VALUES (999, 0)");
  auto s = store::OpenPostgresStore({.conninfo = conninfo_}, clock_);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(s.status())) << s.status();
  EXPECT_NE(s.status().message().find("newer than this debriefd"), std::string::npos) << s.status();
}

// A database set to answer bytea in the old escape form, and to acknowledge commits before
// they are on disk: the store's own session settings win, and raw bytes read back as sent.
TEST_F(PgStore, TheDatabasesDefaultsDoNotChangeWhatTheStorePromises) {
  Sql(conninfo_,
      "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET bytea_output = ''escape''', "
      "current_database()); EXECUTE format('ALTER DATABASE %I SET synchronous_commit = off', "
      "current_database()); END $$");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  spi::StoredDelivery d;
  d.adapter_id = "support";
  static constexpr char kKey[] = "k\xff\0k";
  static constexpr char kBody[] = "\x00\x01\xfe body \\x41";
  d.delivery_key = std::string(kKey, sizeof kKey - 1);
  d.body = std::string(kBody, sizeof kBody - 1);
  d.received_at = clock_.Now();
  absl::Notification done;
  absl::StatusOr<spi::AppendOutcome> outcome = absl::UnknownError("never answered");
  store->AppendDelivery(d, [&](absl::StatusOr<spi::AppendOutcome> o) {
    outcome = o;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  auto pending = store->PendingDeliveries(0, 10);
  ASSERT_TRUE(pending.ok() && pending->size() == 1u) << pending.status();
  EXPECT_EQ((*pending)[0].delivery_key, d.delivery_key);
  EXPECT_EQ((*pending)[0].body, d.body);
  EXPECT_TRUE((*pending)[0].unreadable.empty());
}

// --- Replicas on one database ------------------------------------------------------------------

absl::StatusOr<spi::AppendOutcome> AppendKey(spi::Store& store, const std::string& key,
                                             absl::Time at) {
  spi::StoredDelivery d;
  d.adapter_id = "support";
  d.delivery_key = key;
  d.body = "{}";
  d.received_at = at;
  absl::Notification done;
  absl::StatusOr<spi::AppendOutcome> outcome = absl::UnknownError("never answered");
  store.AppendDelivery(d, [&](absl::StatusOr<spi::AppendOutcome> o) {
    outcome = o;
    done.Notify();
  });
  if (!done.WaitForNotificationWithTimeout(absl::Seconds(30)))
    return absl::DeadlineExceededError("not acknowledged");
  return outcome;
}

std::vector<std::string> PendingKeys(spi::Store& store, int64_t after, int limit) {
  std::vector<std::string> keys;
  auto pending = store.PendingDeliveries(after, limit);
  EXPECT_TRUE(pending.ok()) << pending.status();
  if (pending.ok())
    for (const auto& d : *pending) keys.push_back(d.delivery_key);
  return keys;
}

TEST_F(PgStore, ReplicasClaimDifferentDeliveriesAndALapsedClaimIsTakenOver) {
  auto a = store::OpenPostgresStore(
      {.conninfo = conninfo_, .read_connections = 1, .replica = "a", .claim = absl::Seconds(30)},
      clock_);
  auto b = store::OpenPostgresStore(
      {.conninfo = conninfo_, .read_connections = 1, .replica = "b", .claim = absl::Seconds(30)},
      clock_);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  for (const char* k : {"1", "2", "3", "4", "5"})
    ASSERT_TRUE(AppendKey(**a, k, clock_.Now()).ok()) << k;
  EXPECT_THAT(PendingKeys(**a, 0, 3), ::testing::ElementsAre("1", "2", "3"));
  // The other replica passes over what the first holds.
  EXPECT_THAT(PendingKeys(**b, 0, 10), ::testing::ElementsAre("4", "5"));
  EXPECT_THAT(PendingKeys(**a, 0, 10), ::testing::ElementsAre("1", "2", "3"));
  // The backlog counts every waiting delivery, claimed or not.
  auto backlog = (*b)->Backlog();
  ASSERT_TRUE(backlog.ok()) << backlog.status();
  EXPECT_EQ(backlog->pending, 5);
  // The first replica is gone quiet for longer than its claims last: the other takes them.
  clock_.Advance(absl::Seconds(31));
  EXPECT_THAT(PendingKeys(**b, 0, 10), ::testing::ElementsAre("1", "2", "3", "4", "5"));
  EXPECT_THAT(PendingKeys(**a, 0, 10), ::testing::IsEmpty());
}

TEST_F(PgStore, AReplicaThatClosesLeavesItsClaimsToTheOthersAtOnce) {
  auto b = store::OpenPostgresStore({.conninfo = conninfo_, .read_connections = 1}, clock_);
  ASSERT_TRUE(b.ok()) << b.status();
  {
    auto a = Open();
    ASSERT_NE(a, nullptr);
    ASSERT_TRUE(AppendKey(*a, "1", clock_.Now()).ok());
    EXPECT_THAT(PendingKeys(*a, 0, 10), ::testing::ElementsAre("1"));
    EXPECT_THAT(PendingKeys(**b, 0, 10), ::testing::IsEmpty());
  }
  EXPECT_THAT(PendingKeys(**b, 0, 10), ::testing::ElementsAre("1"));
}

TEST_F(PgStore, AnotherReplicasDeliveryWakesThisOnesPipeline) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a != nullptr && b != nullptr);
  std::atomic<int> wakes{0};
  b->SetDeliveryListener([&] { ++wakes; });
  // Once it listens: each store has a connection listening (the helper's own is not counted).
  for (int i = 0; i < 200 && Count(conninfo_,
                                   "SELECT count(*) FROM pg_stat_activity WHERE "
                                   "datname = current_database() AND query = 'LISTEN "
                                   "debrief_inbox'") < 1;
       ++i)
    absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(wakes.load(), 0) << "woken before anything arrived";
  ASSERT_TRUE(AppendKey(*a, "1", clock_.Now()).ok());
  for (int i = 0; i < 200 && wakes == 0; ++i) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_GT(wakes.load(), 0) << "a delivery stored by another replica woke nothing";
}

// Two replicas' transactions run one after the other: the second sees what the first committed
// while it waited, so a read-then-write never works from a state another replica changed.
TEST_F(PgStore, ReplicasTransactionsRunOneAtATimeAndSeeEachOthersCommits) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a != nullptr && b != nullptr);
  absl::Notification a_inside;
  std::thread first([&] {
    EXPECT_TRUE(a->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
                   if (auto s = tx.PutTicket(Ticket("from-a", clock_.Now())); !s.ok()) return s;
                   a_inside.Notify();
                   absl::SleepFor(absl::Milliseconds(300));
                   return absl::OkStatus();
                 }).ok());
  });
  a_inside.WaitForNotification();
  bool seen = false;
  EXPECT_TRUE(b->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
                 auto t = tx.GetTicket("support", "from-a");
                 if (!t.ok()) return t.status();
                 seen = t->has_value();
                 return absl::OkStatus();
               }).ok());
  first.join();
  EXPECT_TRUE(seen) << "the second transaction ran before the first committed";
}

TEST_F(PgStore, AnUnreachableServerIsAClearErrorWithoutThePassword) {
  auto s = store::OpenPostgresStore(
      {.conninfo = "host=/nonexistent-debrief-socket dbname=debrief connect_timeout=2",
       .password = "hunter2-secret"},
      clock_);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsUnavailable(s.status())) << s.status();
  EXPECT_NE(s.status().message().find("cannot connect to PostgreSQL"), std::string::npos);
  EXPECT_EQ(s.status().message().find("hunter2"), std::string::npos) << s.status();
}

}  // namespace
}  // namespace debrief
