#include "store/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "base/time_util.h"
#include "sqlite/sqlite.h"
#include "store/group_commit.h"
#include "store/person_key.h"
#include "store/sqlite_schema.h"
#include "store/sqlite_transaction.h"

namespace debrief::store {
namespace {

using spi::AppendOutcome;
using spi::DeliveryState;
using spi::StoredDelivery;
using sqlite::Exec;
using sqlite::OpenConnection;
using sqlite::ResetAll;
using sqlite::Stmt;

}  // namespace

class SqliteStore final : public spi::Store {
 public:
  SqliteStore(const SqliteOptions& options, const spi::Clock& clock, sqlite3* write_db,
              sqlite3* read_db, std::vector<sqlite3*> reader_dbs, sqlite3* inbox_db,
              sqlite3* inbox_read_db, const std::string& installation)
      : options_(options),
        clock_(clock),
        write_db_{write_db},
        read_db_{read_db},
        inbox_db_{inbox_db},
        inbox_read_db_{inbox_read_db},
        write_(SqliteTransaction::Make(write_db, clock, installation)),
        // A conflict on either key (the delivery id, or the replay key of a sending seen
        // before) makes the delivery a duplicate.
        insert_delivery_(inbox_db,
                         "INSERT INTO deliveries(adapter_id, delivery_key, received_at, headers, "
                         "body, replay_key) VALUES(?,?,?,?,?,?) ON CONFLICT DO NOTHING"),
        pending_(inbox_read_db,
                 "SELECT seq, adapter_id, delivery_key, received_at, headers, body FROM "
                 "deliveries WHERE seq>? ORDER BY seq LIMIT ?"),
        one_delivery_(inbox_read_db,
                      "SELECT seq, adapter_id, delivery_key, received_at, headers, body FROM "
                      "deliveries WHERE seq=?"),
        dead_letters_(read_db,
                      "SELECT o.seq, o.note, o.processed_at, COALESCE(f.attempts, 1) "
                      "FROM delivery_outcomes o LEFT JOIN delivery_failures f ON f.seq = o.seq "
                      "WHERE o.state = 3 ORDER BY o.seq DESC LIMIT ?"),
        processed_floor_(read_db, "SELECT COALESCE(MAX(seq), 0) FROM delivery_outcomes"),
        backlog_(inbox_read_db, "SELECT COUNT(*), MIN(received_at) FROM deliveries WHERE seq > ?"),
        due_(write_db,
             "SELECT id, key, action, attempts FROM outbox WHERE state=0 AND due_at<=? "
             "ORDER BY due_at, id LIMIT ?"),
        complete_(write_db, "UPDATE outbox SET state=1, attempts=attempts+1, done_at=? WHERE id=?"),
        retry_(write_db,
               "UPDATE outbox SET due_at=?, last_error=?, attempts=attempts+1 WHERE id=?"),
        dead_(write_db, "UPDATE outbox SET state=2, last_error=?, attempts=attempts+1 WHERE id=?") {
    for (sqlite3* db : reader_dbs) {
      auto& r = readers_.emplace_back(std::make_unique<Reader>(db));
      r->tx = SqliteTransaction::Make(db, clock, installation);
      idle_readers_.push_back(r.get());
    }
  }

  ~SqliteStore() override { Close(); }

  absl::Status PrepareStatus() const {
    for (const Stmt* s : {&insert_delivery_, &pending_, &one_delivery_, &dead_letters_,
                          &processed_floor_, &backlog_, &due_, &complete_, &retry_, &dead_})
      if (!s->status().ok()) return s->status();
    if (auto s = write_->PrepareStatus(); !s.ok()) return s;
    for (const auto& r : readers_)
      if (auto s = r->tx->PrepareStatus(); !s.ok()) return s;
    return absl::OkStatus();
  }

  // spi::Store
  void AppendDelivery(StoredDelivery d,
                      std::function<void(absl::StatusOr<AppendOutcome>)> done) override {
    inbox_.Append(std::move(d), std::move(done));
  }

  // The highest seq with an outcome: every delivery up to it has one.
  absl::StatusOr<int64_t> ProcessedFloor() {
    std::lock_guard<std::mutex> l(read_mu_);
    auto& f = processed_floor_.Reset();
    auto row = f.Step();
    absl::StatusOr<int64_t> floor = row.ok() ? absl::StatusOr<int64_t>(f.Int(0)) : row.status();
    ResetAll(read_db_.db);
    return floor;
  }

  absl::StatusOr<std::vector<StoredDelivery>> PendingDeliveries(int64_t after_seq,
                                                                int limit) override {
    // Batches are processed in seq order and each commits with its outcomes, so the processed
    // deliveries are always a prefix: everything up to the largest recorded outcome.
    auto floor = ProcessedFloor();
    if (!floor.ok()) return floor.status();
    // Its own connection: reading a batch never holds up the group commit (WAL readers and the
    // writer do not wait for each other).
    std::lock_guard<std::mutex> l(inbox_read_mu_);
    auto& s = pending_.Reset().Bind(std::max(after_seq, *floor)).Bind(int64_t{limit});
    std::vector<StoredDelivery> out;
    absl::Status status;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) {
        status = row.status();
        break;
      }
      if (!*row) break;
      out.push_back(DeliveryFromRow(s));
    }
    ResetAll(inbox_read_db_.db);
    if (!status.ok()) return status;
    return out;
  }

  absl::StatusOr<spi::InboxBacklog> Backlog() override {
    // Outcomes are a prefix of the inbox (PendingDeliveries): what lies past the floor waits.
    auto floor = ProcessedFloor();
    if (!floor.ok()) return floor.status();
    std::lock_guard<std::mutex> l(inbox_read_mu_);
    auto& s = backlog_.Reset().Bind(*floor);
    auto row = s.Step();
    absl::StatusOr<spi::InboxBacklog> out = absl::UnknownError("not read");
    if (!row.ok()) {
      out = row.status();
    } else {
      spi::InboxBacklog b;
      b.pending = s.Int(0);
      if (b.pending > 0) b.oldest = FromMicros(s.Int(1));
      out = b;
    }
    ResetAll(inbox_read_db_.db);
    return out;
  }

  absl::StatusOr<StoredDelivery> GetDelivery(int64_t seq) override {
    std::lock_guard<std::mutex> l(inbox_read_mu_);
    auto& s = one_delivery_.Reset().Bind(seq);
    auto row = s.Step();
    absl::StatusOr<StoredDelivery> out =
        !row.ok() ? absl::StatusOr<StoredDelivery>(row.status())
        : !*row
            ? absl::StatusOr<StoredDelivery>(absl::NotFoundError(absl::StrCat("no delivery ", seq)))
            : DeliveryFromRow(s);
    ResetAll(inbox_read_db_.db);
    return out;
  }

  absl::StatusOr<std::vector<spi::DeadLetter>> ListDeadLetters(int limit) override {
    std::vector<spi::DeadLetter> out;
    {
      std::lock_guard<std::mutex> l(read_mu_);
      auto& s = dead_letters_.Reset().Bind(int64_t{limit});
      absl::Status status;
      while (true) {
        auto row = s.Step();
        if (!row.ok()) {
          status = row.status();
          break;
        }
        if (!*row) break;
        spi::DeadLetter& d = out.emplace_back();
        d.seq = s.Int(0);
        d.error = s.Text(1);
        d.failed_at = FromMicros(s.Int(2));
        d.attempts = static_cast<int>(s.Int(3));
      }
      ResetAll(read_db_.db);
      if (!status.ok()) return status;
    }
    for (spi::DeadLetter& d : out) {
      auto delivery = GetDelivery(d.seq);
      if (!delivery.ok()) continue;  // the row is what failed: its outcome is what there is
      d.adapter_id = delivery->adapter_id;
      d.delivery_key = delivery->delivery_key;
      d.received_at = delivery->received_at;
    }
    return out;
  }

  absl::Status Transact(const std::function<absl::Status(spi::StoreTransaction&)>& fn) override {
    std::lock_guard<std::mutex> l(write_mu_);
    return RunTx(*write_, "BEGIN IMMEDIATE", fn);
  }

  // Reads take an idle connection from the pool (WAL: readers neither wait for the writer nor
  // for each other), waiting only when every one is busy.
  absl::Status Read(const std::function<absl::Status(spi::StoreTransaction&)>& fn) override {
    Reader* r;
    {
      std::unique_lock<std::mutex> l(readers_mu_);
      readers_cv_.wait(l, [&] { return !idle_readers_.empty(); });
      r = idle_readers_.back();
      idle_readers_.pop_back();
    }
    absl::Cleanup give_back = [&] {
      std::lock_guard<std::mutex> l(readers_mu_);
      idle_readers_.push_back(r);
      readers_cv_.notify_one();
    };
    return RunTx(*r->tx, "BEGIN", fn);
  }

  absl::StatusOr<std::vector<spi::OutboxEntry>> DueActions(absl::Time now, int limit) override {
    std::lock_guard<std::mutex> l(write_mu_);
    auto& s = due_.Reset().Bind(ToMicros(now)).Bind(int64_t{limit});
    std::vector<spi::OutboxEntry> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      spi::OutboxEntry& e = out.emplace_back();
      e.id = s.Int(0);
      e.key = s.Text(1);
      if (!e.action.ParseFromString(s.Text(2))) return absl::DataLossError("corrupt action");
      e.attempts = static_cast<int>(s.Int(3));
    }
    ResetAll(write_db_.db);
    return out;
  }

  absl::Status CompleteActions(const std::vector<int64_t>& ids) override {
    if (ids.empty()) return absl::OkStatus();
    std::lock_guard<std::mutex> l(write_mu_);
    if (absl::Status s = Exec(write_db_.db, "BEGIN IMMEDIATE"); !s.ok()) return s;
    absl::Status s;
    const int64_t now = absl::ToUnixMicros(clock_.Now());
    for (int64_t id : ids)
      if (s = complete_.Reset().Bind(now).Bind(id).Exec(); !s.ok()) break;
    ResetAll(write_db_.db);
    if (s.ok()) s = Exec(write_db_.db, "COMMIT");
    if (!s.ok()) Exec(write_db_.db, "ROLLBACK").IgnoreError();
    return s;
  }
  absl::Status RetryAction(int64_t id, absl::Time due, const std::string& error) override {
    std::lock_guard<std::mutex> l(write_mu_);
    return retry_.Reset().Bind(ToMicros(due)).Bind(error).Bind(id).Exec();
  }
  absl::Status DeadLetterAction(int64_t id, const std::string& error) override {
    std::lock_guard<std::mutex> l(write_mu_);
    return dead_.Reset().Bind(error).Bind(id).Exec();
  }
  absl::Status ShiftPendingActions(absl::Duration by) override {
    std::lock_guard<std::mutex> l(write_mu_);
    Stmt shift(write_db_.db, "UPDATE outbox SET due_at = due_at + ? WHERE state = 0");
    if (!shift.status().ok()) return shift.status();
    return shift.Bind(absl::ToInt64Microseconds(by)).Exec();
  }

  void SetDeliveryListener(std::function<void()> listener) override {
    std::lock_guard<std::mutex> l(listener_mu_);
    listener_ = std::move(listener);
  }

  void Close() override { inbox_.Close(); }

 private:
  using Pending = GroupCommit::Pending;

  static absl::Status RunTx(SqliteTransaction& c, const char* begin,
                            const std::function<absl::Status(spi::StoreTransaction&)>& fn) {
    if (absl::Status s = Exec(c.db(), begin); !s.ok()) return s;
    absl::Status s = fn(c);
    ResetAll(c.db());
    if (s.ok()) s = Exec(c.db(), "COMMIT");
    if (!s.ok()) Exec(c.db(), "ROLLBACK").IgnoreError();
    return s;
  }

  void CommitBatch(std::vector<Pending>& batch) {
    std::vector<absl::StatusOr<AppendOutcome>> outcomes;
    outcomes.reserve(batch.size());
    absl::Status tx;
    const auto started = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> l(inbox_mu_);
      tx = Exec(inbox_db_.db, "BEGIN IMMEDIATE");
      if (tx.ok()) {
        for (Pending& p : batch) {
          auto& insert = insert_delivery_.Reset()
                             .Bind(p.delivery.adapter_id)
                             .Bind(p.delivery.delivery_key)
                             .Bind(ToMicros(p.delivery.received_at))
                             .BindBlob(HeadersBlob(p.delivery.headers))
                             .BindBlob(p.delivery.body);
          if (p.delivery.replay_key.empty())
            insert.BindNull();
          else
            insert.Bind(p.delivery.replay_key);
          absl::Status s = insert.Exec();
          if (!s.ok()) {
            outcomes.push_back(s);
          } else {
            outcomes.push_back(sqlite3_changes(inbox_db_.db) == 1 ? AppendOutcome::kStored
                                                                  : AppendOutcome::kDuplicate);
          }
        }
        tx = Exec(inbox_db_.db, "COMMIT");
        if (!tx.ok()) Exec(inbox_db_.db, "ROLLBACK").IgnoreError();
      }
    }
    if (tx.ok() && options_.on_group_commit)
      options_.on_group_commit(absl::FromChrono(std::chrono::steady_clock::now() - started),
                               batch.size());
    bool any_stored = false;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!tx.ok()) {
        batch[i].done(absl::UnavailableError(absl::StrCat("could not store: ", tx.message())));
      } else {
        any_stored |= outcomes[i].ok() && *outcomes[i] == AppendOutcome::kStored;
        batch[i].done(std::move(outcomes[i]));
      }
    }
    if (any_stored) {
      std::lock_guard<std::mutex> l(listener_mu_);
      if (listener_) listener_();
    }
  }

  // Closes the connection when destroyed; declared before the statements so that they are
  // finalized first.
  struct Db {
    sqlite3* db;
    ~Db() { sqlite3_close(db); }
  };

  SqliteOptions options_;
  const spi::Clock& clock_;
  Db write_db_;
  Db read_db_;
  Db inbox_db_;
  Db inbox_read_db_;
  std::mutex write_mu_;       // the write connection and its statements
  std::mutex read_mu_;        // read_db_ and its statements
  std::mutex inbox_mu_;       // the inbox connection and its statements (the commit thread's)
  std::mutex inbox_read_mu_;  // the inbox read connection and pending_
  std::unique_ptr<SqliteTransaction> write_;
  // A connection of the read pool: its statements are finalized before it closes.
  struct Reader {
    explicit Reader(sqlite3* db) : db{db} {}
    Db db;
    std::unique_ptr<SqliteTransaction> tx;
  };
  std::vector<std::unique_ptr<Reader>> readers_;
  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<Reader*> idle_readers_;
  Stmt insert_delivery_, pending_, one_delivery_, dead_letters_, processed_floor_, backlog_, due_,
      complete_, retry_, dead_;

  std::mutex listener_mu_;
  std::function<void()> listener_;
  // Last: its thread commits with the statements above, and stops before they go.
  GroupCommit inbox_{options_.commit_delay, options_.max_batch,
                     [this](std::vector<Pending>& batch) { CommitBatch(batch); }};
};

int SqliteSchemaVersion() { return DatabaseSchemaVersion(); }

std::string InboxPath(const std::string& path) {
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".db") == 0)
    return path.substr(0, path.size() - 3) + ".inbox.db";
  return path + ".inbox";
}

namespace {

// The installation's random id (made by the schema).
absl::StatusOr<std::string> InstallationId(sqlite3* db) {
  Stmt q(db, "SELECT value FROM cursors WHERE name = 'installation'");
  if (!q.status().ok()) return q.status();
  auto row = q.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::DataLossError("the database has no installation id");
  return q.Text(0);
}

// Tickets stored before a ticket had a person and a status (schema 8) get them, once, in
// batches: the journey and the similar tickets find them from then on.
absl::Status KeyPersons(sqlite3* db, const std::string& installation) {
  Stmt pick(db, "SELECT rowid, ticket FROM tickets WHERE person IS NULL LIMIT 1000");
  Stmt set(db, "UPDATE tickets SET person = ?, status = ? WHERE rowid = ?");
  if (!pick.status().ok()) return pick.status();
  if (!set.status().ok()) return set.status();
  while (true) {
    std::vector<std::pair<int64_t, v1::Ticket>> batch;
    pick.Reset();
    while (true) {
      auto row = pick.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      v1::Ticket t;
      (void)t.ParseFromString(pick.Text(1));  // an unreadable ticket gets no person
      batch.emplace_back(pick.Int(0), std::move(t));
    }
    pick.Reset();
    if (batch.empty()) return absl::OkStatus();
    if (absl::Status s = Exec(db, "BEGIN IMMEDIATE"); !s.ok()) return s;
    for (const auto& [rowid, t] : batch) {
      if (absl::Status s =
              set.Reset().Bind(PersonKey(installation, t)).Bind(t.status()).Bind(rowid).Exec();
          !s.ok()) {
        Exec(db, "ROLLBACK").IgnoreError();
        return s;
      }
    }
    set.Reset();
    if (absl::Status s = Exec(db, "COMMIT"); !s.ok()) return s;
  }
}

// What to do with a database file Debrief cannot read: it never starts on it, and never
// replaces it with a new, empty one, which would forget every ticket, task and acknowledged
// delivery.
absl::Status Unreadable(const std::string& path, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(
      path, " ", what,
      ". debriefd will not start on it, nor replace it with a new, empty database: restore it "
      "from a backup (docs/operations.md, Backups); `sqlite3 ",
      path,
      " .recover` rescues what can still be read; to start anew instead, move the database "
      "files (debrief.db, debrief.inbox.db and their -wal files) aside"));
}

uint32_t BigEndian(const unsigned char* p, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// Checks a database file before SQLite opens it: a missing file is a new database; an empty
// one, one that is not SQLite's, or one shorter than its header says (truncated by a full
// disk or a bad copy) is refused with what to do. SQLite itself would take an empty file as a
// new database and notice a truncation only when a query reaches the missing pages.
absl::Status CheckDatabaseFile(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return absl::OkStatus();
  struct stat wal {};
  const bool has_wal = stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0;
  if (st.st_size == 0) return has_wal ? absl::OkStatus() : Unreadable(path, "is empty (0 bytes)");
  unsigned char h[100] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(h), sizeof h);
  if (in.gcount() < static_cast<std::streamsize>(sizeof h))
    return Unreadable(path, absl::StrCat("is truncated (", st.st_size, " bytes)"));
  if (std::memcmp(h, "SQLite format 3\0", 16) != 0)
    return Unreadable(path, "is not a SQLite database");
  uint64_t page_size = BigEndian(h + 16, 2);
  if (page_size == 1) page_size = 65536;
  const uint32_t pages = BigEndian(h + 28, 4);
  // The header's page count is valid when its change counter matches "version valid for". With
  // a write-ahead log beside it the file may be shorter than that for good reason: a checkpoint
  // cut short by a crash writes page 1 (the header) before the pages after it, and SQLite
  // finishes it from the log on open (a log that cannot do so fails there, with the advice
  // below).
  const bool count_valid = pages != 0 && BigEndian(h + 24, 4) == BigEndian(h + 92, 4);
  if (count_valid && !has_wal && static_cast<uint64_t>(st.st_size) < page_size * pages)
    return Unreadable(path, absl::StrCat("is truncated: ", st.st_size,
                                         " bytes where its header says ", page_size * pages));
  return absl::OkStatus();
}

// An error SQLite gave while opening or upgrading the database at `path`: a damaged file
// gets the same advice as one refused before opening.
absl::Status OnOpen(const std::string& path, absl::Status s) {
  if (s.ok() || s.code() != absl::StatusCode::kDataLoss) return s;
  return Unreadable(path, absl::StrCat("is damaged (", s.message(), ")"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<spi::Store>> OpenSqliteStore(const SqliteOptions& options,
                                                            const spi::Clock& clock) {
  if (options.path.empty() || options.path == ":memory:")
    return absl::InvalidArgumentError("store.sqlite.path must name a file");
  // Each connection is closed if a later step fails; the store owns them once made.
  struct Close {
    void operator()(sqlite3* db) const { sqlite3_close(db); }
  };
  using Owned = std::unique_ptr<sqlite3, Close>;
  auto open = [](const std::string& path, bool read_only) -> absl::StatusOr<Owned> {
    auto db = OpenConnection(path, read_only);
    if (!db.ok()) return db.status();
    return Owned(*db);
  };
  const std::string inbox_path = InboxPath(options.path);
  struct stat st {};
  if (stat(options.path.c_str(), &st) != 0 && stat(inbox_path.c_str(), &st) == 0 && st.st_size > 0)
    return Unreadable(options.path,
                      absl::StrCat("is missing while its inbox ", inbox_path, " is there"));
  for (const std::string& p : {options.path, inbox_path})
    if (absl::Status s = CheckDatabaseFile(p); !s.ok()) return s;
  auto w = open(options.path, /*read_only=*/false);
  if (!w.ok()) return OnOpen(options.path, w.status());
  if (absl::Status s = MigrateDatabase(w->get()); !s.ok()) return OnOpen(options.path, s);
  auto in = open(inbox_path, /*read_only=*/false);
  if (!in.ok()) return OnOpen(inbox_path, in.status());
  if (absl::Status s = MigrateInbox(in->get()); !s.ok()) return OnOpen(inbox_path, s);
  auto installation = InstallationId(w->get());
  if (!installation.ok()) return OnOpen(options.path, installation.status());
  if (absl::Status s = KeyPersons(w->get(), *installation); !s.ok()) return OnOpen(options.path, s);
  auto r = open(options.path, /*read_only=*/true);
  if (!r.ok()) return r.status();
  std::vector<Owned> readers;
  for (int i = 0; i < std::max(1, options.read_connections); ++i) {
    auto reader = open(options.path, /*read_only=*/true);
    if (!reader.ok()) return reader.status();
    readers.push_back(std::move(*reader));
  }
  std::vector<sqlite3*> reader_dbs;
  for (Owned& reader : readers) reader_dbs.push_back(reader.release());
  auto in_r = open(inbox_path, /*read_only=*/true);
  if (!in_r.ok()) return in_r.status();
  auto store = std::make_unique<SqliteStore>(options, clock, w->release(), r->release(),
                                             std::move(reader_dbs), in->release(), in_r->release(),
                                             *installation);
  if (absl::Status s = store->PrepareStatus(); !s.ok()) return OnOpen(options.path, s);
  return store;
}

}  // namespace debrief::store
