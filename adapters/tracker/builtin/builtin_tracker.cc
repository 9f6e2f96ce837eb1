#include "tracker/builtin/builtin_tracker.h"

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/task_text.h"
#include "settings/settings.h"
#include "sqlite/sqlite.h"
#include "tracker/builtin/builtin.pb.h"

namespace debrief::adapters::builtin {
namespace {

namespace v1 = ::debrief::v1;
using sqlite::Exec;
using sqlite::Stmt;

constexpr char kSchema[] = R"sql(
  CREATE TABLE IF NOT EXISTS tasks(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    marker TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    project TEXT,
    labels TEXT,
    status INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    status_at INTEGER);
  CREATE TABLE IF NOT EXISTS task_tickets(
    task_id INTEGER NOT NULL REFERENCES tasks(id),
    helpdesk_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    subject TEXT,
    url TEXT,
    linked_at INTEGER NOT NULL,
    PRIMARY KEY(task_id, helpdesk_id, ticket_id));
  CREATE TABLE IF NOT EXISTS task_comments(
    task_id INTEGER NOT NULL REFERENCES tasks(id),
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY(task_id, key));
)sql";

class BuiltinTrackerImpl final : public BuiltinTracker {
 public:
  BuiltinTrackerImpl(std::string id, sqlite3* db, std::string base_url, const spi::Clock& clock,
                     spi::ShippedWhen shipped_when)
      : id_(std::move(id)),
        db_{db},
        base_url_(std::move(base_url)),
        clock_(clock),
        shipped_when_(shipped_when),
        insert_(db,
                "INSERT INTO tasks(marker, title, description, project, labels, status, "
                "created_at, updated_at) VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(marker) DO NOTHING"),
        by_marker_(db, "SELECT id FROM tasks WHERE marker=?"),
        get_(db, "SELECT id, status, COALESCE(status_at, updated_at) FROM tasks WHERE id=?"),
        details_(db, "SELECT title, description, labels FROM tasks WHERE id=?"),
        set_text_(db, "UPDATE tasks SET description=?, labels=?, updated_at=? WHERE id=?"),
        comment_(db,
                 "INSERT INTO task_comments(task_id, key, body, at) VALUES(?,?,?,?) "
                 "ON CONFLICT DO NOTHING"),
        comments_(db, "SELECT body FROM task_comments WHERE task_id=? ORDER BY at, key"),
        link_(db,
              "INSERT INTO task_tickets(task_id, helpdesk_id, ticket_id, subject, url, linked_at) "
              "VALUES(?,?,?,?,?,?) ON CONFLICT DO UPDATE SET subject=excluded.subject, "
              "url=excluded.url"),
        unlink_(db, "DELETE FROM task_tickets WHERE task_id=? AND helpdesk_id=? AND ticket_id=?"),
        // status_at moves only when the status does (setting the same one again keeps it).
        set_status_(db,
                    "UPDATE tasks SET updated_at=?2, status_at=CASE WHEN status=?1 THEN "
                    "COALESCE(status_at, updated_at) ELSE ?2 END, status=?1 WHERE id=?3"),
        linked_(db,
                "SELECT helpdesk_id, ticket_id FROM task_tickets WHERE task_id=? "
                "ORDER BY linked_at, helpdesk_id, ticket_id"),
        count_(db, "SELECT COUNT(*) FROM tasks") {}

  absl::Status PrepareStatus() const {
    for (const Stmt* s : {&insert_, &by_marker_, &get_, &details_, &set_text_, &comment_,
                          &comments_, &link_, &unlink_, &set_status_, &linked_, &count_})
      if (!s->status().ok()) return s->status();
    return absl::OkStatus();
  }

  const std::string& id() const override { return id_; }
  const std::string& type() const override { return type_; }

  // spi::TrackerAdapter
  absl::StatusOr<spi::TrackerTask> CreateTask(const spi::TaskDraft& d) override {
    std::lock_guard<std::mutex> l(mu_);
    absl::Cleanup reset = [this] { sqlite::ResetAll(db_.db); };
    int64_t now = absl::ToUnixMicros(clock_.Now());
    std::string labels = absl::StrJoin(d.category.routing().labels(), ",");
    std::string description = common::ComposeDescription(d.description, d.impact);
    if (auto s = Exec(db_.db, "BEGIN IMMEDIATE"); !s.ok()) return s;
    bool committed = false;
    absl::Cleanup rollback = [&] {
      if (!committed) Exec(db_.db, "ROLLBACK").IgnoreError();
    };
    if (auto s = insert_.Reset()
                     .Bind(d.idempotency_key)
                     .Bind(d.title)
                     .Bind(description)
                     .Bind(d.category.routing().project())
                     .Bind(labels)
                     .Bind(int64_t{v1::TASK_OPEN})
                     .Bind(now)
                     .Bind(now)
                     .Exec();
        !s.ok())
      return s;
    auto& q = by_marker_.Reset().Bind(d.idempotency_key);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::InternalError("builtin tracker: task vanished after insert");
    const int64_t id = q.Int(0);
    for (const spi::LinkedTicket& t : d.tickets)
      if (auto s = Link(id, t, now); !s.ok()) return s;
    if (auto s = Exec(db_.db, "COMMIT"); !s.ok()) return s;
    committed = true;
    return Describe(id, v1::TASK_OPEN);
  }

  absl::Status UpdateTask(const std::string& external_id, const spi::TaskUpdate& u) override {
    std::lock_guard<std::mutex> l(mu_);
    absl::Cleanup reset = [this] { sqlite::ResetAll(db_.db); };
    auto id = ParseId(external_id);
    if (!id.ok()) return id.status();
    const int64_t now = absl::ToUnixMicros(clock_.Now());
    if (auto s = Exec(db_.db, "BEGIN IMMEDIATE"); !s.ok()) return s;
    bool committed = false;
    absl::Cleanup rollback = [&] {
      if (!committed) Exec(db_.db, "ROLLBACK").IgnoreError();
    };
    auto& q = details_.Reset().Bind(*id);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError(absl::StrCat("builtin task ", external_id, " not found"));
    std::string description = common::ReplaceImpact(q.Text(1), u.impact);
    std::vector<std::string> labels = absl::StrSplit(q.Text(2), ',', absl::SkipEmpty());
    for (const std::string& add : u.add_labels)
      if (std::find(labels.begin(), labels.end(), add) == labels.end()) labels.push_back(add);
    for (const std::string& rm : u.remove_labels)
      labels.erase(std::remove(labels.begin(), labels.end(), rm), labels.end());
    if (auto s = set_text_.Reset()
                     .Bind(description)
                     .Bind(absl::StrJoin(labels, ","))
                     .Bind(now)
                     .Bind(*id)
                     .Exec();
        !s.ok())
      return s;
    // Reconcile the links: the update names every ticket linked now.
    absl::flat_hash_set<std::string> want;
    for (const spi::LinkedTicket& t : u.tickets) {
      want.insert(absl::StrCat(t.helpdesk_id, "/", t.ticket_id));
      if (auto s = Link(*id, t, now); !s.ok()) return s;
    }
    auto have = Linked(*id);
    if (!have.ok()) return have.status();
    for (const auto& [hd, tid] : *have) {
      if (want.contains(absl::StrCat(hd, "/", tid))) continue;
      if (auto s = unlink_.Reset().Bind(*id).Bind(hd).Bind(tid).Exec(); !s.ok()) return s;
    }
    if (!u.comment.empty()) {
      if (auto s = comment_.Reset().Bind(*id).Bind(u.comment_key).Bind(u.comment).Bind(now).Exec();
          !s.ok())
        return s;
    }
    if (auto s = Exec(db_.db, "COMMIT"); !s.ok()) return s;
    committed = true;
    return absl::OkStatus();
  }

  absl::StatusOr<spi::TrackerTask> GetTask(const std::string& external_id) override {
    std::lock_guard<std::mutex> l(mu_);
    absl::Cleanup reset = [this] { sqlite::ResetAll(db_.db); };
    auto id = ParseId(external_id);
    if (!id.ok()) return id.status();
    auto& q = get_.Reset().Bind(*id);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError(absl::StrCat("builtin task ", external_id, " not found"));
    spi::TrackerTask t = Describe(q.Int(0), static_cast<v1::TaskStatus>(q.Int(1)));
    // Done is shipped where the team ships at done; otherwise a person sets `shipped` when the
    // release is out. Either way, when the status was set.
    if (t.status == v1::TASK_DONE && shipped_when_ == spi::ShippedWhen::kDone)
      t.status = v1::TASK_SHIPPED;
    if (t.status == v1::TASK_SHIPPED) t.shipped_at = absl::FromUnixMicros(q.Int(2));
    return t;
  }

  absl::Status Check(const std::vector<v1::Category>&) override {
    std::lock_guard<std::mutex> l(mu_);
    absl::Cleanup reset = [this] { sqlite::ResetAll(db_.db); };
    return Exec(db_.db, "SELECT 1 FROM tasks LIMIT 1");
  }

  absl::StatusOr<spi::TaskView> ShowTask(const std::string& external_id) override {
    spi::TaskView v;
    auto task = GetTask(external_id);
    if (!task.ok()) return task.status();
    v.task = *task;
    auto d = Details(external_id);
    if (!d.ok()) return d.status();
    v.title = d->title;
    v.description = d->description;
    v.labels = d->labels;
    v.comments = d->comments;
    auto linked = LinkedTickets(external_id);
    if (!linked.ok()) return linked.status();
    v.linked_tickets = *linked;
    return v;
  }

  absl::Status SetTaskStatus(const std::string& external_id, v1::TaskStatus status) override {
    return SetStatus(external_id, status);
  }

  // BuiltinTracker
  absl::Status SetStatus(const std::string& external_id, v1::TaskStatus status) override {
    std::lock_guard<std::mutex> l(mu_);
    absl::Cleanup reset = [this] { sqlite::ResetAll(db_.db); };
    auto id = ParseId(external_id);
    if (!id.ok()) return id.status();
    if (auto s = set_status_.Reset()
                     .Bind(int64_t{status})
                     .Bind(absl::ToUnixMicros(clock_.Now()))
                     .Bind(*id)
                     .Exec();
        !s.ok())
      return s;
    if (sqlite3_changes(db_.db) == 0)
      return absl::NotFoundError(absl::StrCat("builtin task ", external_id, " not found"));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> LinkedTickets(const std::string& external_id) override {
    std::lock_guard<std::mutex> l(mu_);
    absl::Cleanup reset = [this] { sqlite::ResetAll(db_.db); };
    auto id = ParseId(external_id);
    if (!id.ok()) return id.status();
    auto linked = Linked(*id);
    if (!linked.ok()) return linked.status();
    std::vector<std::string> out;
    for (const auto& [hd, tid] : *linked) out.push_back(absl::StrCat(hd, "/", tid));
    return out;
  }

  absl::StatusOr<TaskDetails> Details(const std::string& external_id) override {
    std::lock_guard<std::mutex> l(mu_);
    absl::Cleanup reset = [this] { sqlite::ResetAll(db_.db); };
    auto id = ParseId(external_id);
    if (!id.ok()) return id.status();
    auto& q = details_.Reset().Bind(*id);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError(absl::StrCat("builtin task ", external_id, " not found"));
    TaskDetails d;
    d.title = q.Text(0);
    d.description = q.Text(1);
    d.labels = absl::StrSplit(q.Text(2), ',', absl::SkipEmpty());
    auto& c = comments_.Reset().Bind(*id);
    while (true) {
      auto r = c.Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      d.comments.push_back(c.Text(0));
    }
    return d;
  }

  absl::StatusOr<int> CountTasks() override {
    std::lock_guard<std::mutex> l(mu_);
    absl::Cleanup reset = [this] { sqlite::ResetAll(db_.db); };
    auto& q = count_.Reset();
    auto row = q.Step();
    if (!row.ok()) return row.status();
    return static_cast<int>(q.Int(0));
  }

 private:
  struct Db {
    sqlite3* db;
    ~Db() { sqlite3_close(db); }
  };

  absl::Status Link(int64_t id, const spi::LinkedTicket& t, int64_t now) {
    return link_.Reset()
        .Bind(id)
        .Bind(t.helpdesk_id)
        .Bind(t.ticket_id)
        .Bind(t.subject)
        .Bind(t.url)
        .Bind(now)
        .Exec();
  }

  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Linked(int64_t id) {
    auto& q = linked_.Reset().Bind(id);
    std::vector<std::pair<std::string, std::string>> out;
    while (true) {
      auto row = q.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.emplace_back(q.Text(0), q.Text(1));
    }
    return out;
  }

  static absl::StatusOr<int64_t> ParseId(const std::string& external_id) {
    int64_t id;
    if (!absl::SimpleAtoi(external_id, &id))
      return absl::InvalidArgumentError(absl::StrCat("bad builtin task id \"", external_id, "\""));
    return id;
  }

  spi::TrackerTask Describe(int64_t id, v1::TaskStatus status) const {
    spi::TrackerTask t;
    t.external_id = std::to_string(id);
    t.external_key = absl::StrCat("DEBRIEF-", id);
    if (!base_url_.empty()) t.url = absl::StrCat(base_url_, id);
    t.status = status;
    return t;
  }

  std::string id_;
  std::string type_ = "builtin";
  Db db_;  // declared before the statements: closed after they are finalized
  std::string base_url_;
  const spi::Clock& clock_;
  const spi::ShippedWhen shipped_when_;
  std::mutex mu_;
  Stmt insert_, by_marker_, get_, details_, set_text_, comment_, comments_, link_, unlink_,
      set_status_, linked_, count_;
};

class BuiltinFactory final : public spi::TrackerAdapterFactory {
 public:
  std::string type() const override { return "builtin"; }
  const google::protobuf::Descriptor* settings() const override {
    return BuiltinTrackerConfig::descriptor();
  }
  absl::StatusOr<std::unique_ptr<spi::TrackerAdapter>> Create(
      const v1::AdapterConfig& config, const spi::AdapterContext& ctx) const override {
    BuiltinTrackerConfig cfg;
    if (auto s = settings::ParseSettings(config.settings(), &cfg, config.id()); !s.ok()) return s;
    std::string path = cfg.path().empty()
                           ? (std::filesystem::path(ctx.data_dir) / "builtin-tracker.db").string()
                           : cfg.path();
    if (std::filesystem::path(path).is_relative())
      path = (std::filesystem::path(ctx.data_dir) / path).string();
    auto shipped = spi::ParseShippedWhen(cfg.shipped_when(), spi::ShippedWhen::kDone);
    if (!shipped.ok()) return shipped.status();
    auto t = BuiltinTracker::Open(config.id(), path, cfg.base_url(), ctx.clock, *shipped);
    if (!t.ok()) return t.status();
    return std::unique_ptr<spi::TrackerAdapter>(std::move(*t));
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<BuiltinTracker>> BuiltinTracker::Open(std::string id,
                                                                     std::string path,
                                                                     std::string base_url,
                                                                     const spi::Clock& clock,
                                                                     spi::ShippedWhen shipped) {
  auto db = sqlite::OpenConnection(path, /*read_only=*/false);
  if (!db.ok()) return db.status();
  if (auto s = Exec(*db, kSchema); !s.ok()) {
    sqlite3_close(*db);
    return s;
  }
  // A file from before the status's time was kept gets its column (read as the last update).
  // (Another process may add it first: a duplicate column is that, not a failure.)
  if (!Exec(*db, "SELECT status_at FROM tasks LIMIT 0").ok()) {
    if (auto s = Exec(*db, "ALTER TABLE tasks ADD COLUMN status_at INTEGER");
        !s.ok() && !absl::StrContains(s.message(), "duplicate column")) {
      sqlite3_close(*db);
      return s;
    }
  }
  auto t =
      std::make_unique<BuiltinTrackerImpl>(std::move(id), *db, std::move(base_url), clock, shipped);
  if (auto s = t->PrepareStatus(); !s.ok()) return s;
  return std::unique_ptr<BuiltinTracker>(std::move(t));
}

void RegisterBuiltinTracker(spi::AdapterRegistry& registry) {
  registry.Add(std::make_unique<BuiltinFactory>());
}

}  // namespace debrief::adapters::builtin
