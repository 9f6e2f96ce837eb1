#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/worker.h"
#include "debrief/spi/clock.h"
#include "debrief/spi/helpdesk_adapter.h"
#include "debrief/spi/store.h"
#include "debrief/spi/tracker_adapter.h"
#include "debrief/v1/config.pb.h"
#include "policy/link_policy.h"

namespace debrief::loop {

// Closes the loop on improvement tasks:
//  - follows each active task's status in its tracker (polling GetTask every
//    loop.status_poll_interval) and stores every change with its time;
//  - when a task is done: an internal note and loop.fixed_tag on every linked ticket, and,
//    where loop.public_replies and the category's public_reply allow, one public reply per
//    customer to open and recently solved tickets, from the category's template;
//  - keeps the task's impact section current (SyncTask, debounced by the link policy, and
//    written when the impact grew by loop.impact_min_growth or the last write is
//    loop.impact_max_staleness old);
//  - after loop.settling_delay, verifies the fix (loop/verification.h) and writes the verdict
//    on the task; a fix that did not hold flags the task for its owner;
//  - chases a stalled task (loop/stall.h: its cause keeps bringing tickets while its status
//    has not moved in loop.stall_window): one comment with what kept coming and the
//    debrief-stalled label, at most once per window without a status change; the label comes
//    off when the status moves.
// Every side effect is an outbox action with a key, so each happens once.
class Loop {
 public:
  Loop(const v1::Config& config, spi::Store& store,
       std::map<std::string, spi::HelpdeskAdapter*> helpdesks,
       std::map<std::string, spi::TrackerAdapter*> trackers, policy::LinkPolicy& policy,
       const spi::Clock& clock);
  ~Loop();

  // Polls trackers for status changes in the background.
  // `active`, when set: whether this replica polls the trackers now (it holds the jobs'
  // lease); the tasks a tracker's webhook named to this replica are read back either way.
  void Start(std::function<bool()> active = nullptr);
  void Stop();

  // Reads back the status of each active task once (of a tracker that lists its changes, only
  // the tasks changed since its last complete poll); returns how many changed.
  absl::StatusOr<int> PollStatuses();

  // Enqueues a chase for each active task that is stalled (the follower does this after each
  // status poll; a window already chased is not chased again); returns how many are stalled.
  absl::StatusOr<int> ChaseStalledTasks();

  // A tracker's webhook named these tasks (immutable ids): the follower reads them back at
  // once instead of at the next poll. Tasks Debrief does not follow are ignored.
  void Nudge(const std::string& tracker_id, const std::vector<std::string>& external_ids);

  // Reads one active task's status back from its tracker now (an agent asked for it, instead
  // of waiting for the next poll), or a done one waiting for its release; a task finished
  // otherwise is left as it is.
  absl::Status RefreshTask(int64_t task_id);
  // When the task's status was last read from its tracker (since this debriefd started).
  std::optional<absl::Time> StatusReadAt(int64_t task_id) const;

  // The tracker reported the task's status (from a poll or a webhook), inside tx; with
  // TASK_SHIPPED its release and date where the tracker knows them.
  absl::Status OnStatus(spi::StoreTransaction& tx, int64_t task_id, const spi::TrackerTask& got,
                        const std::string& source);

  // "debrief-<kind>-<installation id>-<rest>": the key of a side effect that outlives this
  // database (a task's marker in the tracker, a note's id in the helpdesk). The installation's
  // random id (made by the store's schema) keeps a second Debrief against the same tracker,
  // or this one on a fresh database, from taking another's task or note for its own.
  absl::StatusOr<std::string> EffectKey(absl::string_view kind, absl::string_view rest);

  // Outbox actions (called by the executor).
  absl::Status CreateTask(int64_t task_id);
  absl::Status SyncTask(const v1::OutboxAction::SyncTask& sync);
  absl::Status NotifyTicket(const v1::OutboxAction::NotifyTicket& n);
  absl::Status Reply(const v1::OutboxAction::ReplyToCustomer& r);
  absl::Status VerifyFix(const v1::OutboxAction::VerifyFix& v);
  absl::Status ChaseStalled(const v1::OutboxAction::ChaseStalled& c);
  // Marks a merged category's task a duplicate of the task its cause went into (a comment
  // naming that task, once, and the debrief-duplicate label); UNAVAILABLE until both exist in
  // their trackers.
  absl::Status MarkDuplicate(const v1::OutboxAction::MarkDuplicate& m);
  absl::Status ClearStall(const v1::OutboxAction::ClearStall& c);

  // The public reply's text for a ticket (the category's template, or the default of its kind).
  static std::string ReplyText(const v1::Category* category, const v1::ImprovementTask& task,
                               const v1::Ticket& ticket);

 private:
  absl::StatusOr<spi::TrackerAdapter*> Tracker(const std::string& id);
  absl::StatusOr<spi::HelpdeskAdapter*> Helpdesk(const std::string& id);
  // The task, its ticket and the ticket's task, read in one snapshot.
  absl::Status ReadTaskAndTicket(int64_t task_id, const std::string& helpdesk_id,
                                 const std::string& ticket_id, v1::ImprovementTask* task,
                                 spi::TicketRecord* ticket);
  // Sends the update to the task's tracker and records what it now shows.
  absl::Status WriteTask(const v1::ImprovementTask& task, const spi::TaskUpdate& u, absl::Time at);
  bool ShouldReply(const v1::Category* category, const spi::TicketRecord& ticket) const;
  // The follower's step: nudged tasks first, the whole poll when it is due.
  absl::StatusOr<int> Follow();
  // Reads back the active tasks `wanted` accepts; returns how many changed.
  // Trackers whose read-back failed are added to *failed.
  absl::StatusOr<int> PollTasks(const std::function<bool(const v1::ImprovementTask&)>& wanted,
                                const std::string& source, std::set<std::string>* failed = nullptr);

  v1::LoopConfig config_;
  spi::Store& store_;
  std::map<std::string, spi::HelpdeskAdapter*> helpdesks_;
  std::map<std::string, spi::TrackerAdapter*> trackers_;
  policy::LinkPolicy& policy_;
  const spi::Clock& clock_;
  absl::Duration poll_interval_;
  absl::Time last_poll_ = absl::InfinitePast();  // follower thread only
  std::map<std::string, absl::Time> polled_;     // tracker -> its last complete poll
  std::mutex installation_mu_;
  std::optional<std::string> installation_;  // read once from the store
  mutable std::mutex read_at_mu_;
  std::map<int64_t, absl::Time> read_at_;  // task -> its status last read from the tracker
  std::mutex nudged_mu_;
  std::set<std::pair<std::string, std::string>> nudged_;  // (tracker, external id)
  std::function<bool()> active_;                          // set before the follower starts
  base::Worker follower_;
};

}  // namespace debrief::loop
