// The outbox actions the executor carries out for the loop: create a task, keep it current,
// tell the tickets, reply, verify the fix, chase a stalled task.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/log.h"
#include "base/time_util.h"
#include "loop/internal.h"
#include "loop/loop.h"
#include "loop/report.h"
#include "loop/stall.h"
#include "loop/verification.h"
#include "settings/settings.h"

namespace debrief::loop {

using internal::Active;
using internal::NotReady;
using internal::TaskRef;
using settings::ToDuration;

absl::Status Loop::CreateTask(int64_t task_id) {
  v1::ImprovementTask task;
  TaskReport report;
  const v1::Category* cat = nullptr;
  absl::Status s = store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto t = tx.GetTask(task_id);
    if (!t.ok()) return t.status();
    if (!*t) return absl::NotFoundError(absl::StrCat("task ", task_id, " is gone"));
    task = std::move(**t);
    cat = policy_.category(task.category_id());
    auto r = BuildReport(tx, task, cat, config_, clock_.Now());
    if (!r.ok()) return r.status();
    report = std::move(*r);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!task.external_id().empty()) return absl::OkStatus();
  // Closed before it reached its tracker (a taxonomy merge made it a duplicate): never made.
  if (task.status() == v1::TASK_WONT_DO) return absl::OkStatus();
  auto tracker = Tracker(task.tracker_id());
  if (!tracker.ok()) return tracker.status();

  auto key = EffectKey("task", absl::StrCat(task.id(), "-", task.category_id()));
  if (!key.ok()) return key.status();
  spi::TaskDraft draft;
  draft.idempotency_key = std::move(*key);
  draft.title = task.title();
  draft.description = std::move(report.description);
  draft.impact = std::move(report.impact);
  draft.tickets = std::move(report.tickets);
  if (cat != nullptr) draft.category = *cat;
  auto made = (*tracker)->CreateTask(draft);
  if (!made.ok()) return made.status();

  return store_.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    auto t = tx.GetTask(task_id);
    if (!t.ok()) return t.status();
    if (!*t) return absl::NotFoundError(absl::StrCat("task ", task_id, " is gone"));
    (*t)->set_external_id(made->external_id);
    (*t)->set_external_key(made->external_key);
    (*t)->set_url(made->url);
    (*t)->set_synced_ticket_count(static_cast<int64_t>(draft.tickets.size()));
    base::SetTimestamp((*t)->mutable_synced_at(), clock_.Now());
    // A retry may find the issue it made already closed: open first, then the close goes the
    // way a poll's would (done, or shipped with its tickets told).
    const bool closed = !Active(made->status);
    if ((*t)->status() == v1::TASK_PENDING_CREATE) {
      const v1::TaskStatus first = closed ? v1::TASK_OPEN : made->status;
      (*t)->set_status(first);
      v1::TaskStatusChange change;
      change.set_task_id(task_id);
      change.set_status(first);
      base::SetTimestamp(change.mutable_at(), clock_.Now());
      change.set_source("created");
      if (absl::Status st = tx.RecordStatusChange(change); !st.ok()) return st;
    }
    // Links made while the task was being created reach the tracker with the next sync.
    if (absl::Status st = tx.UpdateTask(**t); !st.ok()) return st;
    if (closed) return OnStatus(tx, task_id, *made, "created");
    return absl::OkStatus();
  });
}

absl::Status Loop::SyncTask(const v1::OutboxAction::SyncTask& sync) {
  const int64_t task_id = sync.task_id();
  const absl::Time now = clock_.Now();
  v1::ImprovementTask task;
  TaskReport report;
  bool write = true;
  absl::Status s = store_.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    auto t = tx.GetTask(task_id);
    if (!t.ok()) return t.status();
    if (!*t) return absl::NotFoundError(absl::StrCat("task ", task_id, " is gone"));
    task = std::move(**t);
    if (task.external_id().empty()) return absl::OkStatus();
    const absl::Duration stale = ToDuration(config_.impact_max_staleness(), absl::Hours(24));
    if (sync.after_write_at() != 0 && task.has_synced_at() &&
        absl::ToUnixMicros(base::FromTimestamp(task.synced_at())) != sync.after_write_at()) {
      write = false;  // written since: that write carried these changes
      return absl::OkStatus();
    }
    if (!sync.force() && task.has_synced_at()) {
      const absl::Time last = base::FromTimestamp(task.synced_at());
      const bool grew =
          static_cast<double>(task.ticket_count()) >=
              static_cast<double>(task.synced_ticket_count()) * (1 + config_.impact_min_growth()) &&
          task.ticket_count() - task.synced_ticket_count() >=
              static_cast<int64_t>(config_.impact_min_new_tickets());
      if (!grew && now - last < stale) {
        // Not worth an edit yet: the task catches up when the last write grows stale.
        write = false;
        v1::OutboxAction later;
        later.mutable_sync_task()->set_task_id(task_id);
        later.mutable_sync_task()->set_force(true);
        later.mutable_sync_task()->set_after_write_at(absl::ToUnixMicros(last));
        return tx.Enqueue(absl::StrCat("sync:", task_id, ":stale:", absl::ToUnixMicros(last)),
                          later, last + stale);
      }
    }
    auto r = BuildReport(tx, task, policy_.category(task.category_id()), config_, now);
    if (!r.ok()) return r.status();
    report = std::move(*r);
    return absl::OkStatus();
  });
  if (!s.ok() || !write) return s;
  if (task.external_id().empty())
    return NotReady(absl::StrCat("task ", task_id, " is not created in the tracker yet"));
  spi::TaskUpdate u;
  u.impact = std::move(report.impact);
  u.tickets = std::move(report.tickets);
  return WriteTask(task, u, now);
}

absl::Status Loop::NotifyTicket(const v1::OutboxAction::NotifyTicket& n) {
  v1::ImprovementTask task;
  spi::TicketRecord rec;
  if (absl::Status s = ReadTaskAndTicket(n.task_id(), n.helpdesk_id(), n.ticket_id(), &task, &rec);
      !s.ok())
    return s;
  auto hd = Helpdesk(n.helpdesk_id());
  if (!hd.ok()) return hd.status();
  const v1::Category* cat = policy_.category(task.category_id());
  auto key = EffectKey("fixed", absl::StrCat(task.id(), "-", n.ticket_id()));
  if (!key.ok()) return key.status();
  spi::TicketNote note;
  note.idempotency_key = std::move(*key);
  note.body = absl::StrCat("Debrief: the improvement task for this ticket's root cause has shipped",
                           task.release().empty() ? "" : absl::StrCat(" in ", task.release()), ": ",
                           task.title(), ", ", TaskRef(task),
                           ".\nWhat was fixed: ", cat ? cat->name() : task.category_id(),
                           ". The customer can be told it should not happen again.");
  note.is_public = false;
  note.add_tags.push_back(config_.fixed_tag());
  return (*hd)->PostNote(rec.ticket, note);
}

absl::Status Loop::Reply(const v1::OutboxAction::ReplyToCustomer& r) {
  v1::ImprovementTask task;
  spi::TicketRecord rec;
  if (absl::Status s = ReadTaskAndTicket(r.task_id(), r.helpdesk_id(), r.ticket_id(), &task, &rec);
      !s.ok())
    return s;
  auto hd = Helpdesk(r.helpdesk_id());
  if (!hd.ok()) return hd.status();
  auto key = EffectKey("reply", absl::StrCat(task.id(), "-", CustomerKey(rec.ticket)));
  if (!key.ok()) return key.status();
  spi::TicketNote note;
  note.idempotency_key = std::move(*key);
  note.body = ReplyText(policy_.category(task.category_id()), task, rec.ticket);
  note.is_public = true;
  return (*hd)->PostNote(rec.ticket, note);
}

absl::Status Loop::VerifyFix(const v1::OutboxAction::VerifyFix& v) {
  const absl::Duration settle = ToDuration(config_.settling_delay(), absl::Hours(24 * 7));
  const absl::Duration window =
      ToDuration(config_.verify_window(), absl::Hours(24 * 28)) * (int64_t{1} << v.attempt());
  v1::ImprovementTask task;
  TaskReport report;
  absl::Status s = store_.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    auto t = tx.GetTask(v.task_id());
    if (!t.ok()) return t.status();
    if (!*t) return absl::NotFoundError(absl::StrCat("task ", v.task_id(), " is gone"));
    task = std::move(**t);
    // Counted from the day the fix reached customers (done, for a task done before Debrief
    // knew shipping).
    if (!task.has_shipped_at() && !task.has_done_at())
      return absl::FailedPreconditionError("the task has not shipped");
    const absl::Time done =
        base::FromTimestamp(task.has_shipped_at() ? task.shipped_at() : task.done_at());
    auto before = tx.CountTickets(task.category_id(), done - window, done);
    if (!before.ok()) return before.status();
    auto after = tx.CountTickets(task.category_id(), done + settle, done + settle + window);
    if (!after.ok()) return after.status();
    v1::FixVerification verdict = JudgeFix(*before, *after, config_.significance());
    base::SetTimestamp(verdict.mutable_checked_at(), clock_.Now());
    verdict.mutable_window()->set_seconds(absl::ToInt64Seconds(window));
    *task.mutable_verification() = verdict;
    task.set_flagged(verdict.verdict() == v1::FixVerification::NOT_VERIFIED);
    if (absl::Status st = tx.UpdateTask(task); !st.ok()) return st;
    if (verdict.verdict() == v1::FixVerification::NOT_YET_KNOWN &&
        v.attempt() + 1 < static_cast<int>(config_.verify_attempts())) {
      // Too few tickets: look again over a window twice as long.
      v1::OutboxAction again;
      again.mutable_verify_fix()->set_task_id(task.id());
      again.mutable_verify_fix()->set_attempt(v.attempt() + 1);
      if (absl::Status st = tx.Enqueue(absl::StrCat("verify:", task.id(), ":", v.attempt() + 1),
                                       again, done + settle + window * 2);
          !st.ok())
        return st;
    }
    auto r = BuildReport(tx, task, policy_.category(task.category_id()), config_, clock_.Now());
    if (!r.ok()) return r.status();
    report = std::move(*r);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (task.external_id().empty()) return absl::OkStatus();  // no tracker to write it on
  spi::TaskUpdate u;
  u.impact = std::move(report.impact);
  u.tickets = std::move(report.tickets);
  u.comment = task.verification().summary();
  u.comment_key = absl::StrCat("debrief-verify-", v.attempt());
  switch (task.verification().verdict()) {
    case v1::FixVerification::VERIFIED:
      u.add_labels.push_back("debrief-fix-verified");
      break;
    case v1::FixVerification::NOT_VERIFIED:
      u.add_labels.push_back("debrief-fix-not-verified");
      break;
    default:
      break;
  }
  return WriteTask(task, u, clock_.Now());
}

absl::Status Loop::ChaseStalled(const v1::OutboxAction::ChaseStalled& c) {
  const absl::Time now = clock_.Now();
  auto day = [](absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); };
  v1::ImprovementTask task;
  TaskReport report;
  std::string comment;
  absl::Status s = store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto t = tx.GetTask(c.task_id());
    if (!t.ok()) return t.status();
    if (!*t) return absl::OkStatus();
    task = std::move(**t);
    if (!Active(task.status()) || task.external_id().empty()) return absl::OkStatus();
    auto stall = CheckStall(tx, task, config_, now);
    if (!stall.ok()) return stall.status();
    // The status moved since this chase was planned, or the tickets slowed: no longer stalled.
    // A chase held up past its window leaves that window to the next chase.
    if (!stall->stalled || absl::ToUnixMicros(stall->status_changed_at) != c.status_changed_at() ||
        stall->period != c.period())
      return absl::OkStatus();
    auto records = tx.TicketsOfTask(task.id());
    if (!records.ok()) return records.status();
    // Counted as the tickets are (the cause's, in the window), never named.
    auto customers = tx.CountCustomers(task.category_id(), "", now - stall->window, now);
    if (!customers.ok()) return customers.status();
    const spi::TicketRecord* oldest = nullptr;
    for (const spi::TicketRecord& r : *records) {
      const bool waiting = r.ticket.status() != "solved" && r.ticket.status() != "closed";
      if (waiting && (oldest == nullptr || r.first_seen < oldest->first_seen)) oldest = &r;
    }
    const int64_t window_days = stall->window / absl::Hours(24);
    comment = absl::StrCat("Debrief: this task has not moved since ", day(stall->status_changed_at),
                           " (", (now - stall->status_changed_at) / absl::Hours(24),
                           " days) while its cause kept coming: ", stall->window_tickets,
                           " new tickets in the last ", window_days, " days, from ", *customers,
                           *customers == 1 ? " customer" : " customers",
                           ".\nWeekly tickets, last 8 weeks: ", WeeklyTrend(*records, now), ".\n");
    if (oldest != nullptr)
      absl::StrAppend(&comment, "The longest-waiting customer has waited since ",
                      day(oldest->first_seen), " (", (now - oldest->first_seen) / absl::Hours(24),
                      " days, ticket ", oldest->ticket.helpdesk_id(), "/",
                      oldest->ticket.ticket_id(), ").\n");
    absl::StrAppend(&comment,
                    "A status change (in progress, done, won't do) ends this; Debrief asks again "
                    "after another ",
                    window_days, " days without one.");
    auto r = BuildReport(tx, task, policy_.category(task.category_id()), config_, now);
    if (!r.ok()) return r.status();
    report = std::move(*r);
    return absl::OkStatus();
  });
  if (!s.ok() || comment.empty()) return s;
  spi::TaskUpdate u;
  u.impact = std::move(report.impact);
  u.tickets = std::move(report.tickets);
  u.comment = std::move(comment);
  u.comment_key = absl::StrCat("debrief-stalled-", c.status_changed_at(), "-", c.period());
  u.add_labels.push_back(kStalledLabel);
  if (absl::Status w = WriteTask(task, u, now); !w.ok()) return w;
  base::log::Info("loop", "stalled task chased",
                  {{"task", absl::StrCat(task.id())}, {"period", absl::StrCat(c.period())}});
  // Remembered, so the status change that ends the stall takes the label off.
  return store_.Transact([&](spi::StoreTransaction& tx) {
    return tx.PutCursor(StalledCursor(task.id()), absl::StrCat(c.status_changed_at()));
  });
}

absl::Status Loop::ClearStall(const v1::OutboxAction::ClearStall& c) {
  const absl::Time now = clock_.Now();
  v1::ImprovementTask task;
  TaskReport report;
  absl::Status s = store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto t = tx.GetTask(c.task_id());
    if (!t.ok()) return t.status();
    if (!*t) return absl::OkStatus();
    task = std::move(**t);
    if (task.external_id().empty()) return absl::OkStatus();
    auto r = BuildReport(tx, task, policy_.category(task.category_id()), config_, now);
    if (!r.ok()) return r.status();
    report = std::move(*r);
    return absl::OkStatus();
  });
  if (!s.ok() || task.external_id().empty()) return s;
  // The impact and links go along as they are now (an update names every linked ticket).
  spi::TaskUpdate u;
  u.impact = std::move(report.impact);
  u.tickets = std::move(report.tickets);
  u.remove_labels.push_back(kStalledLabel);
  return WriteTask(task, u, now);
}

absl::Status Loop::MarkDuplicate(const v1::OutboxAction::MarkDuplicate& m) {
  const absl::Time now = clock_.Now();
  v1::ImprovementTask task, of;
  TaskReport report;
  absl::Status s = store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto t = tx.GetTask(m.task_id());
    if (!t.ok()) return t.status();
    auto o = tx.PeekTask(m.of_task_id());
    if (!o.ok()) return o.status();
    if (!*t || !*o) return absl::OkStatus();  // deleted since: nothing to mark
    task = std::move(**t);
    of = std::move(**o);
    // Waits for both to be in their trackers; a task whose tracker is gone never will be.
    if (!trackers_.contains(task.tracker_id()) || !trackers_.contains(of.tracker_id())) {
      task.clear_external_id();
      return absl::OkStatus();
    }
    if (task.external_id().empty() || of.external_id().empty())
      return absl::UnavailableError("the tasks are not both in their trackers yet");
    auto r = BuildReport(tx, task, policy_.category(task.category_id()), config_, now);
    if (!r.ok()) return r.status();
    report = std::move(*r);
    return absl::OkStatus();
  });
  if (!s.ok() || task.external_id().empty()) return s;
  const std::string of_name = of.external_key().empty() ? of.external_id() : of.external_key();
  spi::TaskUpdate u;
  u.impact = std::move(report.impact);
  u.tickets = std::move(report.tickets);  // those left: the cause's tickets moved to `of`
  u.comment = absl::StrCat("Duplicate of ", of_name, of.url().empty() ? "" : " (", of.url(),
                           of.url().empty() ? "" : ")", ".\nDebrief's taxonomy merged ", m.merged(),
                           " into ", m.into(), ": this cause's tickets now follow ", of_name,
                           ", and its customers hear from there when the fix ships.");
  u.comment_key = absl::StrCat("debrief-duplicate-of-", of.id());
  if (of.tracker_id() == task.tracker_id()) u.duplicate_of = of.external_id();
  u.add_labels.push_back("debrief-duplicate");
  if (absl::Status w = WriteTask(task, u, now); !w.ok()) return w;
  base::log::Info("loop", "task marked a duplicate",
                  {{"task", absl::StrCat(task.id())}, {"of", absl::StrCat(of.id())}});
  return absl::OkStatus();
}

}  // namespace debrief::loop
