// Following tasks: status polls, tracker webhooks' nudges, and what a status change sets off.
#include <iostream>
#include <utility>
#include <vector>

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

absl::Status Loop::RefreshTask(int64_t task_id) {
  return PollTasks([task_id](const v1::ImprovementTask& t) { return t.id() == task_id; }, "agent")
      .status();
}

std::optional<absl::Time> Loop::StatusReadAt(int64_t task_id) const {
  std::lock_guard<std::mutex> l(read_at_mu_);
  auto it = read_at_.find(task_id);
  if (it == read_at_.end()) return std::nullopt;
  return it->second;
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
  if (clock_.Now() - last_poll_ >= poll_interval_ && (!active_ || active_())) {
    auto n = PollStatuses();
    if (!n.ok()) return n.status();
    changed += *n;
    // With the statuses fresh: a task that moved is not chased.
    if (auto chased = ChaseStalledTasks(); !chased.ok())
      base::log::Warning("task-follower", "could not look for stalled tasks",
                         {{"error", chased.status().ToString()}});
  }
  return changed;
}

absl::StatusOr<int> Loop::ChaseStalledTasks() {
  const absl::Time now = clock_.Now();
  // Found in a snapshot, enqueued in one short write.
  std::vector<std::pair<std::string, v1::OutboxAction>> chases;
  absl::Status s = store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    for (v1::TaskStatus st : {v1::TASK_OPEN, v1::TASK_IN_PROGRESS}) {
      auto tasks = tx.ListTasks({/*category_id=*/"", st});
      if (!tasks.ok()) return tasks.status();
      for (const v1::ImprovementTask& t : *tasks) {
        if (t.external_id().empty()) continue;
        auto stall = CheckStall(tx, t, config_, now);
        if (!stall.ok()) return stall.status();
        if (!stall->stalled) continue;
        const int64_t since = absl::ToUnixMicros(stall->status_changed_at);
        v1::OutboxAction chase;
        chase.mutable_chase_stalled()->set_task_id(t.id());
        chase.mutable_chase_stalled()->set_status_changed_at(since);
        chase.mutable_chase_stalled()->set_period(stall->period);
        // Keyed by the change the stall counts from and the window: the outbox keeps the key
        // of a chase done, so a window is chased once however often this runs.
        chases.emplace_back(absl::StrCat("stalled:", t.id(), ":", since, ":", stall->period),
                            std::move(chase));
      }
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (chases.empty()) return 0;
  s = store_.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    for (const auto& [key, chase] : chases)
      if (absl::Status e = tx.Enqueue(key, chase, now); !e.ok()) return e;
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return static_cast<int>(chases.size());
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
      base::log::Warning("task-follower", "could not list changed tasks; reading every task",
                         {{"adapter", id}, {"error", ids.status().ToString()}});
    }
  }
  std::set<std::string> failed;
  auto n = PollTasks(
      [&](const v1::ImprovementTask& t) {
        // A done task waiting for its release is read at every poll: releasing a version
        // seldom touches the issue, so no change listing names it.
        if (t.status() == v1::TASK_DONE) return true;
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
    for (v1::TaskStatus st : {v1::TASK_OPEN, v1::TASK_IN_PROGRESS, v1::TASK_DONE}) {
      auto l = tx.ListTasks({/*category_id=*/"", st});
      if (!l.ok()) return l.status();
      // Done means fixed, not yet shipped: followed until the release is out.
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
      base::log::Warning("task-follower", "could not read a task",
                         {{"task", absl::StrCat(t.id())},
                          {"adapter", t.tracker_id()},
                          {"error", got.status().ToString()}});
      continue;
    }
    {
      std::lock_guard<std::mutex> l(read_at_mu_);
      read_at_[t.id()] = clock_.Now();
    }
    if (!got->release_lookup.ok())
      base::log::Warning("task-follower",
                         "could not look up the release of a done task; asking again next poll",
                         {{"task", absl::StrCat(t.id())},
                          {"adapter", t.tracker_id()},
                          {"error", got->release_lookup.ToString()}});
    if (got->status == t.status()) continue;
    absl::Status st = store_.Transact(
        [&](spi::StoreTransaction& tx) { return OnStatus(tx, t.id(), *got, source); });
    if (!st.ok()) return st;
    ++changed;
  }
  return changed;
}

absl::Status Loop::OnStatus(spi::StoreTransaction& tx, int64_t task_id, const spi::TrackerTask& got,
                            const std::string& source) {
  const v1::TaskStatus status = got.status;
  auto read = tx.GetTask(task_id);
  if (!read.ok()) return read.status();
  if (!*read) return absl::NotFoundError(absl::StrCat("no task ", task_id));
  v1::ImprovementTask& task = **read;
  if (task.status() == status || status == v1::TASK_STATUS_UNSPECIFIED) return absl::OkStatus();
  // Shipped is final: customers were told, and a cause that comes back opens a regression task.
  // (Shipped tasks are not read back; a read that raced the ship is stale.)
  if (task.status() == v1::TASK_SHIPPED) return absl::OkStatus();
  if (!Active(task.status()) && Active(status))
    // Fixed but not shipped, or won't do, and reopened in the tracker (a fix reverted before
    // its release): the task is active again and takes its cause's tickets.
    base::log::Info("loop",
                    absl::StrCat("task moved from ", v1::TaskStatus_Name(task.status()), " to ",
                                 v1::TaskStatus_Name(status), " in its tracker"),
                    {{"task", absl::StrCat(task_id)}});
  const absl::Time now = clock_.Now();
  // A task chased as stalled carries the debrief-stalled label: it comes off, once per stall.
  const std::string chased = StalledCursor(task_id);
  auto since = tx.GetCursor(chased);
  if (!since.ok()) return since.status();
  if (*since && !(*since)->empty()) {
    v1::OutboxAction clear;
    clear.mutable_clear_stall()->set_task_id(task_id);
    if (absl::Status s = tx.Enqueue(absl::StrCat("unstall:", task_id, ":", **since), clear, now);
        !s.ok())
      return s;
    if (absl::Status s = tx.PutCursor(chased, ""); !s.ok()) return s;
  }
  v1::TaskStatusChange change;
  change.set_task_id(task_id);
  change.set_status(status);
  base::SetTimestamp(change.mutable_at(), now);
  change.set_source(source);
  if (status == v1::TASK_SHIPPED) change.set_release(got.release);
  if (absl::Status s = tx.RecordStatusChange(change); !s.ok()) return s;
  const bool was_done = task.status() == v1::TASK_DONE && task.has_done_at();
  task.set_status(status);
  if (status == v1::TASK_DONE || status == v1::TASK_WONT_DO)
    base::SetTimestamp(task.mutable_done_at(), now);
  if (status == v1::TASK_SHIPPED) {
    // The release's day where the tracker says it, else the time Debrief learned it. A
    // release's day is a plan (a due date, a release date at midnight): never before the task
    // was seen done (it was read unshipped then), nor before it was made, nor in the future.
    absl::Time shipped = got.shipped_at == absl::InfinitePast() ? now : got.shipped_at;
    shipped = std::max(shipped, was_done ? base::FromTimestamp(task.done_at())
                                         : base::FromTimestamp(task.created_at()));
    shipped = std::min(shipped, now);
    base::SetTimestamp(task.mutable_shipped_at(), shipped);
    task.set_release(got.release);
    // Shipped straight from open (shipped at done, or done fell between two polls): done then.
    if (!was_done) base::SetTimestamp(task.mutable_done_at(), shipped);
  }
  if (absl::Status s = tx.UpdateTask(task); !s.ok()) return s;
  // Fixed, waiting for its release: the task says so at the next interval.
  if (status == v1::TASK_DONE) return policy_.EnqueueSync(tx, task_id, /*force=*/true);
  if (status != v1::TASK_SHIPPED) return absl::OkStatus();

  // Shipped: tell every linked ticket once, reply once per customer where allowed, verify
  // later (counting from the day it shipped).
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
  const absl::Time due = base::FromTimestamp(task.shipped_at()) +
                         ToDuration(config_.settling_delay(), absl::Hours(24 * 7)) +
                         ToDuration(config_.verify_window(), absl::Hours(24 * 28));
  if (absl::Status s = tx.Enqueue(absl::StrCat("verify:", task_id, ":0"), verify, due); !s.ok())
    return s;
  return policy_.EnqueueSync(tx, task_id, /*force=*/true);
}

}  // namespace debrief::loop
