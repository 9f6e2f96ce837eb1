#include "store/sqlite_schema.h"

#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "sqlite/sqlite.h"

namespace debrief::store {
namespace {

using sqlite::Exec;
using sqlite::ResetAll;
using sqlite::Stmt;

// Migration 12's triggers: a ticket entering a cause (NEW) or leaving it (OLD) in cause_weeks.
// A customer's tickets of a cause are repeat contacts but the first: a ticket that arrives
// after another of the same customer and cause is one; a ticket that arrives before all the
// others (a backfill lists history out of order) is the first instead, and the ticket that was
// first becomes one. Leaving undoes the same.
#define DEBRIEF_EARLIER(T)                                     \
  "EXISTS(SELECT 1 FROM tickets p WHERE p.person = " T         \
  ".person AND p.person <> '' "                                \
  "AND p.first_seen < " T ".first_seen AND p.category_id = " T \
  ".category_id "                                              \
  "AND p.needs_review = 0)"
#define DEBRIEF_NEXT_WEEK_OF(T)                                                      \
  "SELECT (l.first_seen / 1000000 + 259200) / 604800, l.helpdesk_id, l.category_id " \
  "FROM tickets l WHERE l.person = " T                                               \
  ".person AND l.person <> '' "                                                      \
  "AND l.category_id = " T                                                           \
  ".category_id AND l.needs_review = 0 "                                             \
  "AND l.first_seen > " T ".first_seen ORDER BY l.first_seen LIMIT 1"
#define DEBRIEF_CAUSE_ENTER \
  " INSERT INTO cause_weeks VALUES((NEW.first_seen / 1000000 + 259200) / 604800, "          \
  "NEW.helpdesk_id, NEW.category_id, 1, IFNULL(NEW.person, '') <> '' AND " DEBRIEF_EARLIER( \
      "NEW") ") ON CONFLICT(week, helpdesk_id, category_id) DO UPDATE SET "                  \
             "tickets = tickets + 1, repeats = repeats + excluded.repeats; "                \
             "UPDATE cause_weeks SET repeats = repeats + 1 WHERE IFNULL(NEW.person, '') <> '' " \
             "AND NOT " DEBRIEF_EARLIER("NEW") " AND (week, helpdesk_id, category_id) = (" \
                 DEBRIEF_NEXT_WEEK_OF("NEW") ");"
#define DEBRIEF_CAUSE_LEAVE \
  " UPDATE cause_weeks SET tickets = tickets - 1, repeats = MAX(0, repeats - "               \
  "(IFNULL(OLD.person, '') <> '' AND " DEBRIEF_EARLIER("OLD") ")) "                          \
  "WHERE week = (OLD.first_seen / 1000000 + 259200) / 604800 "                               \
  "AND helpdesk_id = OLD.helpdesk_id AND category_id = OLD.category_id; "                    \
  "UPDATE cause_weeks SET repeats = MAX(0, repeats - 1) WHERE IFNULL(OLD.person, '') <> '' " \
  "AND NOT " DEBRIEF_EARLIER("OLD") " AND (week, helpdesk_id, category_id) = ("              \
      DEBRIEF_NEXT_WEEK_OF("OLD") ");"

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
    // 8: the agent's view: a requester's journey across helpdesks (person: store/person_key.h),
    // open tickets of a cause (status), and the API tokens people and tools hold (hashed).
    R"sql(
    ALTER TABLE tickets ADD COLUMN person TEXT;
    ALTER TABLE tickets ADD COLUMN status TEXT;
    CREATE INDEX tickets_by_person ON tickets(person, first_seen) WHERE person <> '';
    CREATE INDEX task_links_by_task_time ON task_links(task_id, linked_at);
    CREATE TABLE api_tokens(
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      name TEXT NOT NULL,
      role TEXT NOT NULL,
      helpdesk_id TEXT NOT NULL DEFAULT '',
      installation INTEGER NOT NULL DEFAULT 0,
      hash TEXT NOT NULL UNIQUE,
      created_at INTEGER NOT NULL,
      last_used_at INTEGER,
      revoked_at INTEGER);
    )sql",
    // 9: a task's impact counts read from its links alone (one index, no join with tickets):
    // each link carries its ticket's customer and first_seen, kept by PutLink and PutTicket.
    R"sql(
    ALTER TABLE task_links ADD COLUMN customer TEXT;
    ALTER TABLE task_links ADD COLUMN first_seen INTEGER;
    UPDATE task_links SET
      customer = (SELECT COALESCE(NULLIF(k.requester, ''), k.helpdesk_id || '/' || k.ticket_id)
                  FROM tickets k
                  WHERE k.helpdesk_id = task_links.helpdesk_id
                    AND k.ticket_id = task_links.ticket_id),
      first_seen = (SELECT k.first_seen FROM tickets k
                    WHERE k.helpdesk_id = task_links.helpdesk_id
                      AND k.ticket_id = task_links.ticket_id);
    CREATE INDEX task_links_counts ON task_links(task_id, customer, first_seen);
    )sql",
    // 10: a task's ticket and customer counts kept as its links change (triggers), so reading
    // them costs the same for a task of ten tickets and one of fifty thousand; the first and
    // last seen come from one index each end.
    R"sql(
    CREATE TABLE task_counts(
      task_id INTEGER PRIMARY KEY,
      tickets INTEGER NOT NULL,
      customers INTEGER NOT NULL);
    CREATE TABLE task_customers(
      task_id INTEGER NOT NULL,
      customer TEXT NOT NULL,
      tickets INTEGER NOT NULL,
      PRIMARY KEY(task_id, customer)) WITHOUT ROWID;
    INSERT INTO task_customers
      SELECT task_id, customer, COUNT(*) FROM task_links WHERE customer IS NOT NULL
      GROUP BY task_id, customer;
    INSERT INTO task_counts
      SELECT l.task_id, COUNT(*),
             (SELECT COUNT(*) FROM task_customers c WHERE c.task_id = l.task_id)
      FROM task_links l GROUP BY l.task_id;
    DROP INDEX task_links_counts;
    CREATE INDEX task_links_span ON task_links(task_id, first_seen);
    CREATE TRIGGER task_links_count_insert AFTER INSERT ON task_links BEGIN
      INSERT INTO task_counts VALUES(NEW.task_id, 0, 0) ON CONFLICT(task_id) DO NOTHING;
      UPDATE task_counts SET tickets = tickets + 1,
        customers = customers + (NEW.customer IS NOT NULL AND NOT EXISTS(
          SELECT 1 FROM task_customers WHERE task_id = NEW.task_id AND customer = NEW.customer))
      WHERE task_id = NEW.task_id;
      INSERT INTO task_customers SELECT NEW.task_id, NEW.customer, 1 WHERE NEW.customer IS NOT NULL
        ON CONFLICT(task_id, customer) DO UPDATE SET tickets = tickets + 1;
    END;
    CREATE TRIGGER task_links_count_delete AFTER DELETE ON task_links BEGIN
      UPDATE task_customers SET tickets = tickets - 1
      WHERE task_id = OLD.task_id AND customer = OLD.customer;
      UPDATE task_counts SET tickets = tickets - 1,
        customers = customers - (SELECT COUNT(*) FROM task_customers
          WHERE task_id = OLD.task_id AND customer = OLD.customer AND tickets = 0)
      WHERE task_id = OLD.task_id;
      DELETE FROM task_customers
      WHERE task_id = OLD.task_id AND customer = OLD.customer AND tickets = 0;
    END;
    CREATE TRIGGER task_links_count_update AFTER UPDATE OF task_id, customer ON task_links
    WHEN OLD.task_id IS NOT NEW.task_id OR OLD.customer IS NOT NEW.customer BEGIN
      UPDATE task_customers SET tickets = tickets - 1
      WHERE task_id = OLD.task_id AND customer = OLD.customer;
      UPDATE task_counts SET tickets = tickets - 1,
        customers = customers - (SELECT COUNT(*) FROM task_customers
          WHERE task_id = OLD.task_id AND customer = OLD.customer AND tickets = 0)
      WHERE task_id = OLD.task_id;
      DELETE FROM task_customers
      WHERE task_id = OLD.task_id AND customer = OLD.customer AND tickets = 0;
      INSERT INTO task_counts VALUES(NEW.task_id, 0, 0) ON CONFLICT(task_id) DO NOTHING;
      UPDATE task_counts SET tickets = tickets + 1,
        customers = customers + (NEW.customer IS NOT NULL AND NOT EXISTS(
          SELECT 1 FROM task_customers WHERE task_id = NEW.task_id AND customer = NEW.customer))
      WHERE task_id = NEW.task_id;
      INSERT INTO task_customers SELECT NEW.task_id, NEW.customer, 1 WHERE NEW.customer IS NOT NULL
        ON CONFLICT(task_id, customer) DO UPDATE SET tickets = tickets + 1;
    END;
    )sql",
    // 11: identities an admin made one person (store/person_key.h): each member names its
    // group, the group is named by one of its members.
    R"sql(
    CREATE TABLE people(
      person TEXT PRIMARY KEY,
      grp TEXT NOT NULL,
      merged_at INTEGER NOT NULL) WITHOUT ROWID;
    CREATE INDEX people_by_group ON people(grp);
    )sql",
    // 12: the leads' insights. Each cause's confidently tagged tickets per week (Monday-based:
    // week = (unix seconds + 3 days) / 7 days) and helpdesk, with how many were a customer
    // writing again about the same cause (every ticket of a customer and cause but the first),
    // kept by triggers so 26 weeks read a few hundred rows, not a million tickets. The assignee
    // credited for praise; when each outbox action was carried out (when customers were told).
    // A cause's customers and assignees in a window come from its index alone.
    R"sql(
    ALTER TABLE tickets ADD COLUMN assignee TEXT;
    ALTER TABLE outbox ADD COLUMN done_at INTEGER;
    DROP INDEX tickets_by_category;
    CREATE INDEX tickets_by_category
      ON tickets(category_id, first_seen, needs_review, helpdesk_id, requester, assignee);
    CREATE TABLE cause_weeks(
      week INTEGER NOT NULL,
      helpdesk_id TEXT NOT NULL,
      category_id TEXT NOT NULL,
      tickets INTEGER NOT NULL,
      repeats INTEGER NOT NULL,
      PRIMARY KEY(week, helpdesk_id, category_id)) WITHOUT ROWID;
    INSERT INTO cause_weeks
      SELECT (t.first_seen / 1000000 + 259200) / 604800, t.helpdesk_id, t.category_id, COUNT(*),
             SUM(IFNULL(t.person, '') <> '' AND EXISTS(
               SELECT 1 FROM tickets p WHERE p.person = t.person AND p.person <> ''
                 AND p.first_seen < t.first_seen AND p.category_id = t.category_id
                 AND p.needs_review = 0))
      FROM tickets t WHERE t.category_id IS NOT NULL AND t.needs_review = 0
      GROUP BY 1, 2, 3;
    CREATE TRIGGER tickets_cause_insert AFTER INSERT ON tickets
    WHEN NEW.category_id IS NOT NULL AND NEW.needs_review = 0 BEGIN)sql" DEBRIEF_CAUSE_ENTER R"sql(
    END;
    CREATE TRIGGER tickets_cause_enter AFTER UPDATE OF category_id, needs_review ON tickets
    WHEN NEW.category_id IS NOT NULL AND NEW.needs_review = 0
      AND (OLD.category_id IS NOT NEW.category_id OR OLD.needs_review <> 0) BEGIN)sql" DEBRIEF_CAUSE_ENTER
    R"sql(
    END;
    CREATE TRIGGER tickets_cause_leave AFTER UPDATE OF category_id, needs_review ON tickets
    WHEN OLD.category_id IS NOT NULL AND OLD.needs_review = 0
      AND (OLD.category_id IS NOT NEW.category_id OR NEW.needs_review <> 0) BEGIN)sql" DEBRIEF_CAUSE_LEAVE
    R"sql(
    END;
    CREATE TRIGGER tickets_cause_delete AFTER DELETE ON tickets
    WHEN OLD.category_id IS NOT NULL AND OLD.needs_review = 0 BEGIN)sql" DEBRIEF_CAUSE_LEAVE R"sql(
    END;
    )sql",
    // 13: the audit log (who did what, when); dead outbox actions listed newest first.
    R"sql(
    CREATE TABLE audit(
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      at INTEGER NOT NULL,
      actor TEXT NOT NULL,
      action TEXT NOT NULL,
      target TEXT NOT NULL,
      outcome TEXT NOT NULL);
    CREATE INDEX audit_by_actor ON audit(actor, id);
    CREATE INDEX outbox_dead ON outbox(id) WHERE state = 2;
    )sql",
    // 14: shipped, after done: when the release holding a task's fix came out, and its name.
    // Tasks done before this told their tickets at done: they are shipped then.
    R"sql(
    ALTER TABLE tasks ADD COLUMN shipped_at INTEGER;
    UPDATE tasks SET status = 6, shipped_at = done_at WHERE status = 4;
    ALTER TABLE tasks ADD COLUMN release TEXT;
    ALTER TABLE task_status_changes ADD COLUMN release TEXT;
    DROP INDEX tasks_done;
    CREATE INDEX tasks_done ON tasks(category_id, done_at) WHERE status IN (4, 6);
    )sql",
    // 15: taxonomy versions (every category of each, with who applied it and what changed).
    R"sql(
    CREATE TABLE taxonomy_versions(
      version INTEGER PRIMARY KEY,
      at INTEGER NOT NULL,
      taxonomy BLOB NOT NULL);
    )sql",
    // 16: leases on jobs that run on one replica at a time (spi::StoreTransaction::HoldLease).
    R"sql(
    CREATE TABLE leases(
      name TEXT PRIMARY KEY,
      holder TEXT NOT NULL,
      expires_at INTEGER NOT NULL);
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
                                     absl::ToUnixMicros(absl::Now()), ")");
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

absl::Status MigrateDatabase(sqlite3* db) { return Migrate(db, kMigrations, "database"); }
absl::Status MigrateInbox(sqlite3* db) { return Migrate(db, kInboxMigrations, "inbox"); }
int DatabaseSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

}  // namespace debrief::store
