#include "store/pg_store.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/thread_name.h"
#include "base/time_util.h"
#include "pg/pg.h"
#include "store/group_commit.h"
#include "store/pg_schema.h"
#include "store/pg_transaction.h"

namespace debrief::store {
namespace {

using pg::Conn;
using pg::Stmt;
using spi::AppendOutcome;
using spi::StoredDelivery;

constexpr char kDeliveryColumns[] =
    "d.seq, d.adapter_id, d.delivery_key, d.received_at, d.headers, d.body";

// Every write transaction of every replica takes this lock first (its bytes spell "debriefw"),
// so the store's transactions, which read and then write under READ COMMITTED, run one at a
// time as they do on SQLite, whichever replica runs them. Acknowledging deliveries does not
// take it: their inserts only wait for one another on a duplicate key.
constexpr int64_t kWriteLock = 0x6465627269656677;
const std::string kBeginWrite =
    absl::StrCat("BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE; SELECT pg_advisory_xact_lock(",
                 kWriteLock, ")");

// A claim: the oldest deliveries that wait and that no replica holds (never claimed, or the
// claim lapsed; this replica's own claims past after_seq count as free to it, so a batch read
// again after a failure comes back), marked as this replica's until ?3. SKIP LOCKED passes over
// the rows another replica is claiming at this moment, so replicas claiming together take
// different batches and never wait for each other; a row claimed and committed meanwhile is
// checked again against the condition after its lock, and skipped.
constexpr char kClaim[] =
    "WITH claimed AS ("
    " UPDATE inbox_pending p SET holder = ?1, claimed_until = ?3 WHERE p.seq = ANY(ARRAY("
    "  SELECT seq FROM inbox_pending"
    "  WHERE holder IS NULL OR claimed_until <= ?2 OR (holder = ?1 AND seq > ?4)"
    "  ORDER BY seq LIMIT ?5 FOR UPDATE SKIP LOCKED))"
    " RETURNING p.seq) "
    "SELECT ";
constexpr char kClaimedDeliveries[] =
    " FROM deliveries d JOIN claimed c ON c.seq = d.seq ORDER BY d.seq";

class PgStore final : public spi::Store {
 public:
  PgStore(const PostgresOptions& options, const spi::Clock& clock, std::unique_ptr<Conn> write,
          std::unique_ptr<Conn> inbox, std::unique_ptr<Conn> inbox_read,
          std::unique_ptr<Conn> listen, std::vector<std::unique_ptr<Conn>> readers,
          const std::string& installation)
      : options_(options),
        clock_(clock),
        write_conn_(std::move(write)),
        inbox_conn_(std::move(inbox)),
        inbox_read_conn_(std::move(inbox_read)),
        listen_conn_(std::move(listen)),
        write_(PgTransaction::Make(write_conn_.get(), clock, installation)),
        // A conflict on either key (the delivery id, or the replay key of a sending seen
        // before) makes the delivery a duplicate.
        insert_delivery_(inbox_conn_.get(),
                         "INSERT INTO deliveries(adapter_id, delivery_key, received_at, headers, "
                         "body, replay_key) VALUES(?,?,?,?,?,?) ON CONFLICT DO NOTHING"),
        // Every replica listening is woken (this one too, which is harmless).
        notify_(inbox_conn_.get(), "SELECT pg_notify('debrief_inbox', '')"),
        pending_(inbox_read_conn_.get(),
                 absl::StrCat(kClaim, kDeliveryColumns, kClaimedDeliveries)),
        unclaim_(inbox_read_conn_.get(),
                 "UPDATE inbox_pending SET holder = NULL, claimed_until = NULL WHERE holder = ?"),
        one_delivery_(inbox_read_conn_.get(), absl::StrCat("SELECT ", kDeliveryColumns,
                                                           " FROM deliveries d WHERE d.seq=?")),
        dead_letters_(inbox_read_conn_.get(),
                      "SELECT o.seq, o.note, o.processed_at, COALESCE(f.attempts, 1), "
                      "d.adapter_id, d.delivery_key, d.received_at "
                      "FROM delivery_outcomes o LEFT JOIN delivery_failures f ON f.seq = o.seq "
                      "LEFT JOIN deliveries d ON d.seq = o.seq "
                      "WHERE o.state = 3 ORDER BY o.seq DESC LIMIT ?"),
        backlog_(inbox_read_conn_.get(),
                 "SELECT COUNT(*), MIN(d.received_at) FROM inbox_pending p "
                 "JOIN deliveries d ON d.seq = p.seq"),
        due_(write_conn_.get(),
             "SELECT id, key, action, attempts FROM outbox WHERE state=0 AND due_at<=? "
             "ORDER BY due_at, id LIMIT ?"),
        complete_(write_conn_.get(),
                  "UPDATE outbox SET state=1, attempts=attempts+1, done_at=? WHERE id=?"),
        retry_(write_conn_.get(),
               "UPDATE outbox SET due_at=?, last_error=?, attempts=attempts+1 WHERE id=?"),
        dead_(write_conn_.get(),
              "UPDATE outbox SET state=2, last_error=?, attempts=attempts+1 WHERE id=?"),
        shift_(write_conn_.get(), "UPDATE outbox SET due_at = due_at + ? WHERE state = 0") {
    for (auto& conn : readers) {
      auto& r = readers_.emplace_back(std::make_unique<Reader>());
      r->conn = std::move(conn);
      r->tx = PgTransaction::Make(r->conn.get(), clock, installation);
      idle_readers_.push_back(r.get());
    }
  }

  // The deliveries this replica claimed and did not process are free for the others at once.
  ~PgStore() override {
    Close();
    std::lock_guard<std::mutex> l(inbox_read_mu_);
    unclaim_.Reset().Bind(options_.replica).Exec().IgnoreError();
  }

  absl::Status PrepareStatus() const {
    for (const Stmt* s : {&insert_delivery_, &notify_, &pending_, &unclaim_, &one_delivery_,
                          &dead_letters_, &backlog_, &due_, &complete_, &retry_, &dead_, &shift_})
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

  absl::StatusOr<std::vector<StoredDelivery>> PendingDeliveries(int64_t after_seq,
                                                                int limit) override {
    std::lock_guard<std::mutex> l(inbox_read_mu_);
    const absl::Time now = clock_.Now();
    auto& s = pending_.Reset()
                  .Bind(options_.replica)
                  .Bind(ToMicros(now))
                  .Bind(ToMicros(now + options_.claim))
                  .Bind(after_seq)
                  .Bind(int64_t{limit});
    std::vector<StoredDelivery> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back(DeliveryFromRow(s));
    }
    s.Reset();
    return out;
  }

  absl::StatusOr<spi::InboxBacklog> Backlog() override {
    std::lock_guard<std::mutex> l(inbox_read_mu_);
    auto& s = backlog_.Reset();
    auto row = s.Step();
    if (!row.ok()) return row.status();
    spi::InboxBacklog b;
    b.pending = s.Int(0);
    if (b.pending > 0) b.oldest = FromMicros(s.Int(1));
    s.Reset();
    return b;
  }

  absl::StatusOr<StoredDelivery> GetDelivery(int64_t seq) override {
    std::lock_guard<std::mutex> l(inbox_read_mu_);
    auto& s = one_delivery_.Reset().Bind(seq);
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError(absl::StrCat("no delivery ", seq));
    StoredDelivery d = DeliveryFromRow(s);
    s.Reset();
    return d;
  }

  absl::StatusOr<std::vector<spi::DeadLetter>> ListDeadLetters(int limit) override {
    std::lock_guard<std::mutex> l(inbox_read_mu_);
    auto& s = dead_letters_.Reset().Bind(int64_t{limit});
    std::vector<spi::DeadLetter> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      spi::DeadLetter& d = out.emplace_back();
      d.seq = s.Int(0);
      d.error = s.Text(1);
      d.failed_at = FromMicros(s.Int(2));
      d.attempts = static_cast<int>(s.Int(3));
      d.adapter_id = s.Text(4);
      d.delivery_key = s.Text(5);
      if (!s.IsNull(6)) d.received_at = FromMicros(s.Int(6));
    }
    s.Reset();
    return out;
  }

  absl::Status Transact(const std::function<absl::Status(spi::StoreTransaction&)>& fn) override {
    std::lock_guard<std::mutex> l(write_mu_);
    return RunTx(*write_, kBeginWrite.c_str(), false, fn);
  }

  // Reads take an idle connection from the pool, waiting only when every one is busy; each is
  // a snapshot that neither waits for the writer nor sees its uncommitted work.
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
    return RunTx(*r->tx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", true, fn);
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
    s.Reset();
    return out;
  }

  absl::Status CompleteActions(const std::vector<int64_t>& ids) override {
    if (ids.empty()) return absl::OkStatus();
    std::lock_guard<std::mutex> l(write_mu_);
    if (absl::Status s = write_conn_->Begin("BEGIN"); !s.ok()) return s;
    absl::Status s;
    const int64_t now = ToMicros(clock_.Now());
    for (int64_t id : ids)
      if (s = complete_.Reset().Bind(now).Bind(id).Exec(); !s.ok()) break;
    if (s.ok())
      s = write_conn_->Commit();
    else
      write_conn_->Rollback();
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
    return shift_.Reset().Bind(absl::ToInt64Microseconds(by)).Exec();
  }

  // Woken by this replica's commits directly, and by every replica's through LISTEN, so an
  // idle pipeline starts on another replica's deliveries at once instead of at its next poll.
  void SetDeliveryListener(std::function<void()> listener) override {
    std::lock_guard<std::mutex> l(listener_mu_);
    if (listen_stop_) return;  // closed
    listener_ = std::move(listener);
    if (!listen_thread_.joinable()) listen_thread_ = std::thread([this] { Listen(); });
  }

  // After Close nothing wakes the pipeline any more (what it wakes may be gone soon after).
  void Close() override {
    inbox_.Close();
    {
      std::lock_guard<std::mutex> l(listener_mu_);
      listen_stop_ = true;
      listener_ = nullptr;
    }
    if (listen_thread_.joinable()) listen_thread_.join();
  }

 private:
  using Pending = GroupCommit::Pending;

  void Wake() {
    std::lock_guard<std::mutex> l(listener_mu_);
    if (listener_) listener_();
  }

  bool ListenStopped() {
    std::lock_guard<std::mutex> l(listener_mu_);
    return listen_stop_;
  }

  // The listening connection's thread: waits on its socket (a second at most, to notice the
  // store closing) and wakes the pipeline for each notification. After a lost connection it
  // connects again, listens again and wakes the pipeline once, for what it may have missed.
  void Listen() {
    base::NameThisThread("inbox-listen");
    bool listening = false, lost = false;
    while (!ListenStopped()) {
      if (!listening) {
        if (absl::Status s = listen_conn_->Exec("LISTEN debrief_inbox"); !s.ok()) {
          std::this_thread::sleep_for(std::chrono::seconds(1));
          continue;
        }
        listening = true;
        if (lost) Wake();
      }
      PGconn* c = listen_conn_->get();
      pollfd p{PQsocket(c), POLLIN, 0};
      if (p.fd < 0 || poll(&p, 1, 1000) < 0 || PQconsumeInput(c) == 0 ||
          PQstatus(c) != CONNECTION_OK) {
        listening = false;
        lost = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      bool any = false;
      while (PGnotify* n = PQnotifies(c)) {
        any = true;
        PQfreemem(n);
      }
      if (any) Wake();
    }
  }

  static absl::Status RunTx(PgTransaction& c, const char* begin, bool read_only,
                            const std::function<absl::Status(spi::StoreTransaction&)>& fn) {
    Conn* conn = c.db();
    if (absl::Status s = conn->Begin(begin); !s.ok()) return s;
    bool ended = false;
    // A callback that throws leaves nothing half done behind it.
    absl::Cleanup rollback = [&] {
      if (!ended) conn->Rollback();
    };
    absl::Status s = fn(c);
    // A read has nothing to commit: its end is the same whatever failed inside it.
    if (s.ok() && !read_only)
      s = conn->Commit();
    else
      conn->Rollback();
    ended = true;
    return s;
  }

  // The batch in one transaction: what became of each delivery, or why none was written.
  absl::StatusOr<std::vector<AppendOutcome>> Insert(Pending* first, size_t n) {
    if (absl::Status s = inbox_conn_->Begin("BEGIN"); !s.ok()) return s;
    std::vector<AppendOutcome> outcomes;
    outcomes.reserve(n);
    for (Pending* p = first; p != first + n; ++p) {
      auto& insert = insert_delivery_.Reset()
                         .Bind(p->delivery.adapter_id)
                         .BindBlob(p->delivery.delivery_key)
                         .Bind(ToMicros(p->delivery.received_at))
                         .BindBlob(HeadersBlob(p->delivery.headers))
                         .BindBlob(p->delivery.body);
      if (p->delivery.replay_key.empty())
        insert.BindNull();
      else
        insert.BindBlob(p->delivery.replay_key);
      if (absl::Status s = insert.Exec(); !s.ok()) {
        inbox_conn_->Rollback();
        return s;
      }
      outcomes.push_back(inbox_conn_->changes() == 1 ? AppendOutcome::kStored
                                                     : AppendOutcome::kDuplicate);
    }
    if (absl::Status s = inbox_conn_->Commit(); !s.ok()) return s;
    // After the commit, on its own and at best: sent inside the commit, it would hold the
    // database's notification lock through every replica's commits, and a full notification
    // queue would refuse the deliveries. The other replicas poll besides.
    if (std::count(outcomes.begin(), outcomes.end(), AppendOutcome::kStored) > 0)
      notify_.Reset().Exec().IgnoreError();
    return outcomes;
  }

  // One transaction for the batch. PostgreSQL abandons a transaction at its first error, where
  // SQLite goes on with the next statement: when a delivery fails for what it carries (a key
  // beyond what an index entry can hold, say), each is written again in a transaction of its
  // own, so that one delivery fails alone instead of every one that arrived with it.
  void CommitBatch(std::vector<Pending>& batch) {
    const auto started = std::chrono::steady_clock::now();
    std::vector<absl::StatusOr<AppendOutcome>> outcomes;
    auto all = Insert(batch.data(), batch.size());
    if (all.ok()) {
      outcomes.assign(all->begin(), all->end());
      if (options_.on_group_commit)
        options_.on_group_commit(absl::FromChrono(std::chrono::steady_clock::now() - started),
                                 batch.size());
    } else if (batch.size() > 1 && !absl::IsUnavailable(all.status())) {
      for (Pending& p : batch) {
        auto one = Insert(&p, 1);
        if (one.ok())
          outcomes.push_back((*one)[0]);
        else
          outcomes.push_back(one.status());
      }
    } else {
      outcomes.assign(batch.size(), absl::UnavailableError(
                                        absl::StrCat("could not store: ", all.status().message())));
    }
    bool any_stored = false;
    for (size_t i = 0; i < batch.size(); ++i) {
      any_stored |= outcomes[i].ok() && *outcomes[i] == AppendOutcome::kStored;
      batch[i].done(std::move(outcomes[i]));
    }
    if (any_stored) Wake();
  }

  PostgresOptions options_;
  const spi::Clock& clock_;
  // The connections, declared before the statements prepared on them.
  std::unique_ptr<Conn> write_conn_;
  std::unique_ptr<Conn> inbox_conn_;       // the commit thread's
  std::unique_ptr<Conn> inbox_read_conn_;  // the pipeline's reads of the inbox
  std::unique_ptr<Conn> listen_conn_;      // LISTEN debrief_inbox (the listening thread's)
  std::mutex write_mu_;                    // the write connection and its statements
  std::mutex inbox_read_mu_;               // the inbox read connection and its statements
  std::unique_ptr<PgTransaction> write_;
  struct Reader {
    std::unique_ptr<Conn> conn;
    std::unique_ptr<PgTransaction> tx;
    ~Reader() { tx.reset(); }  // its statements go before the connection
  };
  std::vector<std::unique_ptr<Reader>> readers_;
  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<Reader*> idle_readers_;
  Stmt insert_delivery_, notify_, pending_, unclaim_, one_delivery_, dead_letters_, backlog_, due_,
      complete_, retry_, dead_, shift_;

  std::mutex listener_mu_;
  std::function<void()> listener_;
  bool listen_stop_ = false;  // under listener_mu_
  std::thread listen_thread_;
  // Last: its thread commits with the statements above, and stops before they go.
  GroupCommit inbox_{options_.commit_delay, options_.max_batch,
                     [this](std::vector<Pending>& batch) { CommitBatch(batch); }};
};

// The installation's random id (made by the schema).
absl::StatusOr<std::string> InstallationId(Conn* conn) {
  Stmt q(conn, "SELECT value FROM cursors WHERE name = 'installation'");
  if (!q.status().ok()) return q.status();
  auto row = q.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::DataLossError("the database has no installation id");
  return q.Text(0);
}

}  // namespace

std::string ReplicaName(const std::string& prefix) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::random_device random;
  return absl::StrFormat("%s:%d:%08x",
                         !prefix.empty()   ? prefix
                         : host[0] != '\0' ? std::string(host)
                                           : std::string("debriefd"),
                         getpid(), random());
}

absl::StatusOr<std::unique_ptr<spi::Store>> OpenPostgresStore(const PostgresOptions& given,
                                                              const spi::Clock& clock) {
  PostgresOptions options = given;
  if (options.replica.empty()) options.replica = ReplicaName("");
  if (options.conninfo.empty())
    return absl::InvalidArgumentError("store.postgres.conninfo must name a database");
  auto write = Conn::Open(options.conninfo, options.password);
  if (!write.ok()) return write.status();
  if (absl::Status s = MigratePostgres((*write)->get()); !s.ok()) return s;
  auto installation = InstallationId(write->get());
  if (!installation.ok()) return installation.status();
  auto inbox = Conn::Open(options.conninfo, options.password);
  if (!inbox.ok()) return inbox.status();
  auto inbox_read = Conn::Open(options.conninfo, options.password);
  if (!inbox_read.ok()) return inbox_read.status();
  auto listen = Conn::Open(options.conninfo, options.password);
  if (!listen.ok()) return listen.status();
  std::vector<std::unique_ptr<Conn>> readers;
  for (int i = 0; i < std::max(1, options.read_connections); ++i) {
    auto reader = Conn::Open(options.conninfo, options.password);
    if (!reader.ok()) return reader.status();
    readers.push_back(std::move(*reader));
  }
  auto store = std::make_unique<PgStore>(options, clock, std::move(*write), std::move(*inbox),
                                         std::move(*inbox_read), std::move(*listen),
                                         std::move(readers), *installation);
  if (absl::Status s = store->PrepareStatus(); !s.ok()) return s;
  return store;
}

}  // namespace debrief::store
