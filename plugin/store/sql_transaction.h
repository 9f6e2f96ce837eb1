#pragma once

// The operations of a transaction, written once for both stores: SQLite's (sqlite_transaction.cc)
// and PostgreSQL's (pg_transaction.cc). The SQL is the common dialect of the two, in SQLite's
// placeholder style (pg::Stmt translates it); `Db` names the connection handle, the statement
// type, the base class and how many rows the last statement changed. Included by those two
// files only.

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/log.h"
#include "base/time_util.h"
#include "debrief/spi/store.h"
#include "store/person_key.h"
#include "store/store_time.h"

namespace debrief::store {

namespace sql_transaction {

using spi::DeliveryState;

// What a link keeps of its ticket ?1/?2 for the task's counts: the customer (the requester, or
// the ticket itself when it names none) and when the ticket was first seen.
#define kLinkCustomer                                                                              \
  "(SELECT COALESCE(NULLIF(k.requester, ''), k.helpdesk_id || '/' || k.ticket_id) FROM tickets k " \
  "WHERE k.helpdesk_id=?1 AND k.ticket_id=?2)"
#define kLinkFirstSeen \
  "(SELECT k.first_seen FROM tickets k WHERE k.helpdesk_id=?1 AND k.ticket_id=?2)"

constexpr char kTokenColumns[] =
    "id, name, role, helpdesk_id, created_at, last_used_at, revoked_at, installation";

constexpr char kTaskColumns[] =
    "id, category_id, tracker_id, external_id, external_key, url, title, status, created_at, "
    "updated_at, done_at, regression_of, verification, flagged, synced_tickets, synced_at, "
    "shipped_at, release";

// The statements of one connection, and StoreTransaction over them.
template <class Db>
class Connection final : public Db::Transaction {
 public:
  using Stmt = typename Db::Stmt;

  Connection(typename Db::Handle db, const spi::Clock& clock, std::string installation)
      : db_(db),
        clock_(clock),
        installation_(std::move(installation)),
        get_ticket_(db,
                    "SELECT ticket, classification, agent_corrected, first_seen FROM tickets "
                    "WHERE helpdesk_id=? AND ticket_id=?"),
        put_ticket_(db,
                    "INSERT INTO tickets(helpdesk_id, ticket_id, ticket, classification, "
                    "category_id, needs_review, agent_corrected, requester, first_seen, "
                    "updated_at, person, status, assignee) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?) "
                    "ON CONFLICT(helpdesk_id, ticket_id) DO UPDATE SET ticket=excluded.ticket, "
                    "classification=excluded.classification, category_id=excluded.category_id, "
                    "needs_review=excluded.needs_review, "
                    "agent_corrected=excluded.agent_corrected, requester=excluded.requester, "
                    "updated_at=excluded.updated_at, person=excluded.person, "
                    "status=excluded.status, assignee=excluded.assignee"),
        unlinked_(db,
                  "SELECT t.ticket FROM tickets t LEFT JOIN task_links l "
                  "ON l.helpdesk_id=t.helpdesk_id AND l.ticket_id=t.ticket_id "
                  "WHERE t.category_id=? AND t.needs_review=0 AND t.first_seen>=? "
                  "AND l.task_id IS NULL ORDER BY t.first_seen"),
        active_task_(db, absl::StrCat("SELECT ", kTaskColumns,
                                      " FROM tasks WHERE category_id=? AND status IN (1,2,3)")),
        last_done_(db, absl::StrCat("SELECT ", kTaskColumns,
                                    " FROM tasks WHERE category_id=? AND status IN (4,6) "
                                    "ORDER BY done_at DESC, id DESC LIMIT 1")),
        count_tickets_(db,
                       "SELECT COUNT(*) FROM tickets WHERE category_id=? AND needs_review=0 "
                       "AND first_seen>=? AND first_seen<?"),
        linked_tickets_(db,
                        "SELECT k.ticket, k.classification, k.agent_corrected, k.first_seen "
                        "FROM task_links l JOIN tickets k ON k.helpdesk_id=l.helpdesk_id "
                        "AND k.ticket_id=l.ticket_id WHERE l.task_id=? ORDER BY k.first_seen"),
        put_status_(db,
                    "INSERT INTO task_status_changes(task_id, status, at, source, release) "
                    "VALUES(?,?,?,?,?)"),
        status_history_(
            db,
            "SELECT status, at, source, release FROM task_status_changes WHERE task_id=? "
            "ORDER BY id"),
        // The counts kept by the links' triggers (migration 10); first and last seen from
        // each end of the index task_links_span.
        get_task_(db, absl::StrCat("SELECT ", kTaskColumns,
                                   ", COALESCE(c.tickets, 0), COALESCE(c.customers, 0), "
                                   "(SELECT MIN(first_seen) FROM task_links WHERE task_id=?1), "
                                   "(SELECT MAX(first_seen) FROM task_links WHERE task_id=?1) "
                                   "FROM tasks LEFT JOIN task_counts c ON c.task_id=tasks.id "
                                   "WHERE tasks.id=?1")),
        list_tasks_(db,
                    "SELECT id FROM tasks WHERE (?1='' OR category_id=?1) AND (?2=0 OR status=?2) "
                    "ORDER BY id"),
        insert_task_(db,
                     "INSERT INTO tasks(category_id, tracker_id, external_id, external_key, url, "
                     "title, status, created_at, updated_at, regression_of) "
                     "VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING id"),
        update_task_(
            db,
            "UPDATE tasks SET external_id=?, external_key=?, url=?, title=?, status=?, "
            "updated_at=?, done_at=?, verification=?, flagged=?, synced_tickets=?, synced_at=?, "
            "shipped_at=?, release=? WHERE id=?"),
        get_link_(db,
                  "SELECT task_id, origin, linked_at FROM task_links "
                  "WHERE helpdesk_id=? AND ticket_id=?"),
        links_of_task_(db,
                       "SELECT helpdesk_id, ticket_id, origin, linked_at FROM task_links "
                       "WHERE task_id=? ORDER BY linked_at, helpdesk_id, ticket_id"),
        put_link_(db,
                  "INSERT INTO task_links(helpdesk_id, ticket_id, task_id, origin, linked_at, "
                  "customer, first_seen) VALUES(?1,?2,?3,?4,?5, " kLinkCustomer ", " kLinkFirstSeen
                  ") ON CONFLICT(helpdesk_id, ticket_id) DO UPDATE SET "
                  "task_id=excluded.task_id, origin=excluded.origin, "
                  "linked_at=excluded.linked_at, customer=excluded.customer, "
                  "first_seen=excluded.first_seen"),
        link_customer_(db, "UPDATE task_links SET customer=" kLinkCustomer
                           ", first_seen=" kLinkFirstSeen " WHERE helpdesk_id=?1 AND ticket_id=?2"),
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
                  "agent, at) VALUES(?,?,?,?,?,?) RETURNING id"),
        list_feedback_(db,
                       "SELECT id, helpdesk_id, ticket_id, new_category FROM feedback "
                       "ORDER BY id DESC LIMIT ?"),
        feedback_after_(db,
                        "SELECT id, helpdesk_id, ticket_id, new_category FROM feedback "
                        "WHERE id > ? ORDER BY id LIMIT ?"),
        needs_review_(db,
                      "SELECT helpdesk_id, ticket_id FROM tickets WHERE needs_review = 1 AND "
                      "agent_corrected = 0 AND first_seen >= ? ORDER BY first_seen LIMIT ?"),
        put_promoted_(db,
                      "INSERT INTO promoted_categories(id, promoted, at) VALUES(?,?,?) "
                      "ON CONFLICT DO NOTHING"),
        list_promoted_(db, "SELECT promoted FROM promoted_categories ORDER BY at, id"),
        // A page at a time, by key: a store whose results arrive whole (PostgreSQL's) holds
        // one page in memory, never the table.
        all_tickets_(db,
                     "SELECT ticket, classification, agent_corrected, first_seen, helpdesk_id, "
                     "ticket_id FROM tickets WHERE (helpdesk_id, ticket_id) > (?, ?) "
                     "ORDER BY helpdesk_id, ticket_id LIMIT 500"),
        move_task_(db, "UPDATE tasks SET category_id = ? WHERE id = ?"),
        put_taxonomy_(db,
                      "INSERT INTO taxonomy_versions(version, at, taxonomy) VALUES("
                      "(SELECT COALESCE(MAX(version), 0) + 1 FROM taxonomy_versions), ?, ?) "
                      "RETURNING version"),
        list_taxonomy_(db,
                       "SELECT version, taxonomy FROM taxonomy_versions ORDER BY version DESC "
                       "LIMIT ?"),
        of_category_(db,
                     "SELECT ticket, classification, agent_corrected, first_seen FROM tickets "
                     "WHERE category_id=? AND first_seen >= ? ORDER BY first_seen DESC LIMIT ?"),
        get_cursor_(db, "SELECT value FROM cursors WHERE name = ?"),
        put_cursor_(db,
                    "INSERT INTO cursors(name, value, updated_at) VALUES(?,?,?) "
                    "ON CONFLICT(name) DO UPDATE SET value = excluded.value, "
                    "updated_at = excluded.updated_at"),
        forget_failures_(db, "DELETE FROM delivery_failures WHERE seq = ?"),
        settled_(db, "SELECT seq FROM delivery_outcomes WHERE seq >= ? AND seq <= ? ORDER BY seq"),
        // A lease is taken when free or lapsed, and kept by its holder; the row comes back
        // only when it is the holder's now.
        hold_lease_(db,
                    "INSERT INTO leases(name, holder, expires_at) VALUES(?1, ?2, ?4) "
                    "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, "
                    "expires_at = excluded.expires_at "
                    "WHERE leases.holder = excluded.holder OR leases.expires_at <= ?3 "
                    "RETURNING holder"),
        release_lease_(db, "DELETE FROM leases WHERE name = ? AND holder = ?"),
        weekly_(db, "SELECT linked_at FROM task_links WHERE task_id=? AND linked_at>=?"),
        person_of_(db,
                   "SELECT COALESCE(person, '') FROM tickets WHERE helpdesk_id=? AND ticket_id=?"),
        tickets_of_person_(
            db,
            "SELECT ticket, classification, agent_corrected, first_seen FROM tickets "
            "WHERE person IN (SELECT ?1 UNION SELECT person FROM people WHERE grp = "
            "(SELECT grp FROM people WHERE person=?1)) AND person<>'' "
            "ORDER BY first_seen DESC LIMIT ?2"),
        group_of_(db, "SELECT COALESCE((SELECT grp FROM people WHERE person=?1), ?1)"),
        join_group_(db,
                    "INSERT INTO people(person, grp, merged_at) VALUES(?1, ?2, ?3) "
                    "ON CONFLICT(person) DO UPDATE SET grp=excluded.grp, "
                    "merged_at=excluded.merged_at"),
        move_group_(db, "UPDATE people SET grp=?2, merged_at=?3 WHERE grp=?1"),
        group_size_(db, "SELECT COUNT(*) FROM people WHERE grp=?"),
        leave_group_(db, "DELETE FROM people WHERE person=?"),
        min_member_(db, "SELECT MIN(person) FROM people WHERE grp=?"),
        rename_group_(db, "UPDATE people SET grp=?2 WHERE grp=?1"),
        drop_lone_(db,
                   "DELETE FROM people WHERE grp=?1 AND (SELECT COUNT(*) FROM people "
                   "WHERE grp=?1)=1"),
        open_of_category_(db,
                          "SELECT ticket, classification, agent_corrected, first_seen FROM tickets "
                          "WHERE category_id=? AND needs_review=0 AND COALESCE(status, '') NOT IN "
                          "('solved', 'closed') ORDER BY first_seen DESC LIMIT ?"),
        search_tasks_(db,
                      "SELECT id, title FROM tasks WHERE (?1='' OR category_id=?1) "
                      "ORDER BY status IN (1,2,3) DESC, id DESC"),
        put_token_(db,
                   "INSERT INTO api_tokens(name, role, helpdesk_id, hash, created_at, "
                   "installation) VALUES(?,?,?,?,?,?) RETURNING id"),
        token_by_hash_(db, absl::StrCat("SELECT ", kTokenColumns, " FROM api_tokens WHERE hash=?")),
        list_tokens_(db, absl::StrCat("SELECT ", kTokenColumns, " FROM api_tokens ORDER BY id")),
        revoke_token_(db, "UPDATE api_tokens SET revoked_at=? WHERE id=? AND revoked_at IS NULL"),
        token_exists_(db, "SELECT 1 FROM api_tokens WHERE id=?"),
        touch_token_(db, "UPDATE api_tokens SET last_used_at=? WHERE id=?"),
        peek_task_(db, absl::StrCat("SELECT ", kTaskColumns, " FROM tasks WHERE id=?")),
        by_external_(db, absl::StrCat("SELECT ", kTaskColumns,
                                      " FROM tasks WHERE tracker_id=? AND external_id=? "
                                      "ORDER BY id DESC LIMIT 1")),
        delivery_state_(db, "SELECT state FROM delivery_outcomes WHERE seq = ?"),
        record_failure_(
            db,
            "INSERT INTO delivery_failures(seq, attempts, error, at) VALUES(?1,1,?2,?3) "
            "ON CONFLICT(seq) DO UPDATE SET attempts = delivery_failures.attempts + 1, "
            "error = excluded.error, at = excluded.at RETURNING attempts"),
        cause_weeks_(db,
                     "SELECT week, category_id, SUM(tickets), SUM(repeats) FROM cause_weeks "
                     "WHERE week>=?1 AND week<?2 AND (?3='' OR helpdesk_id=?3) "
                     "GROUP BY week, category_id HAVING SUM(tickets)>0 ORDER BY week, category_id"),
        count_customers_(db,
                         // A ticket naming no requester is a customer of its own.
                         "SELECT COUNT(DISTINCT NULLIF(requester, '')) + "
                         "SUM(CASE WHEN COALESCE(requester, '') = '' THEN 1 ELSE 0 END) FROM "
                         "tickets WHERE category_id=?1 "
                         "AND needs_review=0 AND first_seen>=?2 AND first_seen<?3 "
                         "AND (?4='' OR helpdesk_id=?4)"),
        by_assignee_(db,
                     "SELECT COALESCE(assignee, ''), COUNT(*) FROM tickets WHERE category_id=?1 "
                     "AND needs_review=0 AND first_seen>=?2 AND first_seen<?3 "
                     "AND (?4='' OR helpdesk_id=?4) GROUP BY 1 ORDER BY 2 DESC, 1"),
        told_(db,
              "SELECT COUNT(*), MAX(COALESCE(done_at, due_at)) FROM outbox "
              "WHERE key>=?1 AND key<?2 AND state=1"),
        list_actions_(db,
                      "SELECT id, key, action, attempts, COALESCE(last_error, ''), created_at "
                      "FROM outbox WHERE state=? ORDER BY id DESC LIMIT ?"),
        action_state_(db, "SELECT state FROM outbox WHERE id=?"),
        revive_(db,
                "UPDATE outbox SET state=0, attempts=0, due_at=?1 "
                "WHERE state=2 AND (id=?2 OR ?2=0)"),
        discard_(db, "UPDATE outbox SET state=3 WHERE state=2 AND (id=?1 OR ?1=0)"),
        append_audit_(db,
                      "INSERT INTO audit(at, actor, action, target, outcome) VALUES(?,?,?,?,?)"),
        list_audit_(db,
                    "SELECT id, at, actor, action, target, outcome FROM audit "
                    "WHERE (id<?1 OR ?1=0) AND (?2='' OR actor=?2) ORDER BY id DESC LIMIT ?3") {}

  ~Connection() override = default;

  absl::Status PrepareStatus() const override {
    for (const Stmt* s : {&get_ticket_,      &put_ticket_,        &unlinked_,
                          &active_task_,     &last_done_,         &count_tickets_,
                          &linked_tickets_,  &put_status_,        &status_history_,
                          &get_task_,        &list_tasks_,        &insert_task_,
                          &update_task_,     &get_link_,          &links_of_task_,
                          &put_link_,        &delete_link_,       &enqueue_,
                          &mark_delivery_,   &feedback_,          &list_feedback_,
                          &feedback_after_,  &needs_review_,      &put_promoted_,
                          &list_promoted_,   &move_task_,         &put_taxonomy_,
                          &list_taxonomy_,   &of_category_,       &get_cursor_,
                          &put_cursor_,      &forget_failures_,   &settled_,
                          &hold_lease_,      &release_lease_,     &weekly_,
                          &person_of_,       &tickets_of_person_, &open_of_category_,
                          &search_tasks_,    &put_token_,         &token_by_hash_,
                          &list_tokens_,     &revoke_token_,      &token_exists_,
                          &touch_token_,     &by_external_,       &record_failure_,
                          &peek_task_,       &link_customer_,     &delivery_state_,
                          &group_of_,        &join_group_,        &move_group_,
                          &group_size_,      &leave_group_,       &min_member_,
                          &rename_group_,    &drop_lone_,         &cause_weeks_,
                          &count_customers_, &by_assignee_,       &told_,
                          &list_actions_,    &action_state_,      &revive_,
                          &discard_,         &append_audit_,      &list_audit_}) {
      if (!s->status().ok()) return s->status();
    }
    return absl::OkStatus();
  }

  typename Db::Handle db() const override { return db_; }

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
    base::log::Warning("store", absl::StrCat("skipping ", what, (which.empty() ? "" : " "), which,
                                             " whose stored record cannot be read"));
  }

  // Every row of `s` (the TicketFromRow columns); a row that cannot be read is skipped.
  absl::StatusOr<std::vector<spi::TicketRecord>> Records(Stmt& s, absl::string_view what) {
    std::vector<spi::TicketRecord> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      auto r = TicketFromRow(s);
      if (!r.ok()) {
        SkipUnreadable(what, "");
        continue;
      }
      out.push_back(std::move(*r));
    }
    return out;
  }

  // The columns kTokenColumns of an api_tokens row.
  static v1::ApiToken TokenFromRow(const Stmt& s) {
    v1::ApiToken t;
    t.set_id(s.Int(0));
    t.set_name(s.Text(1));
    t.set_role(s.Text(2));
    t.set_helpdesk_id(s.Text(3));
    base::SetTimestamp(t.mutable_created_at(), FromMicros(s.Int(4)));
    if (!s.IsNull(5)) base::SetTimestamp(t.mutable_last_used_at(), FromMicros(s.Int(5)));
    t.set_revoked(!s.IsNull(6));
    t.set_installation(s.Int(7) != 0);
    return t;
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
        .Bind(ToMicros(clock_.Now()))
        .Bind(PersonKey(installation_, r.ticket))
        .Bind(r.ticket.status())
        .Bind(!r.ticket.assignee().name().empty() ? r.ticket.assignee().name()
                                                  : r.ticket.assignee().id());
    if (absl::Status st = s.Exec(); !st.ok()) return st;
    // A linked ticket's customer may have changed: its link counts for the new one.
    return link_customer_.Reset().Bind(r.ticket.helpdesk_id()).Bind(r.ticket.ticket_id()).Exec();
  }

  absl::StatusOr<std::vector<spi::TicketRecord>> TicketsOfSamePerson(const std::string& helpdesk_id,
                                                                     const std::string& ticket_id,
                                                                     int limit) override {
    auto& p = person_of_.Reset().Bind(helpdesk_id).Bind(ticket_id);
    auto row = p.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::vector<spi::TicketRecord>{};
    const std::string person = p.Text(0);
    if (person.empty()) {
      auto one = GetTicket(helpdesk_id, ticket_id);
      if (!one.ok()) return one.status();
      std::vector<spi::TicketRecord> out;
      if (*one) out.push_back(std::move(**one));
      return out;
    }
    return Records(tickets_of_person_.Reset().Bind(person).Bind(int64_t{limit}), "a ticket");
  }

  absl::StatusOr<std::string> PersonOfTicket(const std::string& helpdesk_id,
                                             const std::string& ticket_id) override {
    auto& p = person_of_.Reset().Bind(helpdesk_id).Bind(ticket_id);
    auto row = p.Step();
    if (!row.ok()) return row.status();
    std::string out = *row ? p.Text(0) : "";
    p.Reset();
    return out;
  }

  std::string PersonOfEmail(const std::string& email) override {
    v1::Ticket t;
    t.mutable_requester()->set_email(email);
    return PersonKey(installation_, t);
  }

  absl::StatusOr<int> MergePeople(const std::string& person, const std::string& into,
                                  absl::Time at) override {
    if (person.empty() || into.empty())
      return absl::InvalidArgumentError("both identities must be known");
    auto group = [&](const std::string& p) -> absl::StatusOr<std::string> {
      auto& s = group_of_.Reset().Bind(p);
      auto row = s.Step();
      if (!row.ok()) return row.status();
      std::string g = s.Text(0);
      s.Reset();
      return g;
    };
    auto from = group(person);
    if (!from.ok()) return from.status();
    auto to = group(into);
    if (!to.ok()) return to.status();
    if (*from != *to) {
      // The group named by `into`'s side takes in every member of `person`'s, then the two
      // identities themselves (a lone identity has no row until it is merged).
      if (auto s = move_group_.Reset().Bind(*from).Bind(*to).Bind(ToMicros(at)).Exec(); !s.ok())
        return s;
      for (const std::string* p : std::initializer_list<const std::string*>{&into, &person, &*to})
        if (auto s = join_group_.Reset().Bind(*p).Bind(*to).Bind(ToMicros(at)).Exec(); !s.ok())
          return s;
    }
    auto& n = group_size_.Reset().Bind(*to);
    auto row = n.Step();
    if (!row.ok()) return row.status();
    const int size = static_cast<int>(std::max<int64_t>(1, n.Int(0)));
    n.Reset();
    return size;
  }

  absl::Status SplitPerson(const std::string& person) override {
    auto& g = group_of_.Reset().Bind(person);
    auto row = g.Step();
    if (!row.ok()) return row.status();
    std::string group = g.Text(0);
    g.Reset();
    if (absl::Status s = leave_group_.Reset().Bind(person).Exec(); !s.ok()) return s;
    if (Db::Changes(db_) == 0)
      return absl::NotFoundError("that identity was not merged with another");
    if (group == person) {
      // The group was named by the identity that left: the least of those remaining names it.
      auto& m = min_member_.Reset().Bind(group);
      auto next = m.Step();
      if (!next.ok()) return next.status();
      const std::string name = m.IsNull(0) ? "" : m.Text(0);
      m.Reset();
      if (name.empty()) return absl::OkStatus();
      if (absl::Status s = rename_group_.Reset().Bind(group).Bind(name).Exec(); !s.ok()) return s;
      group = name;
    }
    // One identity left alone is no longer merged with anyone.
    return drop_lone_.Reset().Bind(group).Exec();
  }

  absl::StatusOr<std::vector<int64_t>> WeeklyTicketsOfTask(int64_t task_id, absl::Time now,
                                                           int weeks) override {
    std::vector<int64_t> out(std::max(weeks, 0), 0);
    const absl::Duration week = absl::Hours(24 * 7);
    auto& s = weekly_.Reset().Bind(task_id).Bind(ToMicros(now - weeks * week));
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      const int64_t ago = (now - FromMicros(s.Int(0))) / week;
      if (ago >= 0 && ago < weeks) ++out[weeks - 1 - ago];
    }
  }

  absl::StatusOr<std::vector<spi::TicketRecord>> OpenTicketsOfCategory(
      const std::string& category_id, int limit) override {
    return Records(open_of_category_.Reset().Bind(category_id).Bind(int64_t{limit}),
                   "a ticket of category");
  }

  absl::StatusOr<std::vector<v1::ImprovementTask>> SearchTasks(const std::string& words,
                                                               const std::string& category_id,
                                                               int limit) override {
    const std::vector<std::string> wanted =
        absl::StrSplit(absl::AsciiStrToLower(words), ' ', absl::SkipWhitespace());
    auto& s = search_tasks_.Reset().Bind(category_id);
    std::vector<int64_t> ids;
    while (static_cast<int>(ids.size()) < limit) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      const std::string title = absl::AsciiStrToLower(s.Text(1));
      if (std::all_of(wanted.begin(), wanted.end(),
                      [&](const std::string& w) { return absl::StrContains(title, w); }))
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

  absl::StatusOr<int64_t> PutApiToken(const v1::ApiToken& t, const std::string& hash) override {
    absl::Status s = put_token_.Reset()
                         .Bind(t.name())
                         .Bind(t.role())
                         .Bind(t.helpdesk_id())
                         .Bind(hash)
                         .Bind(ToMicros(clock_.Now()))
                         .Bind(int64_t{t.installation() ? 1 : 0})
                         .Exec();
    if (!s.ok()) return s;
    const int64_t id = put_token_.Int(0);
    put_token_.Reset();
    return id;
  }

  absl::StatusOr<std::optional<v1::ApiToken>> ApiTokenByHash(const std::string& hash) override {
    auto& s = token_by_hash_.Reset().Bind(hash);
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::nullopt;
    return TokenFromRow(s);
  }

  absl::StatusOr<std::vector<v1::ApiToken>> ListApiTokens() override {
    auto& s = list_tokens_.Reset();
    std::vector<v1::ApiToken> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.push_back(TokenFromRow(s));
    }
  }

  absl::Status RevokeApiToken(int64_t id, absl::Time at) override {
    auto& s = revoke_token_.Reset().Bind(ToMicros(at)).Bind(id);
    if (absl::Status st = s.Exec(); !st.ok()) return st;
    auto& exists = token_exists_.Reset().Bind(id);
    auto row = exists.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError(absl::StrCat("no API token ", id));
    return absl::OkStatus();
  }

  absl::Status TouchApiToken(int64_t id, absl::Time at) override {
    return touch_token_.Reset().Bind(ToMicros(at)).Bind(id).Exec();
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

  // The columns kTaskColumns (0..17) of a tasks row.
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
    if (!s.IsNull(16)) base::SetTimestamp(t.mutable_shipped_at(), FromMicros(s.Int(16)));
    if (!s.IsNull(17)) t.set_release(s.Text(17));
    return t;
  }

  absl::StatusOr<std::optional<v1::ImprovementTask>> GetTask(int64_t task_id) override {
    auto& s = get_task_.Reset().Bind(task_id);
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::nullopt;
    v1::ImprovementTask t = TaskFromRow(s);
    t.set_ticket_count(s.Int(18));
    t.set_customer_count(s.Int(19));
    if (!s.IsNull(20)) base::SetTimestamp(t.mutable_first_seen(), FromMicros(s.Int(20)));
    if (!s.IsNull(21)) base::SetTimestamp(t.mutable_last_seen(), FromMicros(s.Int(21)));
    return t;
  }

  absl::StatusOr<std::optional<v1::ImprovementTask>> PeekTask(int64_t task_id) override {
    auto& s = peek_task_.Reset().Bind(task_id);
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::nullopt;
    return TaskFromRow(s);
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
    // DO NOTHING rather than a constraint error: PostgreSQL would abort the caller's whole
    // transaction on one.
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row)
      return absl::AlreadyExistsError(
          absl::StrCat("category ", t.category_id(), " already has an active task"));
    const int64_t id = s.Int(0);
    s.Reset();
    return id;
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
    if (t.has_shipped_at())
      s.Bind(ToMicros(base::FromTimestamp(t.shipped_at())));
    else
      s.BindNull();
    if (t.release().empty())
      s.BindNull();
    else
      s.Bind(t.release());
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

  absl::StatusOr<std::vector<spi::CauseWeek>> CauseWeeks(const std::string& helpdesk_id,
                                                         int64_t from_week,
                                                         int64_t to_week) override {
    auto& s = cause_weeks_.Reset().Bind(from_week).Bind(to_week).Bind(helpdesk_id);
    std::vector<spi::CauseWeek> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.push_back(
          {.week = s.Int(0), .category_id = s.Text(1), .tickets = s.Int(2), .repeats = s.Int(3)});
    }
  }

  absl::StatusOr<int64_t> CountCustomers(const std::string& category_id,
                                         const std::string& helpdesk_id, absl::Time from,
                                         absl::Time to) override {
    auto& s = count_customers_.Reset()
                  .Bind(category_id)
                  .Bind(ToMicros(from))
                  .Bind(ToMicros(to))
                  .Bind(helpdesk_id);
    auto row = s.Step();
    if (!row.ok()) return row.status();
    return s.Int(0);
  }

  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> TicketsByAssignee(
      const std::string& category_id, const std::string& helpdesk_id, absl::Time from,
      absl::Time to) override {
    auto& s = by_assignee_.Reset()
                  .Bind(category_id)
                  .Bind(ToMicros(from))
                  .Bind(ToMicros(to))
                  .Bind(helpdesk_id);
    std::vector<std::pair<std::string, int64_t>> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.emplace_back(s.Text(0), s.Int(1));
    }
  }

  absl::StatusOr<spi::ToldCounts> ToldOfTask(int64_t task_id) override {
    // The outbox keys of closing the loop: "notify:<task>:..." and "reply:<task>:...", read
    // as ranges of the key's unique index (';' follows ':').
    spi::ToldCounts out;
    for (const char* kind : {"notify:", "reply:"}) {
      auto& s = told_.Reset()
                    .Bind(absl::StrCat(kind, task_id, ":"))
                    .Bind(absl::StrCat(kind, task_id, ";"));
      auto row = s.Step();
      if (!row.ok()) return row.status();
      (kind[0] == 'n' ? out.tickets : out.replies) = s.Int(0);
      if (!s.IsNull(1)) {
        const absl::Time at = FromMicros(s.Int(1));
        if (!out.last || *out.last < at) out.last = at;
      }
    }
    return out;
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
        .Bind(c.release())
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
      c.set_release(s.Text(3));
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

  absl::StatusOr<std::vector<int64_t>> SettledDeliveries(int64_t first, int64_t last) override {
    auto& s = settled_.Reset().Bind(first).Bind(last);
    std::vector<int64_t> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back(s.Int(0));
    }
    return out;
  }

  absl::StatusOr<bool> HoldLease(const std::string& name, const std::string& holder, absl::Time now,
                                 absl::Time until) override {
    auto& s = hold_lease_.Reset().Bind(name).Bind(holder).Bind(ToMicros(now)).Bind(ToMicros(until));
    auto row = s.Step();
    if (!row.ok()) return row.status();
    const bool held = *row;
    s.Reset();
    return held;
  }

  absl::Status ReleaseLease(const std::string& name, const std::string& holder) override {
    return release_lease_.Reset().Bind(name).Bind(holder).Exec();
  }

  absl::StatusOr<int64_t> RecordFeedback(const std::string& helpdesk_id,
                                         const std::string& ticket_id,
                                         const std::string& old_category,
                                         const std::string& new_category, const std::string& agent,
                                         absl::Time at) override {
    auto& s = feedback_.Reset()
                  .Bind(helpdesk_id)
                  .Bind(ticket_id)
                  .Bind(old_category)
                  .Bind(new_category)
                  .Bind(agent)
                  .Bind(ToMicros(at));
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::InternalError("recording a correction returned no id");
    const int64_t id = s.Int(0);
    s.Reset();
    return id;
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
    std::string helpdesk, ticket;  // the last key seen ("" sorts before every key)
    while (true) {
      auto& s = all_tickets_.Reset().Bind(helpdesk).Bind(ticket);
      int rows = 0;
      while (true) {
        auto row = s.Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        ++rows;
        helpdesk = s.Text(4);
        ticket = s.Text(5);
        auto r = TicketFromRow(s);
        if (!r.ok()) {
          SkipUnreadable("a ticket", "");
          continue;
        }
        if (!fn(*r)) {
          s.Reset();
          return absl::OkStatus();
        }
      }
      if (rows == 0) return absl::OkStatus();
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
    if (!s.ok()) return s;
    if (Db::Changes(db_) == 0)
      return absl::AlreadyExistsError(
          absl::StrCat("category ", p.category().id(), " was promoted already"));
    return absl::OkStatus();
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

  absl::Status MoveTask(int64_t task_id, const std::string& category_id) override {
    // Checked before the update rather than left to the unique index: PostgreSQL would abort the
    // caller's whole transaction on the constraint error.
    auto task = PeekTask(task_id);
    if (!task.ok()) return task.status();
    if (!*task) return absl::NotFoundError(absl::StrCat("no task ", task_id));
    const v1::TaskStatus st = (*task)->status();
    if (st == v1::TASK_PENDING_CREATE || st == v1::TASK_OPEN || st == v1::TASK_IN_PROGRESS) {
      auto other = ActiveTask(category_id);
      if (!other.ok()) return other.status();
      if (*other && (*other)->id() != task_id)
        return absl::AlreadyExistsError(
            absl::StrCat("category ", category_id, " has an active task already"));
    }
    return move_task_.Reset().Bind(category_id).Bind(task_id).Exec();
  }

  absl::StatusOr<int64_t> PutTaxonomyVersion(const v1::TaxonomyVersion& v) override {
    v1::TaxonomyVersion stored = v;
    stored.clear_version();  // the row's number is the one
    auto& s =
        put_taxonomy_.Reset().Bind(ToMicros(clock_.Now())).BindBlob(stored.SerializeAsString());
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::InternalError("a taxonomy version was not numbered");
    return s.Int(0);
  }

  absl::StatusOr<std::vector<v1::TaxonomyVersion>> TaxonomyVersions(int limit) override {
    auto& s = list_taxonomy_.Reset().Bind(int64_t{limit});
    std::vector<v1::TaxonomyVersion> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      if (!out.emplace_back().ParseFromString(s.Text(1)))
        return absl::DataLossError(absl::StrCat("taxonomy version ", s.Int(0), " is damaged"));
      out.back().set_version(s.Int(0));
    }
    return out;
  }

  absl::StatusOr<std::vector<spi::TicketRecord>> TicketsOfCategory(const std::string& category_id,
                                                                   absl::Time since,
                                                                   int limit) override {
    return Records(
        of_category_.Reset().Bind(category_id).Bind(ToMicros(since)).Bind(int64_t{limit}),
        "a ticket of category");
  }

  absl::StatusOr<std::vector<spi::OutboxEntry>> ListActions(spi::ActionState state,
                                                            int limit) override {
    auto& s = list_actions_.Reset().Bind(int64_t{static_cast<int>(state)}).Bind(int64_t{limit});
    std::vector<spi::OutboxEntry> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      spi::OutboxEntry& e = out.emplace_back();
      e.id = s.Int(0);
      e.key = s.Text(1);
      if (!e.action.ParseFromString(s.Text(2)))
        return absl::DataLossError(absl::StrCat("outbox action ", e.id, " cannot be read"));
      e.attempts = static_cast<int>(s.Int(3));
      e.last_error = s.Text(4);
      e.created_at = FromMicros(s.Int(5));
    }
  }

  absl::StatusOr<int> ReviveDeadActions(int64_t id, absl::Time due) override {
    if (absl::Status st = MustBeDead(id); !st.ok()) return st;
    if (absl::Status st = revive_.Reset().Bind(ToMicros(due)).Bind(id).Exec(); !st.ok()) return st;
    return Db::Changes(db_);
  }

  absl::StatusOr<int> DiscardDeadActions(int64_t id) override {
    if (absl::Status st = MustBeDead(id); !st.ok()) return st;
    if (absl::Status st = discard_.Reset().Bind(id).Exec(); !st.ok()) return st;
    return Db::Changes(db_);
  }

  absl::Status AppendAudit(const spi::AuditRecord& r) override {
    return append_audit_.Reset()
        .Bind(ToMicros(r.at))
        .Bind(r.actor)
        .Bind(r.action)
        .Bind(r.target)
        .Bind(r.outcome)
        .Exec();
  }

  absl::StatusOr<std::vector<spi::AuditRecord>> ListAudit(int limit, int64_t before_id,
                                                          const std::string& actor) override {
    auto& s = list_audit_.Reset().Bind(before_id).Bind(actor).Bind(int64_t{limit});
    std::vector<spi::AuditRecord> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.push_back({s.Int(0), FromMicros(s.Int(1)), s.Text(2), s.Text(3), s.Text(4), s.Text(5)});
    }
  }

  absl::StatusOr<std::vector<spi::FeedbackRecord>> ListFeedback(int limit) override {
    return Feedback(list_feedback_.Reset().Bind(int64_t{limit}));
  }
  absl::StatusOr<std::vector<spi::FeedbackRecord>> ListFeedbackAfter(int64_t after_id,
                                                                     int limit) override {
    return Feedback(feedback_after_.Reset().Bind(after_id).Bind(int64_t{limit}));
  }

 private:
  static absl::StatusOr<std::vector<spi::FeedbackRecord>> Feedback(Stmt& s) {
    std::vector<spi::FeedbackRecord> out;
    while (true) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back({s.Int(0), s.Text(1), s.Text(2), s.Text(3)});
    }
    return out;
  }

  // OK for 0 (every dead action) or a dead action's id.
  absl::Status MustBeDead(int64_t id) {
    if (id == 0) return absl::OkStatus();
    auto& s = action_state_.Reset().Bind(id);
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError(absl::StrCat("no outbox action ", id));
    const int64_t state = s.Int(0);
    s.Reset();
    if (state != static_cast<int>(spi::ActionState::kDead))
      return absl::FailedPreconditionError(absl::StrCat("outbox action ", id,
                                                        " is not a dead letter (it is ",
                                                        state == 0   ? "still pending"
                                                        : state == 1 ? "done"
                                                                     : "discarded",
                                                        ")"));
    return absl::OkStatus();
  }

  typename Db::Handle db_;
  const spi::Clock& clock_;
  const std::string installation_;
  Stmt get_ticket_, put_ticket_, unlinked_, active_task_, last_done_, count_tickets_,
      linked_tickets_, put_status_, status_history_, get_task_, list_tasks_, insert_task_,
      update_task_, get_link_, links_of_task_, put_link_, delete_link_, enqueue_, mark_delivery_,
      feedback_, list_feedback_, feedback_after_, needs_review_, put_promoted_, list_promoted_,
      move_task_, put_taxonomy_, list_taxonomy_, of_category_, all_tickets_, get_cursor_,
      put_cursor_, forget_failures_, settled_, hold_lease_, release_lease_, weekly_, person_of_,
      tickets_of_person_, group_of_, join_group_, move_group_, group_size_, leave_group_,
      min_member_, rename_group_, drop_lone_, open_of_category_, search_tasks_, put_token_,
      token_by_hash_, list_tokens_, revoke_token_, token_exists_, touch_token_, by_external_,
      delivery_state_, record_failure_, peek_task_, link_customer_, cause_weeks_, count_customers_,
      by_assignee_, told_, list_actions_, action_state_, revive_, discard_, append_audit_,
      list_audit_;
};

}  // namespace sql_transaction
}  // namespace debrief::store

#undef kLinkCustomer
#undef kLinkFirstSeen
