#include "store/sqlite_store.h"

#include <sqlite3.h>

#include <condition_variable>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "base/thread_name.h"
#include "base/time_util.h"
#include "sqlite/sqlite.h"

namespace debrief::store {
namespace {

using spi::AppendOutcome;
using spi::DeliveryState;
using spi::StoredDelivery;
using sqlite::Exec;
using sqlite::OpenConnection;
using sqlite::ResetAll;
using sqlite::Stmt;

// Each entry is one schema version; never edit a released one, append a new one.
constexpr const char* kMigrations[] = {
    // 1: inbox, tickets, tasks, links, outbox, feedback.
    R"sql(
    CREATE TABLE deliveries(
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      adapter_id TEXT NOT NULL,
      delivery_key TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      headers BLOB NOT NULL,
      body BLOB NOT NULL,
      state INTEGER NOT NULL DEFAULT 0,
      note TEXT,
      processed_at INTEGER,
      UNIQUE(adapter_id, delivery_key));
    CREATE INDEX deliveries_pending ON deliveries(seq) WHERE state = 0;
    CREATE TABLE tickets(
      helpdesk_id TEXT NOT NULL,
      ticket_id TEXT NOT NULL,
      ticket BLOB NOT NULL,
      classification BLOB,
      category_id TEXT,
      needs_review INTEGER NOT NULL DEFAULT 0,
      agent_corrected INTEGER NOT NULL DEFAULT 0,
      requester TEXT,
      first_seen INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY(helpdesk_id, ticket_id));
    CREATE INDEX tickets_by_category ON tickets(category_id, first_seen);
    CREATE TABLE tasks(
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      category_id TEXT NOT NULL,
      tracker_id TEXT NOT NULL,
      external_id TEXT,
      external_key TEXT,
      url TEXT,
      title TEXT NOT NULL,
      status INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL);
    -- One active (pending, open, in progress) task per category: a duplicate cannot exist.
    CREATE UNIQUE INDEX tasks_one_active ON tasks(category_id) WHERE status IN (1, 2, 3);
    CREATE TABLE task_links(
      helpdesk_id TEXT NOT NULL,
      ticket_id TEXT NOT NULL,
      task_id INTEGER NOT NULL REFERENCES tasks(id),
      origin INTEGER NOT NULL,
      linked_at INTEGER NOT NULL,
      PRIMARY KEY(helpdesk_id, ticket_id));
    CREATE INDEX task_links_by_task ON task_links(task_id);
    CREATE TABLE outbox(
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      key TEXT NOT NULL UNIQUE,
      action BLOB NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      due_at INTEGER NOT NULL,
      state INTEGER NOT NULL DEFAULT 0,
      last_error TEXT,
      created_at INTEGER NOT NULL);
    CREATE INDEX outbox_due ON outbox(due_at) WHERE state = 0;
    CREATE TABLE feedback(
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      helpdesk_id TEXT NOT NULL,
      ticket_id TEXT NOT NULL,
      old_category TEXT,
      new_category TEXT NOT NULL,
      agent TEXT,
      at INTEGER NOT NULL);
    )sql",
    // 2: emerging issues promoted to categories; finding tickets that need review.
    R"sql(
    CREATE TABLE promoted_categories(
      id TEXT PRIMARY KEY,
      promoted BLOB NOT NULL,
      at INTEGER NOT NULL);
    CREATE INDEX tickets_needs_review ON tickets(first_seen)
      WHERE needs_review = 1 AND agent_corrected = 0;
    )sql",
    // 3: the raw deliveries move to their own file (the inbox, below), so acknowledging a
    // webhook never waits for the pipeline's write lock. What became of each delivery is
    // recorded here, in the same transaction as its effects.
    R"sql(
    DROP INDEX deliveries_pending;
    DROP TABLE deliveries;
    CREATE TABLE delivery_outcomes(
      seq INTEGER PRIMARY KEY,
      state INTEGER NOT NULL,
      note TEXT,
      processed_at INTEGER NOT NULL);
    )sql",
    // 4: closing the loop: when a task was done, the regression it answers, whether its fix
    // held, and every status the tracker reported.
    R"sql(
    ALTER TABLE tasks ADD COLUMN done_at INTEGER;
    ALTER TABLE tasks ADD COLUMN regression_of INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tasks ADD COLUMN verification BLOB;
    ALTER TABLE tasks ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tasks ADD COLUMN synced_tickets INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tasks ADD COLUMN synced_at INTEGER;
    CREATE INDEX tasks_done ON tasks(category_id, done_at) WHERE status = 4;
    CREATE TABLE task_status_changes(
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      task_id INTEGER NOT NULL REFERENCES tasks(id),
      status INTEGER NOT NULL,
      at INTEGER NOT NULL,
      source TEXT NOT NULL);
    CREATE INDEX task_status_by_task ON task_status_changes(task_id, id);
    )sql",
    // 5: where each helpdesk listing (reconciliation, backfill) left off.
    R"sql(
    CREATE TABLE cursors(
      name TEXT PRIMARY KEY,
      value TEXT NOT NULL,
      updated_at INTEGER NOT NULL);
    )sql",
    // 6: this installation's random id (spi::kInstallationCursor, Loop::EffectKey): the
    // markers Debrief leaves in trackers and helpdesks name it, so a second Debrief, or this
    // one on a fresh database, never takes another's task or note for its own.
    R"sql(
    INSERT OR IGNORE INTO cursors(name, value, updated_at)
      VALUES('installation', lower(hex(randomblob(16))), 0);
    )sql",
    // 7: failed attempts at a delivery, until it is processed or given up on (a dead letter:
    // delivery_outcomes.state 3), so one delivery the pipeline cannot process never holds up
    // the ones behind it, and the dead letters can be listed.
    R"sql(
    CREATE TABLE delivery_failures(
      seq INTEGER PRIMARY KEY,
      attempts INTEGER NOT NULL,
      error TEXT NOT NULL,
      at INTEGER NOT NULL);
    CREATE INDEX delivery_outcomes_failed ON delivery_outcomes(seq) WHERE state = 3;
    -- A tracker's webhook names its issue: which task is it?
    CREATE INDEX tasks_by_external ON tasks(tracker_id, external_id);
    )sql",
};

// The inbox file: raw deliveries, written only by the group-commit thread.
constexpr const char* kInboxMigrations[] = {
    R"sql(
    CREATE TABLE deliveries(
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      adapter_id TEXT NOT NULL,
      delivery_key TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      headers BLOB NOT NULL,
      body BLOB NOT NULL,
      UNIQUE(adapter_id, delivery_key));
    )sql",
    // 2: a sending seen again (the same signed timestamp and body) is a duplicate whatever
    // delivery id it carries.
    R"sql(
    ALTER TABLE deliveries ADD COLUMN replay_key TEXT;
    CREATE UNIQUE INDEX deliveries_replay ON deliveries(adapter_id, replay_key)
      WHERE replay_key IS NOT NULL;
    )sql",
};

constexpr char kTaskColumns[] =
    "id, category_id, tracker_id, external_id, external_key, url, title, status, created_at, "
    "updated_at, done_at, regression_of, verification, flagged, synced_tickets, synced_at";

int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }

// The statements of one connection, and StoreTransaction over them.
class Connection final : public spi::StoreTransaction {
 public:
  Connection(sqlite3* db, const spi::Clock& clock)
      : db_(db),
        clock_(clock),
        get_ticket_(db,
                    "SELECT ticket, classification, agent_corrected, first_seen FROM tickets "
                    "WHERE helpdesk_id=? AND ticket_id=?"),
        put_ticket_(db,
                    "INSERT INTO tickets(helpdesk_id, ticket_id, ticket, classification, "
                    "category_id, needs_review, agent_corrected, requester, first_seen, "
                    "updated_at) VALUES(?,?,?,?,?,?,?,?,?,?) "
                    "ON CONFLICT(helpdesk_id, ticket_id) DO UPDATE SET ticket=excluded.ticket, "
                    "classification=excluded.classification, category_id=excluded.category_id, "
                    "needs_review=excluded.needs_review, "
                    "agent_corrected=excluded.agent_corrected, requester=excluded.requester, "
                    "updated_at=excluded.updated_at"),
        unlinked_(db,
                  "SELECT t.ticket FROM tickets t LEFT JOIN task_links l "
                  "ON l.helpdesk_id=t.helpdesk_id AND l.ticket_id=t.ticket_id "
                  "WHERE t.category_id=? AND t.needs_review=0 AND t.first_seen>=? "
                  "AND l.task_id IS NULL ORDER BY t.first_seen"),
        active_task_(db, absl::StrCat("SELECT ", kTaskColumns,
                                      " FROM tasks WHERE category_id=? AND status IN (1,2,3)")),
        last_done_(db, absl::StrCat("SELECT ", kTaskColumns,
                                    " FROM tasks WHERE category_id=? AND status=4 "
                                    "ORDER BY done_at DESC, id DESC LIMIT 1")),
        count_tickets_(db,
                       "SELECT COUNT(*) FROM tickets WHERE category_id=? AND needs_review=0 "
                       "AND first_seen>=? AND first_seen<?"),
        linked_tickets_(db,
                        "SELECT k.ticket, k.classification, k.agent_corrected, k.first_seen "
                        "FROM task_links l JOIN tickets k ON k.helpdesk_id=l.helpdesk_id "
                        "AND k.ticket_id=l.ticket_id WHERE l.task_id=? ORDER BY k.first_seen"),
        put_status_(db,
                    "INSERT INTO task_status_changes(task_id, status, at, source) "
                    "VALUES(?,?,?,?)"),
        status_history_(db,
                        "SELECT status, at, source FROM task_status_changes WHERE task_id=? "
                        "ORDER BY id"),
        get_task_(
            db, absl::StrCat("SELECT ", kTaskColumns, ", ",
                             "(SELECT COUNT(*) FROM task_links l WHERE l.task_id=tasks.id), "
                             "(SELECT COUNT(DISTINCT COALESCE(NULLIF(k.requester,''), "
                             "  k.helpdesk_id||'/'||k.ticket_id)) FROM task_links l JOIN tickets k "
                             "  ON k.helpdesk_id=l.helpdesk_id AND k.ticket_id=l.ticket_id "
                             "  WHERE l.task_id=tasks.id), "
                             "(SELECT MIN(k.first_seen) FROM task_links l JOIN tickets k "
                             "  ON k.helpdesk_id=l.helpdesk_id AND k.ticket_id=l.ticket_id "
                             "  WHERE l.task_id=tasks.id), "
                             "(SELECT MAX(k.first_seen) FROM task_links l JOIN tickets k "
                             "  ON k.helpdesk_id=l.helpdesk_id AND k.ticket_id=l.ticket_id "
                             "  WHERE l.task_id=tasks.id) "
                             "FROM tasks WHERE id=?")),
        list_tasks_(db,
                    "SELECT id FROM tasks WHERE (?1='' OR category_id=?1) AND (?2=0 OR status=?2) "
                    "ORDER BY id"),
        insert_task_(db,
                     "INSERT INTO tasks(category_id, tracker_id, external_id, external_key, url, "
                     "title, status, created_at, updated_at, regression_of) "
                     "VALUES(?,?,?,?,?,?,?,?,?,?)"),
        update_task_(
            db,
            "UPDATE tasks SET external_id=?, external_key=?, url=?, title=?, status=?, "
            "updated_at=?, done_at=?, verification=?, flagged=?, synced_tickets=?, synced_at=? "
            "WHERE id=?"),
        get_link_(db,
                  "SELECT task_id, origin, linked_at FROM task_links "
                  "WHERE helpdesk_id=? AND ticket_id=?"),
        links_of_task_(db,
                       "SELECT helpdesk_id, ticket_id, origin, linked_at FROM task_links "
                       "WHERE task_id=? ORDER BY linked_at, helpdesk_id, ticket_id"),
        put_link_(db,
                  "INSERT INTO task_links(helpdesk_id, ticket_id, task_id, origin, linked_at) "
                  "VALUES(?,?,?,?,?) ON CONFLICT(helpdesk_id, ticket_id) DO UPDATE SET "
                  "task_id=excluded.task_id, origin=excluded.origin, "
                  "linked_at=excluded.linked_at"),
        delete_link_(db, "DELETE FROM task_links WHERE helpdesk_id=? AND ticket_id=?"),
        enqueue_(db,
                 "INSERT INTO outbox(key, action, due_at, created_at) VALUES(?,?,?,?) "
                 "ON CONFLICT(key) DO NOTHING"),
        mark_delivery_(db,
                       "INSERT INTO delivery_outcomes(seq, state, note, processed_at) "
                       "VALUES(?,?,?,?) ON CONFLICT(seq) DO UPDATE SET state=excluded.state, "
                       "note=excluded.note, processed_at=excluded.processed_at"),
        feedback_(db,
                  "INSERT INTO feedback(helpdesk_id, ticket_id, old_category, new_category, "
                  "agent, at) VALUES(?,?,?,?,?,?)"),
        list_feedback_(db,
                       "SELECT helpdesk_id, ticket_id, new_category FROM feedback "
                       "ORDER BY id DESC LIMIT ?"),
        needs_review_(db,
                      "SELECT helpdesk_id, ticket_id FROM tickets WHERE needs_review = 1 AND "
                      "agent_corrected = 0 AND first_seen >= ? ORDER BY first_seen LIMIT ?"),
        put_promoted_(db, "INSERT INTO promoted_categories(id, promoted, at) VALUES(?,?,?)"),
        list_promoted_(db, "SELECT promoted FROM promoted_categories ORDER BY at, id"),
        all_tickets_(db, "SELECT ticket, classification, agent_corrected, first_seen FROM tickets"),
        get_cursor_(db, "SELECT value FROM cursors WHERE name = ?"),
        put_cursor_(db,
                    "INSERT INTO cursors(name, value, updated_at) VALUES(?,?,?) "
                    "ON CONFLICT(name) DO UPDATE SET value = excluded.value, "
                    "updated_at = excluded.updated_at"),
        forget_failures_(db, "DELETE FROM delivery_failures WHERE seq = ?"),
        by_external_(db, absl::StrCat("SELECT ", kTaskColumns,
                                      " FROM tasks WHERE tracker_id=? AND external_id=? "
                                      "ORDER BY id DESC LIMIT 1")),
        delivery_state_(db, "SELECT state FROM delivery_outcomes WHERE seq = ?"),
        record_failure_(
            db,
            "INSERT INTO delivery_failures(seq, attempts, error, at) VALUES(?1,1,?2,?3) "
            "ON CONFLICT(seq) DO UPDATE SET attempts = attempts + 1, "
            "error = excluded.error, at = excluded.at RETURNING attempts") {}

  ~Connection() override = default;

  absl::Status PrepareStatus() const {
    for (const Stmt* s :
         {&get_ticket_,    &put_ticket_,      &unlinked_,     &active_task_,    &last_done_,
          &count_tickets_, &linked_tickets_,  &put_status_,   &status_history_, &get_task_,
          &list_tasks_,    &insert_task_,     &update_task_,  &get_link_,       &links_of_task_,
          &put_link_,      &delete_link_,     &enqueue_,      &mark_delivery_,  &feedback_,
          &list_feedback_, &needs_review_,    &put_promoted_, &list_promoted_,  &get_cursor_,
          &put_cursor_,    &forget_failures_, &by_external_,  &record_failure_, &delivery_state_}) {
      if (!s->status().ok()) return s->status();
    }
    return absl::OkStatus();
  }

  sqlite3* db() const { return db_; }

  // spi::StoreTransaction
  absl::StatusOr<std::optional<spi::TicketRecord>> GetTicket(
      const std::string& helpdesk_id, const std::string& ticket_id) override {
    auto& s = get_ticket_.Reset().Bind(helpdesk_id).Bind(ticket_id);
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::nullopt;
    return TicketFromRow(s);
  }

  // A listing goes on past a row that cannot be read back (one damaged row must not stop
  // every query that passes it); the row itself fails where it is asked for by its key.
  static void SkipUnreadable(absl::string_view what, absl::string_view which) {
    std::cerr << "store: skipping " << what << (which.empty() ? "" : " ") << which
              << " whose stored record cannot be read\n";
  }

  // The columns ticket, classification, agent_corrected, first_seen of a tickets row.
  static absl::StatusOr<spi::TicketRecord> TicketFromRow(const Stmt& s) {
    spi::TicketRecord r;
    if (!r.ticket.ParseFromString(s.Text(0))) return absl::DataLossError("corrupt ticket row");
    if (!s.IsNull(1)) {
      r.classification.emplace();
      if (!r.classification->ParseFromString(s.Text(1)))
        return absl::DataLossError("corrupt classification row");
    }
    r.agent_corrected = s.Int(2) != 0;
    r.first_seen = FromMicros(s.Int(3));
    return r;
  }

  absl::Status PutTicket(const spi::TicketRecord& r) override {
    auto& s = put_ticket_.Reset()
                  .Bind(r.ticket.helpdesk_id())
                  .Bind(r.ticket.ticket_id())
                  .BindBlob(r.ticket.SerializeAsString());
    if (r.classification) {
      s.BindBlob(r.classification->SerializeAsString());
      if (r.classification->category_id().empty())
        s.BindNull();
      else
        s.Bind(r.classification->category_id());
      s.Bind(int64_t{r.classification->needs_review() ? 1 : 0});
    } else {
      s.BindNull().BindNull().Bind(int64_t{0});
    }
    const auto& who = r.ticket.requester();
    s.Bind(int64_t{r.agent_corrected ? 1 : 0})
        .Bind(!who.id().empty() ? who.id() : who.email())
        .Bind(ToMicros(r.first_seen))
        .Bind(ToMicros(clock_.Now()));
    return s.Exec();
  }

  absl::StatusOr<std::vector<v1::Ticket>> UnlinkedTickets(const std::string& category_id,
                                                          absl::Time since) override {
    auto& s = unlinked_.Reset().Bind(category_id).Bind(ToMicros(since));
    std::vector<v1::Ticket> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.emplace_back();
      if (!out.back().ParseFromString(s.Text(0))) {
        SkipUnreadable("a ticket", category_id);
        out.pop_back();
      }
    }
    return out;
  }

  absl::StatusOr<std::optional<v1::ImprovementTask>> ActiveTask(
      const std::string& category_id) override {
    // Called for every classified ticket: the task row only, without GetTask's impact
    // aggregates over all its links (which made the pipeline quadratic in a task's size).
    auto& s = active_task_.Reset().Bind(category_id);
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::nullopt;
    return TaskFromRow(s);
  }

  // The columns kTaskColumns (0..15) of a tasks row.
  static v1::ImprovementTask TaskFromRow(const Stmt& s) {
    v1::ImprovementTask t;
    t.set_id(s.Int(0));
    t.set_category_id(s.Text(1));
    t.set_tracker_id(s.Text(2));
    t.set_external_id(s.Text(3));
    t.set_external_key(s.Text(4));
    t.set_url(s.Text(5));
    t.set_title(s.Text(6));
    t.set_status(static_cast<v1::TaskStatus>(s.Int(7)));
    base::SetTimestamp(t.mutable_created_at(), FromMicros(s.Int(8)));
    base::SetTimestamp(t.mutable_updated_at(), FromMicros(s.Int(9)));
    if (!s.IsNull(10)) base::SetTimestamp(t.mutable_done_at(), FromMicros(s.Int(10)));
    t.set_regression_of(s.Int(11));
    if (!s.IsNull(12)) t.mutable_verification()->ParseFromString(s.Text(12));
    t.set_flagged(s.Int(13) != 0);
    t.set_synced_ticket_count(s.Int(14));
    if (!s.IsNull(15)) base::SetTimestamp(t.mutable_synced_at(), FromMicros(s.Int(15)));
    return t;
  }

  absl::StatusOr<std::optional<v1::ImprovementTask>> GetTask(int64_t task_id) override {
    auto& s = get_task_.Reset().Bind(task_id);
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::nullopt;
    v1::ImprovementTask t = TaskFromRow(s);
    t.set_ticket_count(s.Int(16));
    t.set_customer_count(s.Int(17));
    if (!s.IsNull(18)) base::SetTimestamp(t.mutable_first_seen(), FromMicros(s.Int(18)));
    if (!s.IsNull(19)) base::SetTimestamp(t.mutable_last_seen(), FromMicros(s.Int(19)));
    return t;
  }

  absl::StatusOr<std::optional<v1::ImprovementTask>> TaskByExternalId(
      const std::string& tracker_id, const std::string& external_id) override {
    auto& s = by_external_.Reset().Bind(tracker_id).Bind(external_id);
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::nullopt;
    return TaskFromRow(s);
  }

  absl::StatusOr<std::vector<v1::ImprovementTask>> ListTasks(const spi::TaskFilter& f) override {
    auto& s = list_tasks_.Reset().Bind(f.category_id).Bind(int64_t{f.status});
    std::vector<int64_t> ids;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      ids.push_back(s.Int(0));
    }
    std::vector<v1::ImprovementTask> out;
    for (int64_t id : ids) {
      auto t = GetTask(id);
      if (!t.ok()) return t.status();
      if (*t) out.push_back(std::move(**t));
    }
    return out;
  }

  absl::StatusOr<int64_t> InsertTask(const v1::ImprovementTask& t) override {
    int64_t now = ToMicros(clock_.Now());
    auto& s = insert_task_.Reset()
                  .Bind(t.category_id())
                  .Bind(t.tracker_id())
                  .Bind(t.external_id())
                  .Bind(t.external_key())
                  .Bind(t.url())
                  .Bind(t.title())
                  .Bind(int64_t{t.status()})
                  .Bind(now)
                  .Bind(now)
                  .Bind(t.regression_of());
    if (absl::Status st = s.Exec(); !st.ok()) {
      if (absl::IsAlreadyExists(st))
        return absl::AlreadyExistsError(
            absl::StrCat("category ", t.category_id(), " already has an active task"));
      return st;
    }
    return sqlite3_last_insert_rowid(db_);
  }

  absl::Status UpdateTask(const v1::ImprovementTask& t) override {
    auto& s = update_task_.Reset()
                  .Bind(t.external_id())
                  .Bind(t.external_key())
                  .Bind(t.url())
                  .Bind(t.title())
                  .Bind(int64_t{t.status()})
                  .Bind(ToMicros(clock_.Now()));
    if (t.has_done_at())
      s.Bind(ToMicros(base::FromTimestamp(t.done_at())));
    else
      s.BindNull();
    if (t.has_verification())
      s.BindBlob(t.verification().SerializeAsString());
    else
      s.BindNull();
    s.Bind(int64_t{t.flagged() ? 1 : 0}).Bind(t.synced_ticket_count());
    if (t.has_synced_at())
      s.Bind(ToMicros(base::FromTimestamp(t.synced_at())));
    else
      s.BindNull();
    return s.Bind(t.id()).Exec();
  }

  absl::StatusOr<std::optional<v1::ImprovementTask>> LastDoneTask(
      const std::string& category_id) override {
    auto& s = last_done_.Reset().Bind(category_id);
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::nullopt;
    return TaskFromRow(s);
  }

  absl::StatusOr<int64_t> CountTickets(const std::string& category_id, absl::Time from,
                                       absl::Time to) override {
    auto& s = count_tickets_.Reset().Bind(category_id).Bind(ToMicros(from)).Bind(ToMicros(to));
    auto row = s.Step();
    if (!row.ok()) return row.status();
    return s.Int(0);
  }

  absl::StatusOr<std::vector<spi::TicketRecord>> TicketsOfTask(int64_t task_id) override {
    auto& s = linked_tickets_.Reset().Bind(task_id);
    std::vector<spi::TicketRecord> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      auto r = TicketFromRow(s);
      if (!r.ok()) {
        SkipUnreadable("a ticket of task", std::to_string(task_id));
        continue;
      }
      out.push_back(std::move(*r));
    }
  }

  absl::Status RecordStatusChange(const v1::TaskStatusChange& c) override {
    return put_status_.Reset()
        .Bind(c.task_id())
        .Bind(int64_t{c.status()})
        .Bind(ToMicros(c.has_at() ? base::FromTimestamp(c.at()) : clock_.Now()))
        .Bind(c.source())
        .Exec();
  }

  absl::StatusOr<std::vector<v1::TaskStatusChange>> StatusHistory(int64_t task_id) override {
    auto& s = status_history_.Reset().Bind(task_id);
    std::vector<v1::TaskStatusChange> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      v1::TaskStatusChange& c = out.emplace_back();
      c.set_task_id(task_id);
      c.set_status(static_cast<v1::TaskStatus>(s.Int(0)));
      base::SetTimestamp(c.mutable_at(), FromMicros(s.Int(1)));
      c.set_source(s.Text(2));
    }
  }

  absl::StatusOr<std::optional<v1::TaskLink>> GetLink(const std::string& helpdesk_id,
                                                      const std::string& ticket_id) override {
    auto& s = get_link_.Reset().Bind(helpdesk_id).Bind(ticket_id);
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::nullopt;
    v1::TaskLink l;
    l.set_helpdesk_id(helpdesk_id);
    l.set_ticket_id(ticket_id);
    l.set_task_id(s.Int(0));
    l.set_origin(static_cast<v1::LinkOrigin>(s.Int(1)));
    base::SetTimestamp(l.mutable_linked_at(), FromMicros(s.Int(2)));
    return l;
  }

  absl::StatusOr<std::vector<v1::TaskLink>> LinksOfTask(int64_t task_id) override {
    auto& s = links_of_task_.Reset().Bind(task_id);
    std::vector<v1::TaskLink> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      v1::TaskLink& l = out.emplace_back();
      l.set_task_id(task_id);
      l.set_helpdesk_id(s.Text(0));
      l.set_ticket_id(s.Text(1));
      l.set_origin(static_cast<v1::LinkOrigin>(s.Int(2)));
      base::SetTimestamp(l.mutable_linked_at(), FromMicros(s.Int(3)));
    }
    return out;
  }

  absl::Status PutLink(const v1::TaskLink& l) override {
    int64_t at = ToMicros(l.has_linked_at() ? base::FromTimestamp(l.linked_at()) : clock_.Now());
    return put_link_.Reset()
        .Bind(l.helpdesk_id())
        .Bind(l.ticket_id())
        .Bind(l.task_id())
        .Bind(int64_t{l.origin()})
        .Bind(at)
        .Exec();
  }

  absl::Status DeleteLink(const std::string& helpdesk_id, const std::string& ticket_id) override {
    return delete_link_.Reset().Bind(helpdesk_id).Bind(ticket_id).Exec();
  }

  absl::Status Enqueue(const std::string& key, const v1::OutboxAction& action,
                       absl::Time due) override {
    return enqueue_.Reset()
        .Bind(key)
        .BindBlob(action.SerializeAsString())
        .Bind(ToMicros(due))
        .Bind(ToMicros(clock_.Now()))
        .Exec();
  }

  absl::Status MarkDelivery(int64_t seq, DeliveryState state, const std::string& note) override {
    absl::Status s = mark_delivery_.Reset()
                         .Bind(seq)
                         .Bind(int64_t{static_cast<int>(state)})
                         .Bind(note)
                         .Bind(ToMicros(clock_.Now()))
                         .Exec();
    if (!s.ok() || state == DeliveryState::kFailed) return s;
    return forget_failures_.Reset().Bind(seq).Exec();
  }

  absl::StatusOr<DeliveryState> GetDeliveryState(int64_t seq) override {
    auto& s = delivery_state_.Reset().Bind(seq);
    auto row = s.Step();
    if (!row.ok()) return row.status();
    return *row ? static_cast<DeliveryState>(s.Int(0)) : DeliveryState::kPending;
  }

  absl::StatusOr<int> RecordDeliveryFailure(int64_t seq, const std::string& error) override {
    auto& s = record_failure_.Reset().Bind(seq).Bind(error).Bind(ToMicros(clock_.Now()));
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::InternalError("recording a failed attempt returned nothing");
    return static_cast<int>(s.Int(0));
  }

  absl::Status RecordFeedback(const std::string& helpdesk_id, const std::string& ticket_id,
                              const std::string& old_category, const std::string& new_category,
                              const std::string& agent, absl::Time at) override {
    return feedback_.Reset()
        .Bind(helpdesk_id)
        .Bind(ticket_id)
        .Bind(old_category)
        .Bind(new_category)
        .Bind(agent)
        .Bind(ToMicros(at))
        .Exec();
  }

  absl::StatusOr<std::vector<spi::TicketRecord>> NeedsReviewTickets(absl::Time since,
                                                                    int limit) override {
    auto& s = needs_review_.Reset().Bind(ToMicros(since)).Bind(int64_t{limit});
    std::vector<std::pair<std::string, std::string>> refs;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      refs.emplace_back(s.Text(0), s.Text(1));
    }
    std::vector<spi::TicketRecord> out;
    for (const auto& [hd, tid] : refs) {
      auto r = GetTicket(hd, tid);
      if (!r.ok() && absl::IsDataLoss(r.status())) {
        SkipUnreadable("ticket", absl::StrCat(hd, "/", tid));
        continue;
      }
      if (!r.ok()) return r.status();
      if (*r) out.push_back(std::move(**r));
    }
    return out;
  }

  absl::Status ForEachTicket(const std::function<bool(const spi::TicketRecord&)>& fn) override {
    auto& s = all_tickets_.Reset();
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return absl::OkStatus();
      auto r = TicketFromRow(s);
      if (!r.ok()) {
        SkipUnreadable("a ticket", "");
        continue;
      }
      if (!fn(*r)) return absl::OkStatus();
    }
  }

  absl::StatusOr<std::optional<std::string>> GetCursor(const std::string& name) override {
    auto& s = get_cursor_.Reset().Bind(name);
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::nullopt;
    return s.Text(0);
  }

  absl::Status PutCursor(const std::string& name, const std::string& value) override {
    return put_cursor_.Reset().Bind(name).Bind(value).Bind(ToMicros(clock_.Now())).Exec();
  }

  absl::Status PutPromotedCategory(const v1::PromotedCategory& p) override {
    absl::Status s = put_promoted_.Reset()
                         .Bind(p.category().id())
                         .BindBlob(p.SerializeAsString())
                         .Bind(ToMicros(clock_.Now()))
                         .Exec();
    if (absl::IsAlreadyExists(s))
      return absl::AlreadyExistsError(
          absl::StrCat("category ", p.category().id(), " was promoted already"));
    return s;
  }

  absl::StatusOr<std::vector<v1::PromotedCategory>> PromotedCategories() override {
    auto& s = list_promoted_.Reset();
    std::vector<v1::PromotedCategory> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      if (!out.emplace_back().ParseFromString(s.Text(0)))
        return absl::DataLossError("corrupt promoted category");
    }
    return out;
  }

  absl::StatusOr<std::vector<spi::FeedbackRecord>> ListFeedback(int limit) override {
    auto& s = list_feedback_.Reset().Bind(int64_t{limit});
    std::vector<spi::FeedbackRecord> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back({s.Text(0), s.Text(1), s.Text(2)});
    }
    return out;
  }

 private:
  sqlite3* db_;
  const spi::Clock& clock_;
  Stmt get_ticket_, put_ticket_, unlinked_, active_task_, last_done_, count_tickets_,
      linked_tickets_, put_status_, status_history_, get_task_, list_tasks_, insert_task_,
      update_task_, get_link_, links_of_task_, put_link_, delete_link_, enqueue_, mark_delivery_,
      feedback_, list_feedback_, needs_review_, put_promoted_, list_promoted_, all_tickets_,
      get_cursor_, put_cursor_, forget_failures_, by_external_, delivery_state_, record_failure_;
};

template <size_t N>
absl::Status Migrate(sqlite3* db, const char* const (&migrations)[N], const std::string& what) {
  if (absl::Status s = Exec(db,
                            "CREATE TABLE IF NOT EXISTS schema_migrations("
                            "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
      !s.ok())
    return s;
  Stmt current(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!current.status().ok()) return current.status();
  auto row = current.Step();
  if (!row.ok()) return row.status();
  const int have = static_cast<int>(current.Int(0));
  ResetAll(db);  // an active statement would lock the tables a migration alters
  const int want = static_cast<int>(N);
  if (have > want) {
    return absl::FailedPreconditionError(absl::StrCat(what, " schema version ", have,
                                                      " is newer than this debriefd (", want,
                                                      "); upgrade debriefd"));
  }
  for (int v = have + 1; v <= want; ++v) {
    absl::Status s = Exec(db, "BEGIN IMMEDIATE");
    if (s.ok()) s = Exec(db, migrations[v - 1]);
    if (s.ok()) {
      std::string rec = absl::StrCat("INSERT INTO schema_migrations VALUES(", v, ", ",
                                     ToMicros(absl::Now()), ")");
      s = Exec(db, rec.c_str());
    }
    if (s.ok()) s = Exec(db, "COMMIT");
    if (!s.ok()) {
      Exec(db, "ROLLBACK").IgnoreError();
      return absl::InternalError(absl::StrCat(what, " migration ", v, " failed: ", s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

class SqliteStore final : public spi::Store {
 public:
  SqliteStore(const SqliteOptions& options, const spi::Clock& clock, sqlite3* write_db,
              sqlite3* read_db, sqlite3* inbox_db, sqlite3* inbox_read_db)
      : options_(options),
        clock_(clock),
        write_db_{write_db},
        read_db_{read_db},
        inbox_db_{inbox_db},
        inbox_read_db_{inbox_read_db},
        write_(write_db, clock),
        read_(read_db, clock),
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
        due_(write_db,
             "SELECT id, key, action, attempts FROM outbox WHERE state=0 AND due_at<=? "
             "ORDER BY due_at, id LIMIT ?"),
        complete_(write_db, "UPDATE outbox SET state=1, attempts=attempts+1 WHERE id=?"),
        retry_(write_db,
               "UPDATE outbox SET due_at=?, last_error=?, attempts=attempts+1 WHERE id=?"),
        dead_(write_db, "UPDATE outbox SET state=2, last_error=?, attempts=attempts+1 WHERE id=?") {
    committer_ = std::thread([this] {
      base::NameThisThread("inbox-commit");
      CommitLoop();
    });
  }

  ~SqliteStore() override { Close(); }

  absl::Status PrepareStatus() const {
    for (const Stmt* s : {&insert_delivery_, &pending_, &one_delivery_, &dead_letters_,
                          &processed_floor_, &due_, &complete_, &retry_, &dead_})
      if (!s->status().ok()) return s->status();
    if (auto s = write_.PrepareStatus(); !s.ok()) return s;
    return read_.PrepareStatus();
  }

  // spi::Store
  void AppendDelivery(StoredDelivery d,
                      std::function<void(absl::StatusOr<AppendOutcome>)> done) override {
    {
      std::lock_guard<std::mutex> l(queue_mu_);
      if (!closed_) {
        queue_.push_back({std::move(d), std::move(done)});
        queue_cv_.notify_one();
        return;
      }
    }
    done(absl::UnavailableError("store is shutting down"));
  }

  absl::StatusOr<std::vector<StoredDelivery>> PendingDeliveries(int64_t after_seq,
                                                                int limit) override {
    // Batches are processed in seq order and each commits with its outcomes, so the processed
    // deliveries are always a prefix: everything up to the largest recorded outcome.
    int64_t floor = 0;
    {
      std::lock_guard<std::mutex> l(read_mu_);
      auto& f = processed_floor_.Reset();
      auto row = f.Step();
      if (!row.ok()) return row.status();
      floor = f.Int(0);
      ResetAll(read_db_.db);
    }
    // Its own connection: reading a batch never holds up the group commit (WAL readers and the
    // writer do not wait for each other).
    std::lock_guard<std::mutex> l(inbox_read_mu_);
    auto& s = pending_.Reset().Bind(std::max(after_seq, floor)).Bind(int64_t{limit});
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
    return RunTx(write_, "BEGIN IMMEDIATE", fn);
  }

  absl::Status Read(const std::function<absl::Status(spi::StoreTransaction&)>& fn) override {
    std::lock_guard<std::mutex> l(read_mu_);
    return RunTx(read_, "BEGIN", fn);
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
    for (int64_t id : ids)
      if (s = complete_.Reset().Bind(id).Exec(); !s.ok()) break;
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

  void SetDeliveryListener(std::function<void()> listener) override {
    std::lock_guard<std::mutex> l(listener_mu_);
    listener_ = std::move(listener);
  }

  void Close() override {
    {
      std::lock_guard<std::mutex> l(queue_mu_);
      if (closed_) return;
      closed_ = true;
      queue_cv_.notify_all();
    }
    if (committer_.joinable()) committer_.join();
  }

 private:
  struct Pending {
    StoredDelivery delivery;
    std::function<void(absl::StatusOr<AppendOutcome>)> done;
  };

  // The columns seq, adapter_id, delivery_key, received_at, headers, body of a deliveries
  // row. A row that cannot be read back is marked unreadable instead of failing the read.
  static StoredDelivery DeliveryFromRow(const Stmt& s) {
    StoredDelivery d;
    d.seq = s.Int(0);
    d.adapter_id = s.Text(1);
    d.delivery_key = s.Text(2);
    d.received_at = FromMicros(s.Int(3));
    v1::StoredHeaders h;
    if (!h.ParseFromString(s.Text(4))) {
      d.unreadable = "its stored headers cannot be read";
      return d;
    }
    for (const auto& f : h.headers()) d.headers[f.name()] = f.value();
    d.body = s.Text(5);
    return d;
  }

  static absl::Status RunTx(Connection& c, const char* begin,
                            const std::function<absl::Status(spi::StoreTransaction&)>& fn) {
    if (absl::Status s = Exec(c.db(), begin); !s.ok()) return s;
    absl::Status s = fn(c);
    ResetAll(c.db());
    if (s.ok()) s = Exec(c.db(), "COMMIT");
    if (!s.ok()) Exec(c.db(), "ROLLBACK").IgnoreError();
    return s;
  }

  // Group commit: take everything queued (up to max_batch), waiting at most commit_delay for
  // more to arrive once the first is there, then write them in one transaction.
  void CommitLoop() {
    std::vector<Pending> batch;
    while (true) {
      {
        std::unique_lock<std::mutex> l(queue_mu_);
        queue_cv_.wait(l, [&] { return closed_ || !queue_.empty(); });
        if (queue_.empty() && closed_) return;
        if (!closed_ && static_cast<int>(queue_.size()) < options_.max_batch &&
            options_.commit_delay > absl::ZeroDuration()) {
          queue_cv_.wait_for(l, absl::ToChronoMicroseconds(options_.commit_delay), [&] {
            return closed_ || static_cast<int>(queue_.size()) >= options_.max_batch;
          });
        }
        while (!queue_.empty() && static_cast<int>(batch.size()) < options_.max_batch) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      CommitBatch(batch);
      batch.clear();
    }
  }

  void CommitBatch(std::vector<Pending>& batch) {
    std::vector<absl::StatusOr<AppendOutcome>> outcomes;
    outcomes.reserve(batch.size());
    absl::Status tx;
    {
      std::lock_guard<std::mutex> l(inbox_mu_);
      tx = Exec(inbox_db_.db, "BEGIN IMMEDIATE");
      if (tx.ok()) {
        v1::StoredHeaders h;
        for (Pending& p : batch) {
          h.clear_headers();
          for (const auto& [k, v] : p.delivery.headers) {
            v1::StoredHeaders::Field* f = h.add_headers();
            f->set_name(k);
            f->set_value(v);
          }
          auto& insert = insert_delivery_.Reset()
                             .Bind(p.delivery.adapter_id)
                             .Bind(p.delivery.delivery_key)
                             .Bind(ToMicros(p.delivery.received_at))
                             .BindBlob(h.SerializeAsString())
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
  std::mutex read_mu_;        // the read connection and its statements
  std::mutex inbox_mu_;       // the inbox connection and its statements (the commit thread's)
  std::mutex inbox_read_mu_;  // the inbox read connection and pending_
  Connection write_;
  Connection read_;
  Stmt insert_delivery_, pending_, one_delivery_, dead_letters_, processed_floor_, due_, complete_,
      retry_, dead_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Pending> queue_;
  bool closed_ = false;
  std::thread committer_;

  std::mutex listener_mu_;
  std::function<void()> listener_;
};

int SqliteSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

std::string InboxPath(const std::string& path) {
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".db") == 0)
    return path.substr(0, path.size() - 3) + ".inbox.db";
  return path + ".inbox";
}

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
  auto w = open(options.path, /*read_only=*/false);
  if (!w.ok()) return w.status();
  if (absl::Status s = Migrate(w->get(), kMigrations, "database"); !s.ok()) return s;
  auto in = open(inbox_path, /*read_only=*/false);
  if (!in.ok()) return in.status();
  if (absl::Status s = Migrate(in->get(), kInboxMigrations, "inbox"); !s.ok()) return s;
  auto r = open(options.path, /*read_only=*/true);
  if (!r.ok()) return r.status();
  auto in_r = open(inbox_path, /*read_only=*/true);
  if (!in_r.ok()) return in_r.status();
  auto store = std::make_unique<SqliteStore>(options, clock, w->release(), r->release(),
                                             in->release(), in_r->release());
  if (absl::Status s = store->PrepareStatus(); !s.ok()) return s;
  return store;
}

}  // namespace debrief::store
