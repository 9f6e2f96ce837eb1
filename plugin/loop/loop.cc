#include "loop/loop.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/time_util.h"
#include "config/config.h"
#include "loop/report.h"
#include "loop/verification.h"
#include "settings/settings.h"

namespace debrief::loop {
namespace {

using settings::ToDuration;

absl::Status NotReady(std::string msg) { return absl::UnavailableError(std::move(msg)); }

bool Active(v1::TaskStatus s) {
  return s == v1::TASK_PENDING_CREATE || s == v1::TASK_OPEN || s == v1::TASK_IN_PROGRESS;
}

std::string TaskRef(const v1::ImprovementTask& t) {
  std::string ref = t.external_key().empty() ? absl::StrCat("task ", t.id()) : t.external_key();
  if (!t.url().empty()) absl::StrAppend(&ref, " (", t.url(), ")");
  return ref;
}

}  // namespace

Loop::Loop(const v1::Config& config, spi::Store& store,
           std::map<std::string, spi::HelpdeskAdapter*> helpdesks,
           std::map<std::string, spi::TrackerAdapter*> trackers, policy::LinkPolicy& policy,
           const spi::Clock& clock)
    : config_(config.loop()),
      store_(store),
      helpdesks_(std::move(helpdesks)),
      trackers_(std::move(trackers)),
      policy_(policy),
      clock_(clock),
      poll_interval_(ToDuration(config.loop().status_poll_interval(), absl::Minutes(5))),
      follower_(
          "task-follower", [this] { return Follow(); }, poll_interval_,
          /*drain_on_stop=*/false) {}

Loop::~Loop() { Stop(); }

void Loop::Start() { follower_.Start(); }
void Loop::Stop() { follower_.Stop(); }

absl::StatusOr<spi::TrackerAdapter*> Loop::Tracker(const std::string& id) {
  auto it = trackers_.find(id);
  if (it == trackers_.end())
    return absl::FailedPreconditionError(absl::StrCat("no tracker ", id, " is configured"));
  return it->second;
}

absl::StatusOr<spi::HelpdeskAdapter*> Loop::Helpdesk(const std::string& id) {
  auto it = helpdesks_.find(id);
  if (it == helpdesks_.end())
    return absl::FailedPreconditionError(absl::StrCat("no helpdesk ", id, " is configured"));
  return it->second;
}

absl::StatusOr<std::string> Loop::EffectKey(absl::string_view kind, absl::string_view rest) {
  std::lock_guard<std::mutex> l(installation_mu_);
  if (!installation_) {
    std::optional<std::string> id;
    absl::Status s = store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
      auto v = tx.GetCursor(spi::kInstallationCursor);
      if (!v.ok()) return v.status();
      id = *v;
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    if (!id || id->empty())
      return absl::FailedPreconditionError("the store has no installation id (schema too old?)");
    installation_ = *id;
  }
  return absl::StrCat("debrief-", kind, "-", *installation_, "-", rest);
}

void Loop::Nudge(const std::string& tracker_id, const std::vector<std::string>& external_ids) {
  if (external_ids.empty()) return;
  {
    std::lock_guard<std::mutex> l(nudged_mu_);
    for (const std::string& id : external_ids) nudged_.emplace(tracker_id, id);
  }
  follower_.Notify();
}

absl::StatusOr<int> Loop::Follow() {
  std::set<std::pair<std::string, std::string>> nudged;
  {
    std::lock_guard<std::mutex> l(nudged_mu_);
    nudged.swap(nudged_);
  }
  int changed = 0;
  if (!nudged.empty()) {
    auto n = PollTasks(
        [&](const v1::ImprovementTask& t) {
          return nudged.contains({t.tracker_id(), t.external_id()});
        },
        "webhook");
    if (!n.ok()) return n.status();
    changed += *n;
  }
  if (clock_.Now() - last_poll_ >= poll_interval_) {
    auto n = PollStatuses();
    if (!n.ok()) return n.status();
    changed += *n;
  }
  return changed;
}

absl::StatusOr<int> Loop::PollStatuses() {
  const absl::Time now = clock_.Now();
  last_poll_ = now;
  // A tracker that lists its changes is asked for the tasks updated since its last complete
  // poll (a minute of overlap, for clocks apart), and only those are read back; the first poll
  // after start, and any poll after a failed one, reads every task.
  std::map<std::string, std::optional<std::set<std::string>>> only;  // tracker -> ids
  for (const auto& [id, tracker] : trackers_) {
    auto it = polled_.find(id);
    if (it == polled_.end()) continue;
    auto ids = tracker->ChangedSince(it->second - absl::Minutes(1));
    if (ids.ok()) {
      only[id] = std::set<std::string>(ids->begin(), ids->end());
    } else if (!absl::IsUnimplemented(ids.status())) {
      std::cerr << "task-follower: tracker " << id << ": " << ids.status()
                << "; reading every task\n";
    }
  }
  std::set<std::string> failed;
  auto n = PollTasks(
      [&](const v1::ImprovementTask& t) {
        auto it = only.find(t.tracker_id());
        return it == only.end() || !it->second || it->second->contains(t.external_id());
      },
      "poll", &failed);
  if (!n.ok()) return n;
  for (const auto& [id, tracker] : trackers_) {
    if (failed.contains(id))
      polled_.erase(id);  // the next poll reads all of this tracker's tasks
    else
      polled_[id] = now;
  }
  return n;
}

absl::StatusOr<int> Loop::PollTasks(const std::function<bool(const v1::ImprovementTask&)>& wanted,
                                    const std::string& source, std::set<std::string>* failed) {
  std::vector<v1::ImprovementTask> tasks;
  absl::Status s = store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    for (v1::TaskStatus st : {v1::TASK_OPEN, v1::TASK_IN_PROGRESS}) {
      auto l = tx.ListTasks({/*category_id=*/"", st});
      if (!l.ok()) return l.status();
      for (auto& t : *l)
        if (wanted(t)) tasks.push_back(std::move(t));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  int changed = 0;
  for (const v1::ImprovementTask& t : tasks) {
    if (t.external_id().empty()) continue;
    auto tracker = Tracker(t.tracker_id());
    if (!tracker.ok()) continue;
    auto got = (*tracker)->GetTask(t.external_id());
    if (!got.ok()) {
      // An outage delays following; the next poll asks again (every task of this tracker: a
      // change listing would not name this one again). A deleted task stays logged.
      if (failed != nullptr && !absl::IsNotFound(got.status())) failed->insert(t.tracker_id());
      std::cerr << "task-follower: task " << t.id() << ": " << got.status() << "\n";
      continue;
    }
    if (got->status == t.status()) continue;
    absl::Status st = store_.Transact(
        [&](spi::StoreTransaction& tx) { return OnStatus(tx, t.id(), got->status, source); });
    if (!st.ok()) return st;
    ++changed;
  }
  return changed;
}

absl::Status Loop::OnStatus(spi::StoreTransaction& tx, int64_t task_id, v1::TaskStatus status,
                            const std::string& source) {
  auto got = tx.GetTask(task_id);
  if (!got.ok()) return got.status();
  if (!*got) return absl::NotFoundError(absl::StrCat("no task ", task_id));
  v1::ImprovementTask& task = **got;
  if (task.status() == status || status == v1::TASK_STATUS_UNSPECIFIED) return absl::OkStatus();
  if (!Active(task.status()))
    // A done task reopened in the tracker: recorded, but the cause's next tickets go to a
    // regression task rather than back to it.
    std::cerr << "loop: task " << task_id << " moved from done to " << v1::TaskStatus_Name(status)
              << " in its tracker\n";
  const absl::Time now = clock_.Now();
  v1::TaskStatusChange change;
  change.set_task_id(task_id);
  change.set_status(status);
  base::SetTimestamp(change.mutable_at(), now);
  change.set_source(source);
  if (absl::Status s = tx.RecordStatusChange(change); !s.ok()) return s;
  task.set_status(status);
  const bool finished = status == v1::TASK_DONE || status == v1::TASK_WONT_DO;
  if (finished) base::SetTimestamp(task.mutable_done_at(), now);
  if (absl::Status s = tx.UpdateTask(task); !s.ok()) return s;
  if (status != v1::TASK_DONE) return absl::OkStatus();

  // Done: tell every linked ticket once, reply once per customer where allowed, verify later.
  const v1::Category* cat = policy_.category(task.category_id());
  auto recs = tx.TicketsOfTask(task_id);
  if (!recs.ok()) return recs.status();
  for (const spi::TicketRecord& r : *recs) {
    const v1::Ticket& t = r.ticket;
    v1::OutboxAction note;
    auto* n = note.mutable_notify_ticket();
    n->set_task_id(task_id);
    n->set_helpdesk_id(t.helpdesk_id());
    n->set_ticket_id(t.ticket_id());
    if (absl::Status s = tx.Enqueue(
            absl::StrCat("notify:", task_id, ":", t.helpdesk_id(), ":", t.ticket_id()), note, now);
        !s.ok())
      return s;
    if (!ShouldReply(cat, r)) continue;
    v1::OutboxAction reply;
    auto* rp = reply.mutable_reply();
    rp->set_task_id(task_id);
    rp->set_helpdesk_id(t.helpdesk_id());
    rp->set_ticket_id(t.ticket_id());
    // One reply per customer and task, however many tickets they opened about it.
    if (absl::Status s =
            tx.Enqueue(absl::StrCat("reply:", task_id, ":", CustomerKey(t)), reply, now);
        !s.ok())
      return s;
  }
  v1::OutboxAction verify;
  verify.mutable_verify_fix()->set_task_id(task_id);
  const absl::Time due = now + ToDuration(config_.settling_delay(), absl::Hours(24 * 7)) +
                         ToDuration(config_.verify_window(), absl::Hours(24 * 28));
  if (absl::Status s = tx.Enqueue(absl::StrCat("verify:", task_id, ":0"), verify, due); !s.ok())
    return s;
  return policy_.EnqueueSync(tx, task_id, /*force=*/true);
}

bool Loop::ShouldReply(const v1::Category* cat, const spi::TicketRecord& r) const {
  if (!config_.public_replies() || cat == nullptr || !cat->public_reply()) return false;
  const v1::Ticket& t = r.ticket;
  const std::string& st = t.status();
  if (st == "solved" || st == "closed") {
    // Recently solved tickets only: an old conversation is not reopened.
    absl::Time last = t.has_updated_at()   ? base::FromTimestamp(t.updated_at())
                      : t.has_created_at() ? base::FromTimestamp(t.created_at())
                                           : r.first_seen;
    return clock_.Now() - last <= ToDuration(config_.reply_solved_within(), absl::Hours(24 * 30));
  }
  return true;
}

std::string Loop::ReplyText(const v1::Category* cat, const v1::ImprovementTask& task,
                            const v1::Ticket& t) {
  std::string tmpl = cat ? cat->reply_template() : "";
  if (tmpl.empty()) {
    switch (cat ? cat->kind() : v1::COMPLAINT) {
      case v1::SUGGESTION:
        tmpl =
            "Hi {name},\n\nYou suggested {category}, and it has shipped. Thank you for the idea: "
            "you are credited in the work that made it happen.";
        break;
      case v1::PRAISE:
        tmpl =
            "Hi {name},\n\nThank you again for your kind words about {category}. We shared them "
            "with the team, and we are making sure to keep doing it.";
        break;
      default:
        tmpl =
            "Hi {name},\n\nYou told us about {category}. We have changed it, so it should not "
            "happen again. Thank you for telling us: it helped us fix it for everyone.";
    }
  }
  std::string first;
  for (absl::string_view part : absl::StrSplit(t.requester().name(), ' ', absl::SkipEmpty())) {
    first = std::string(part);
    break;
  }
  if (first.empty()) first = "there";
  return absl::StrReplaceAll(tmpl, {{"{name}", first},
                                    {"{category}", cat ? cat->name() : task.category_id()},
                                    {"{task_title}", task.title()},
                                    {"{ticket_id}", t.ticket_id()}});
}

absl::Status Loop::ReadTaskAndTicket(int64_t task_id, const std::string& helpdesk_id,
                                     const std::string& ticket_id, v1::ImprovementTask* task,
                                     spi::TicketRecord* ticket) {
  return store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto t = tx.GetTask(task_id);
    if (!t.ok()) return t.status();
    if (!*t) return absl::NotFoundError(absl::StrCat("task ", task_id, " is gone"));
    *task = std::move(**t);
    if (ticket_id.empty()) return absl::OkStatus();
    auto r = tx.GetTicket(helpdesk_id, ticket_id);
    if (!r.ok()) return r.status();
    if (!*r)
      return absl::NotFoundError(absl::StrCat("ticket ", helpdesk_id, "/", ticket_id, " is gone"));
    *ticket = std::move(**r);
    return absl::OkStatus();
  });
}

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
    if ((*t)->status() == v1::TASK_PENDING_CREATE) {
      (*t)->set_status(made->status);
      v1::TaskStatusChange change;
      change.set_task_id(task_id);
      change.set_status(made->status);
      base::SetTimestamp(change.mutable_at(), clock_.Now());
      change.set_source("created");
      if (absl::Status st = tx.RecordStatusChange(change); !st.ok()) return st;
    }
    // Links made while the task was being created reach the tracker with the next sync.
    return tx.UpdateTask(**t);
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

absl::Status Loop::WriteTask(const v1::ImprovementTask& task, const spi::TaskUpdate& u,
                             absl::Time at) {
  auto tracker = Tracker(task.tracker_id());
  if (!tracker.ok()) return tracker.status();
  if (absl::Status s = (*tracker)->UpdateTask(task.external_id(), u); !s.ok()) return s;
  // What the tracker now shows, for deciding when the next edit is worth it.
  return store_.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    auto t = tx.GetTask(task.id());
    if (!t.ok()) return t.status();
    if (!*t) return absl::OkStatus();
    (*t)->set_synced_ticket_count(static_cast<int64_t>(u.tickets.size()));
    base::SetTimestamp((*t)->mutable_synced_at(), at);
    return tx.UpdateTask(**t);
  });
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
  note.body = absl::StrCat(
      "Debrief: the improvement task for this ticket's root cause is done: ", task.title(), ", ",
      TaskRef(task), ".\nWhat was fixed: ", cat ? cat->name() : task.category_id(),
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
    if (!task.has_done_at()) return absl::FailedPreconditionError("the task is not done");
    const absl::Time done = base::FromTimestamp(task.done_at());
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

}  // namespace debrief::loop
