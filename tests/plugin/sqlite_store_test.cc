// What is SQLite's own in the embedded store: the schema's versions, the inbox file beside the
// database, the group commit. Everything the Store interface promises is in the conformance
// suite (store_conformance_test.cc), which this store runs too.
#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/time_util.h"
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

// Outcomes of appends, gathered on the commit thread and asserted on by the test afterwards.
// Shared with the callbacks, so one that comes after a failed wait writes into live memory.
struct Acks {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<absl::StatusOr<spi::AppendOutcome>> outcomes;

  // False if fewer than n outcomes came within 30 s: the test fails instead of hanging.
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, std::chrono::seconds(30), [&] { return outcomes.size() >= n; });
  }
  std::vector<absl::StatusOr<spi::AppendOutcome>> Taken() {
    std::lock_guard<std::mutex> l(mu);
    return outcomes;
  }
};

std::function<void(absl::StatusOr<spi::AppendOutcome>)> Record(std::shared_ptr<Acks> acks) {
  return [acks](absl::StatusOr<spi::AppendOutcome> r) {
    std::lock_guard<std::mutex> l(acks->mu);
    acks->outcomes.push_back(std::move(r));
    acks->cv.notify_all();
  };
}

// True once the store acknowledges the delivery as newly stored.
bool Stored(spi::Store& s, spi::StoredDelivery d) {
  auto acks = std::make_shared<Acks>();
  s.AppendDelivery(std::move(d), Record(acks));
  if (!acks->WaitFor(1)) return false;
  const absl::StatusOr<spi::AppendOutcome> r = acks->Taken()[0];
  return r.ok() && *r == spi::AppendOutcome::kStored;
}

// SQLite's own count of the write transactions committed to the inbox, read from its file
// with no hook in the store: the iChange field of the wal-index header, "incremented with each
// transaction" (https://www.sqlite.org/walformat.html, 2.2.1). The header is the first 48
// bytes of the "-shm" file beside the WAL, in native byte order, and is kept twice; the two
// copies agree whenever no commit is under way.
absl::StatusOr<uint32_t> InboxTransactions(const std::string& db_path) {
  std::ifstream shm(InboxPath(db_path) + "-shm", std::ios::binary);
  char header[96];
  if (!shm.read(header, sizeof(header)))
    return absl::NotFoundError("the inbox has no wal-index (not in WAL mode?)");
  if (std::memcmp(header, header + 48, 48) != 0)
    return absl::UnavailableError("the wal-index header is being written");
  uint32_t version = 0, changes = 0;
  std::memcpy(&version, header, sizeof(version));
  std::memcpy(&changes, header + 8, sizeof(changes));
  if (version != 3007000 || header[12] != 1)
    return absl::FailedPreconditionError(absl::StrCat("unknown wal-index version ", version));
  return changes;
}

// Webhooks that arrive together share a transaction: one fsync acknowledges many of them.
// Eight threads append at once; every append is acknowledged, and SQLite's own counter shows
// how many transactions carried them.
TEST(SqliteStore, GroupCommitGathersConcurrentAppendsIntoFewTransactions) {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.file("d.db");
  constexpr int kMaxBatch = 500;
  auto store = OpenSqliteStore(
      {.path = path, .commit_delay = absl::Milliseconds(20), .max_batch = kMaxBatch}, clock);
  ASSERT_TRUE(store.ok()) << store.status();
  auto before = InboxTransactions(path);
  ASSERT_TRUE(before.ok()) << before.status();

  constexpr int kThreads = 8;
  constexpr int kEach = 200;
  constexpr int kN = kThreads * kEach;
  auto acks = std::make_shared<Acks>();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        (*store)->AppendDelivery(Delivery(absl::StrCat("t", t, "-", i)), Record(acks));
    });
  for (auto& th : threads) th.join();
  ASSERT_TRUE(acks->WaitFor(kN)) << acks->Taken().size() << " of " << kN << " acknowledged";
  int stored = 0;
  for (const auto& r : acks->Taken()) {
    EXPECT_TRUE(r.ok()) << r.status();
    stored += r.ok() && *r == spi::AppendOutcome::kStored;
  }
  EXPECT_EQ(stored, kN);

  auto after = InboxTransactions(path);
  ASSERT_TRUE(after.ok()) << after.status();
  const uint32_t transactions = *after - *before;
  RecordProperty("inbox_transactions", static_cast<int>(transactions));
  // At most max_batch deliveries go in one transaction, so there are at least kN / max_batch;
  // one per delivery (no group commit) would be kN.
  EXPECT_GE(transactions, static_cast<uint32_t>((kN + kMaxBatch - 1) / kMaxBatch));
  EXPECT_LE(transactions, static_cast<uint32_t>(kN / 20))
      << transactions << " transactions for " << kN << " deliveries";
  auto pending = (*store)->PendingDeliveries(0, 2 * kN);
  ASSERT_TRUE(pending.ok()) << pending.status();
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

// A damaged database at start (a full disk, a bad copy, a stray `> debrief.db`) is refused with
// the file's name and what to do, and left as it is: never opened as a new, empty database.
TEST(SqliteStore, ADamagedDatabaseIsRefusedWithWhatToDoAndNeverReplaced) {
  TempDir made;
  FakeClock clock;
  {
    auto s = OpenSqliteStore({.path = made.file("d.db")}, clock);
    ASSERT_TRUE(s.ok()) << s.status();
    auto acks = std::make_shared<Acks>();
    const std::string body(2000, 'x');
    for (int i = 0; i < 200; ++i)
      (*s)->AppendDelivery(Delivery(absl::StrCat("k", i), body), Record(acks));
    ASSERT_TRUE(acks->WaitFor(200));
    for (int i = 0; i < 200; ++i)
      ASSERT_TRUE((*s)->Transact([&](spi::StoreTransaction& tx) {
                        return tx.PutCursor(absl::StrCat("c", i), std::string(3000, 'y'));
                      })
                      .ok());
    (*s)->Close();
  }
  auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string db = read(made.file("d.db")), inbox = read(made.file("d.inbox.db"));
  ASSERT_GT(db.size(), 100000u);
  ASSERT_GT(inbox.size(), 100000u);

  struct Case {
    std::string name;
    std::string db, inbox;  // the files' bytes; "-" for no file
    std::string file;       // the file the error must name
    std::string says;
  };
  std::string garbage(8192, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 7919 % 251);
  const std::vector<Case> cases = {
      {"empty", "", inbox, "d.db", "is empty (0 bytes)"},
      {"not SQLite", garbage, inbox, "d.db", "is not a SQLite database"},
      {"header only", db.substr(0, 60), inbox, "d.db", "is truncated (60 bytes)"},
      {"truncated", db.substr(0, db.size() / 2), inbox, "d.db", "is truncated:"},
      {"missing", "-", inbox, "d.db", "is missing while its inbox"},
      {"inbox truncated", db, inbox.substr(0, inbox.size() / 3), "d.inbox.db", "is truncated:"},
      {"damaged page", db.substr(0, 4096) + garbage + db.substr(4096 + garbage.size()), inbox,
       "d.db", "is damaged"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    if (c.db != "-") std::ofstream(dir.file("d.db"), std::ios::binary) << c.db;
    std::ofstream(dir.file("d.inbox.db"), std::ios::binary) << c.inbox;
    auto s = OpenSqliteStore({.path = dir.file("d.db")}, clock);
    ASSERT_FALSE(s.ok());
    EXPECT_TRUE(absl::IsDataLoss(s.status())) << s.status();
    const std::string message(s.status().message());
    EXPECT_EQ(message.rfind(dir.file(c.file) + " " + c.says, 0), 0u) << message;
    EXPECT_NE(message.find("restore it from a backup"), std::string::npos) << message;
    // Left exactly as it was: no new database in its place.
    if (c.db == "-")
      EXPECT_FALSE(std::ifstream(dir.file("d.db")).good());
    else
      EXPECT_EQ(read(dir.file("d.db")), c.db);
    EXPECT_EQ(read(dir.file("d.inbox.db")), c.inbox);
  }
}

// kill -9 during a checkpoint leaves a file shorter than its header says (SQLite writes page 1,
// the header, before the pages after it) while the write-ahead log still holds every page: no
// damage. SQLite finishes the checkpoint on open and every acknowledged delivery is there. (The
// kill -9 drill found debriefd refusing to start on such an inbox as "truncated".)
TEST(SqliteStore, ACheckpointCutShortByACrashIsFinishedOnOpen) {
  TempDir made, crashed;
  FakeClock clock;
  auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  auto s = OpenSqliteStore({.path = made.file("d.db")}, clock);
  ASSERT_TRUE(s.ok()) << s.status();
  auto acks = std::make_shared<Acks>();
  for (int i = 0; i < 200; ++i)
    (*s)->AppendDelivery(Delivery(absl::StrCat("k", i), std::string(2000, 'x')), Record(acks));
  ASSERT_TRUE(acks->WaitFor(200));
  // The files as a crash leaves them, the store still open.
  for (const char* f : {"d.db", "d.db-wal", "d.inbox.db", "d.inbox.db-wal"})
    std::ofstream(crashed.file(f), std::ios::binary) << read(made.file(f));
  // The checkpoint that was under way wrote page 1 from the log, and no page after it.
  const std::string wal = read(crashed.file("d.inbox.db-wal"));
  ASSERT_GT(wal.size(), 32u);
  auto be32 = [&](size_t at) {
    return uint32_t{static_cast<unsigned char>(wal[at])} << 24 |
           uint32_t{static_cast<unsigned char>(wal[at + 1])} << 16 |
           uint32_t{static_cast<unsigned char>(wal[at + 2])} << 8 |
           uint32_t{static_cast<unsigned char>(wal[at + 3])};
  };
  const size_t page = be32(8);
  std::string page1;
  for (size_t at = 32; at + 24 + page <= wal.size(); at += 24 + page)
    if (be32(at) == 1) page1 = wal.substr(at + 24, page);
  ASSERT_EQ(page1.size(), page);
  std::string inbox = read(crashed.file("d.inbox.db"));
  if (inbox.size() < page) inbox.resize(page);
  inbox.replace(0, page, page1);
  std::ofstream(crashed.file("d.inbox.db"), std::ios::binary | std::ios::trunc) << inbox;
  (*s)->Close();

  auto reopened = OpenSqliteStore({.path = crashed.file("d.db")}, clock);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  auto pending = (*reopened)->PendingDeliveries(0, 1000);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ(pending->size(), 200u);
}

// Takes a database back to before schema 14 (no shipped status, release or ship date).
constexpr char kBeforeShipped[] =
    "DROP TABLE leases; DROP TABLE taxonomy_versions; "
    "DROP INDEX tasks_done; "
    "ALTER TABLE tasks DROP COLUMN shipped_at; "
    "ALTER TABLE tasks DROP COLUMN release; "
    "ALTER TABLE task_status_changes DROP COLUMN release; "
    "CREATE INDEX tasks_done ON tasks(category_id, done_at) WHERE status = 4; ";

// A database from before links carried their ticket's customer (schema 8), before the counts
// were kept (schema 10) and before the weekly cause counts (schema 12) is brought up to date on
// open: its tasks' counts are what they were.
TEST(SqliteStore, UpgradingKeepsTheTasksCounts) {
  TempDir dir;
  FakeClock clock;
  int64_t task = 0;
  {
    auto store = OpenSqliteStore({.path = dir.file("d.db")}, clock);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)
                    ->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
                      v1::ImprovementTask t;
                      t.set_category_id("billing");
                      t.set_tracker_id("tasks");
                      t.set_status(v1::TASK_OPEN);
                      auto id = tx.InsertTask(t);
                      if (!id.ok()) return id.status();
                      task = *id;
                      for (const char* id : {"1", "2", "3"}) {
                        spi::TicketRecord r;
                        r.ticket.set_helpdesk_id("support");
                        r.ticket.set_ticket_id(id);
                        r.ticket.mutable_requester()->set_id(std::string(id) == "3" ? "1" : id);
                        r.first_seen = clock.Now();
                        r.classification.emplace().set_category_id("billing");
                        v1::TaskLink l;
                        l.set_helpdesk_id("support");
                        l.set_ticket_id(id);
                        l.set_task_id(task);
                        if (auto s = tx.PutTicket(r); !s.ok()) return s;
                        if (auto s = tx.PutLink(l); !s.ok()) return s;
                      }
                      return absl::OkStatus();
                    })
                    .ok());
    (*store)->Close();
  }
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(dir.file("d.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(
          db,
          absl::StrCat(kBeforeShipped,
                       "DROP TRIGGER task_links_count_insert; "
                       "DROP TRIGGER task_links_count_delete; "
                       "DROP TRIGGER task_links_count_update; "
                       "DROP TABLE audit; DROP INDEX outbox_dead; "
                       "DROP TABLE task_counts; DROP TABLE task_customers; "
                       "DROP INDEX task_links_span; DROP TABLE people; "
                       "DROP TRIGGER tickets_cause_insert; DROP TRIGGER tickets_cause_leave; "
                       "DROP TRIGGER tickets_cause_enter; DROP TRIGGER tickets_cause_delete; "
                       "DROP TABLE cause_weeks; DROP INDEX tickets_by_category; "
                       "ALTER TABLE tickets DROP COLUMN assignee; "
                       "CREATE INDEX tickets_by_category ON tickets(category_id, first_seen); "
                       "ALTER TABLE outbox DROP COLUMN done_at; "
                       "ALTER TABLE task_links DROP COLUMN customer; "
                       "ALTER TABLE task_links DROP COLUMN first_seen; "
                       "DELETE FROM schema_migrations WHERE version >= 9;")
              .c_str(),
          nullptr, nullptr, nullptr),
      SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  auto store = OpenSqliteStore({.path = dir.file("d.db")}, clock);
  ASSERT_TRUE(store.ok()) << store.status();
  std::optional<v1::ImprovementTask> got;
  std::vector<spi::CauseWeek> weeks;
  ASSERT_TRUE((*store)
                  ->Read([&](spi::StoreTransaction& tx) -> absl::Status {
                    auto t = tx.GetTask(task);
                    if (!t.ok()) return t.status();
                    got = *t;
                    const int64_t w = spi::WeekOf(clock.Now());
                    auto c = tx.CauseWeeks("", w, w + 1);
                    if (!c.ok()) return c.status();
                    weeks = *c;
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_EQ(weeks.size(), 1u) << "the weeks of the tickets already there are counted";
  EXPECT_EQ(weeks[0].category_id, "billing");
  EXPECT_EQ(weeks[0].tickets, 3);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->ticket_count(), 3);
  EXPECT_EQ(got->customer_count(), 2) << "tickets 1 and 3 have the same requester";
  EXPECT_TRUE(got->has_first_seen());
}

// A task done before Debrief told shipped from done (schema 13) told its tickets at done: on
// upgrade it is shipped, on its done day, and stays finished.
TEST(SqliteStore, UpgradingShipsTheTasksDoneBefore) {
  TempDir dir;
  FakeClock clock;
  int64_t done = 0, open = 0;
  const absl::Time day = clock.Now() - absl::Hours(24 * 3);
  {
    auto store = OpenSqliteStore({.path = dir.file("d.db")}, clock);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)
                    ->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
                      v1::ImprovementTask t;
                      t.set_category_id("billing");
                      t.set_tracker_id("tasks");
                      t.set_status(v1::TASK_OPEN);
                      auto id = tx.InsertTask(t);
                      if (!id.ok()) return id.status();
                      done = *id;
                      t.set_id(done);
                      t.set_status(v1::TASK_DONE);
                      base::SetTimestamp(t.mutable_done_at(), day);
                      if (auto s = tx.UpdateTask(t); !s.ok()) return s;
                      t.clear_id();
                      t.clear_done_at();
                      t.set_status(v1::TASK_OPEN);
                      auto other = tx.InsertTask(t);
                      if (!other.ok()) return other.status();
                      open = *other;
                      return absl::OkStatus();
                    })
                    .ok());
    (*store)->Close();
  }
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(dir.file("d.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(
                db,
                absl::StrCat("UPDATE tasks SET status = 4, shipped_at = NULL "
                             "WHERE status = 6; ",
                             kBeforeShipped, "DELETE FROM schema_migrations WHERE version >= 14;")
                    .c_str(),
                nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  auto store = OpenSqliteStore({.path = dir.file("d.db")}, clock);
  ASSERT_TRUE(store.ok()) << store.status();
  std::optional<v1::ImprovementTask> a, b, last;
  ASSERT_TRUE((*store)
                  ->Read([&](spi::StoreTransaction& tx) -> absl::Status {
                    a = *tx.GetTask(done);
                    b = *tx.GetTask(open);
                    last = *tx.LastDoneTask("billing");
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->status(), v1::TASK_SHIPPED);
  EXPECT_EQ(base::FromTimestamp(a->shipped_at()), day);
  EXPECT_EQ(a->release(), "");
  EXPECT_EQ(b->status(), v1::TASK_OPEN);
  EXPECT_FALSE(b->has_shipped_at());
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->id(), done);
}

// A damaged row comes back marked unreadable, and the rows after it are read as ever.
TEST(SqliteStore, AnUnreadableDeliveryRowDoesNotStopTheRead) {
  TempDir dir;
  FakeClock clock;
  auto store = OpenSqliteStore({.path = dir.file("d.db")}, clock);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(Stored(**store, Delivery("a")));
  ASSERT_TRUE(Stored(**store, Delivery("b", "two")));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(InboxPath(dir.file("d.db")).c_str(), &db), SQLITE_OK);
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
