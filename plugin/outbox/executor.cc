#include "outbox/executor.h"

#include <algorithm>
#include <iostream>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "debrief/spi/adapter_factory.h"

namespace debrief::outbox {
namespace {

bool Retryable(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsResourceExhausted(s) || absl::IsDeadlineExceeded(s) ||
         absl::IsAborted(s);
}

// The task is created by an earlier action (ordered first in the same batch); wait for it.
absl::Status NotReady(std::string msg) { return absl::UnavailableError(std::move(msg)); }

}  // namespace

Executor::Executor(spi::Store& store, std::map<std::string, spi::HelpdeskAdapter*> helpdesks,
                   std::map<std::string, spi::TrackerAdapter*> trackers, policy::LinkPolicy& policy,
                   const spi::Clock& clock, ExecutorOptions options)
    : store_(store),
      helpdesks_(std::move(helpdesks)),
      trackers_(std::move(trackers)),
      policy_(policy),
      clock_(clock),
      options_(options),
      worker_(
          "executor", [this] { return RunDue(); }, options.poll_interval,
          /*drain_on_stop=*/false) {}

Executor::~Executor() { Stop(); }

void Executor::Start() { worker_.Start(); }
void Executor::Stop() { worker_.Stop(); }
void Executor::Notify() { worker_.Notify(); }

absl::StatusOr<int> Executor::RunDue() {
  std::lock_guard<std::mutex> guard(run_mu_);
  auto due = store_.DueActions(clock_.Now(), options_.batch);
  if (!due.ok()) return due.status();
  int ran = 0;
  // Completions are recorded together at the end of the batch: a crash before that repeats
  // some calls, which every adapter makes idempotent.
  std::vector<int64_t> done;
  absl::Cleanup flush = [&] {
    if (auto st = store_.CompleteActions(done); !st.ok())
      std::cerr << "executor: recording completions: " << st << " (they will repeat)\n";
    else
      stats_.done += static_cast<int64_t>(done.size());
  };
  for (const spi::OutboxEntry& e : *due) {
    if (worker_.stopping()) break;
    absl::Status s = Execute(e);
    ++ran;
    if (s.ok()) {
      done.push_back(e.id);
    } else if (Retryable(s)) {
      absl::Duration wait = std::min(options_.initial_backoff * (1LL << std::min(e.attempts, 20)),
                                     options_.max_backoff);
      if (auto ra = spi::RetryAfter(s); ra && *ra > wait) wait = *ra;
      if (auto st = store_.RetryAction(e.id, clock_.Now() + wait, std::string(s.message()));
          !st.ok())
        return st;
      ++stats_.retried;
    } else {
      std::cerr << "executor: action " << e.key << " dead-lettered: " << s << "\n";
      if (auto st = store_.DeadLetterAction(e.id, s.ToString()); !st.ok()) return st;
      ++stats_.dead;
    }
  }
  return ran;
}

absl::Status Executor::Execute(const spi::OutboxEntry& e) {
  switch (e.action.action_case()) {
    case v1::OutboxAction::kCreateTask:
      return CreateTask(e.action.create_task().task_id());
    case v1::OutboxAction::kLink:
      return LinkOnTracker(e.action.link());
    case v1::OutboxAction::kUnlink:
      return UnlinkOnTracker(e.action.unlink());
    case v1::OutboxAction::kWriteBack:
      return WriteBack(e.action.write_back());
    case v1::OutboxAction::ACTION_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("empty outbox action");
}

absl::StatusOr<spi::TrackerAdapter*> Executor::Tracker(const std::string& id) {
  auto it = trackers_.find(id);
  if (it == trackers_.end())
    return absl::FailedPreconditionError(absl::StrCat("no tracker ", id, " is configured"));
  return it->second;
}

std::string Executor::Describe(const v1::ImprovementTask& task, const v1::Category* category) {
  std::string d;
  if (category != nullptr) {
    absl::StrAppend(&d, "Root cause: ", category->name(), "\n");
    if (!category->description().empty()) absl::StrAppend(&d, category->description(), "\n");
  }
  absl::StrAppend(&d, "\nImpact so far: ", task.ticket_count(), " tickets from ",
                  task.customer_count(), " customers.\n");
  absl::StrAppend(&d, "\nOpened by Debrief from support tickets tagged with this cause. ",
                  "Linked tickets are listed on the task; Debrief tells them when it is done.\n");
  return d;
}

absl::Status Executor::CreateTask(int64_t task_id) {
  std::optional<v1::ImprovementTask> task;
  absl::Status s = store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto t = tx.GetTask(task_id);
    if (!t.ok()) return t.status();
    task = std::move(*t);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!task) return absl::NotFoundError(absl::StrCat("task ", task_id, " is gone"));
  if (!task->external_id().empty()) return absl::OkStatus();
  auto tracker = Tracker(task->tracker_id());
  if (!tracker.ok()) return tracker.status();

  const v1::Category* cat = policy_.category(task->category_id());
  spi::TaskDraft draft;
  draft.idempotency_key = absl::StrCat("debrief-task-", task->id(), "-", task->category_id());
  draft.title = task->title();
  draft.description = Describe(*task, cat);
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
    if ((*t)->status() == v1::TASK_PENDING_CREATE) (*t)->set_status(made->status);
    return tx.UpdateTask(**t);
  });
}

absl::Status Executor::LinkOnTracker(const v1::OutboxAction::LinkOnTracker& l) {
  std::optional<v1::ImprovementTask> task;
  std::optional<spi::TicketRecord> rec;
  absl::Status s = store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto t = tx.GetTask(l.task_id());
    if (!t.ok()) return t.status();
    task = std::move(*t);
    auto r = tx.GetTicket(l.helpdesk_id(), l.ticket_id());
    if (!r.ok()) return r.status();
    rec = std::move(*r);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!task || !rec) return absl::NotFoundError("task or ticket of the link is gone");
  if (task->external_id().empty())
    return NotReady(absl::StrCat("task ", task->id(), " is not created in the tracker yet"));
  auto tracker = Tracker(task->tracker_id());
  if (!tracker.ok()) return tracker.status();
  return (*tracker)->LinkTicket(task->external_id(), rec->ticket);
}

absl::Status Executor::UnlinkOnTracker(const v1::OutboxAction::UnlinkOnTracker& u) {
  std::optional<v1::ImprovementTask> task;
  absl::Status s = store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto t = tx.GetTask(u.task_id());
    if (!t.ok()) return t.status();
    task = std::move(*t);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!task) return absl::NotFoundError("task of the link is gone");
  if (task->external_id().empty())
    return NotReady(absl::StrCat("task ", task->id(), " is not created in the tracker yet"));
  auto tracker = Tracker(task->tracker_id());
  if (!tracker.ok()) return tracker.status();
  return (*tracker)->UnlinkTicket(task->external_id(), u.helpdesk_id(), u.ticket_id());
}

absl::Status Executor::WriteBack(const v1::OutboxAction::WriteBack& w) {
  auto it = helpdesks_.find(w.helpdesk_id());
  if (it == helpdesks_.end())
    return absl::FailedPreconditionError(absl::StrCat("no helpdesk ", w.helpdesk_id()));
  std::optional<spi::TicketRecord> rec;
  std::optional<v1::ImprovementTask> task;
  absl::Status s = store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto r = tx.GetTicket(w.helpdesk_id(), w.ticket_id());
    if (!r.ok()) return r.status();
    rec = std::move(*r);
    if (w.task_id() != 0) {
      auto t = tx.GetTask(w.task_id());
      if (!t.ok()) return t.status();
      task = std::move(*t);
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!rec) return absl::NotFoundError("ticket is gone");
  if (task && task->external_id().empty())
    return NotReady(absl::StrCat("task ", task->id(), " is not created in the tracker yet"));
  return it->second->WriteBack(rec->ticket, w.classification(), task ? &*task : nullptr);
}

}  // namespace debrief::outbox
