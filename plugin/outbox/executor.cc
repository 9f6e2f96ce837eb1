#include "outbox/executor.h"

#include <algorithm>
#include <chrono>
#include <iostream>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/purpose.h"
#include "debrief/spi/adapter_factory.h"
#include "debrief/spi/status.h"

namespace debrief::outbox {
namespace {

const std::string kNoAction = "none";

// The task is created by an earlier action (ordered first in the same batch); wait for it.
absl::Status NotReady(std::string msg) { return absl::UnavailableError(std::move(msg)); }

v1::OutboxAction::SyncTask ForcedSync(int64_t task_id) {
  v1::OutboxAction::SyncTask s;
  s.set_task_id(task_id);
  s.set_force(true);
  return s;
}

}  // namespace

Executor::Executor(spi::Store& store, std::map<std::string, spi::HelpdeskAdapter*> helpdesks,
                   loop::Loop& loop, const spi::Clock& clock, ExecutorOptions options)
    : store_(store),
      helpdesks_(std::move(helpdesks)),
      loop_(loop),
      clock_(clock),
      options_(options),
      worker_(
          "executor", [this] { return RunDue(); }, options.poll_interval,
          /*drain_on_stop=*/false) {}

Executor::~Executor() { Stop(); }

void Executor::Start() {
  if (options_.active) worker_.set_active(options_.active);
  worker_.Start();
}
void Executor::Stop() { worker_.Stop(); }
void Executor::Notify() { worker_.Notify(); }

absl::StatusOr<int> Executor::RunDue() {
  std::lock_guard<std::mutex> guard(run_mu_);
  const absl::Time now = clock_.Now();
  // A clock set back (an NTP step, a restored VM) would leave every retry and scheduled
  // write waiting for it to catch up: they are moved back by as much, keeping their distance.
  if (now < last_run_ - absl::Seconds(1)) {
    const absl::Duration back = last_run_ - now;
    base::log::Warning("executor", "the clock went back; pending actions are moved back as much",
                       {{"by", absl::FormatDuration(back)}});
    if (absl::Status s = store_.ShiftPendingActions(-back); !s.ok()) return s;
  }
  last_run_ = now;
  auto due = store_.DueActions(now, options_.batch);
  if (!due.ok()) return due.status();
  int ran = 0;
  // Completions are recorded together at the end of the batch: a crash before that repeats
  // some calls, which every adapter makes idempotent.
  std::vector<int64_t> done;
  absl::Cleanup flush = [&] {
    if (auto st = store_.CompleteActions(done); !st.ok())
      base::log::Warning("executor", "could not record completions (they will repeat)",
                         {{"error", st.ToString()}});
    else
      stats_.done += static_cast<int64_t>(done.size());
  };
  for (const spi::OutboxEntry& e : *due) {
    // Stopping, or the jobs' lease passed to another replica (which reads these same actions
    // as due): the rest are left to it, and what is done is recorded now.
    if (worker_.stopping() || (options_.active && !options_.active())) break;
    // The adapter calls the action makes are timed under its name.
    const google::protobuf::FieldDescriptor* kind =
        v1::OutboxAction::descriptor()->FindFieldByNumber(e.action.action_case());
    const std::string& action = kind != nullptr ? kind->name() : kNoAction;
    base::ScopedPurpose purpose(action.c_str());
    const auto started = std::chrono::steady_clock::now();
    absl::Status s = Execute(e);
    if (options_.timed)
      options_.timed(action, absl::FromChrono(std::chrono::steady_clock::now() - started));
    ++ran;
    if (s.ok()) {
      base::log::Debug("executor", "action done", {{"action", action}, {"key", e.key}});
      done.push_back(e.id);
    } else if (spi::IsRetryable(s)) {
      absl::Duration wait = std::min(options_.initial_backoff * (1LL << std::min(e.attempts, 20)),
                                     options_.max_backoff);
      if (auto ra = spi::RetryAfter(s); ra && *ra > wait) wait = *ra;
      if (auto st = store_.RetryAction(e.id, clock_.Now() + wait, std::string(s.message()));
          !st.ok())
        return st;
      ++stats_.retried;
    } else {
      base::log::Warning("executor", "action dead-lettered",
                         {{"action", action}, {"key", e.key}, {"error", s.ToString()}});
      if (auto st = store_.DeadLetterAction(e.id, s.ToString()); !st.ok()) return st;
      ++stats_.dead;
    }
  }
  return ran;
}

absl::Status Executor::Execute(const spi::OutboxEntry& e) {
  switch (e.action.action_case()) {
    case v1::OutboxAction::kCreateTask:
      return loop_.CreateTask(e.action.create_task().task_id());
    case v1::OutboxAction::kLink:  // written by version 1: links now travel with the sync
      return loop_.SyncTask(ForcedSync(e.action.link().task_id()));
    case v1::OutboxAction::kUnlink:
      return loop_.SyncTask(ForcedSync(e.action.unlink().task_id()));
    case v1::OutboxAction::kSyncTask:
      return loop_.SyncTask(e.action.sync_task());
    case v1::OutboxAction::kWriteBack:
      return WriteBack(e.action.write_back());
    case v1::OutboxAction::kNotifyTicket:
      return loop_.NotifyTicket(e.action.notify_ticket());
    case v1::OutboxAction::kReply:
      return loop_.Reply(e.action.reply());
    case v1::OutboxAction::kVerifyFix:
      return loop_.VerifyFix(e.action.verify_fix());
    case v1::OutboxAction::kChaseStalled:
      return loop_.ChaseStalled(e.action.chase_stalled());
    case v1::OutboxAction::kClearStall:
      return loop_.ClearStall(e.action.clear_stall());
    case v1::OutboxAction::kMarkDuplicate:
      return loop_.MarkDuplicate(e.action.mark_duplicate());
    case v1::OutboxAction::ACTION_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("empty outbox action");
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
