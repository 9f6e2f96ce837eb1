#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "debrief/spi/helpdesk_adapter.h"
#include "debrief/v1/model.pb.h"

namespace debrief::spi {

// A ticket as a tracker shows it on a task: a link back, never personal data.
struct LinkedTicket {
  std::string helpdesk_id;
  std::string ticket_id;
  std::string subject;  // personal data already removed
  std::string url;      // where an agent opens the ticket
};

// What the core asks a tracker to create. Everything here has had personal data removed.
struct TaskDraft {
  // Stable across retries. The adapter stores it in the task (a marker) and searches for it
  // before creating, so a retry after an unknown outcome finds the task it already made.
  std::string idempotency_key;
  std::string title;
  std::string description;            // what the cause is; written once
  std::string impact;                 // the impact section, later replaced in place by UpdateTask
  std::vector<LinkedTicket> tickets;  // linked at creation
  v1::Category category;              // routing: project, labels, fields
};

// Brings a task up to date in one go (the core debounces these per task).
struct TaskUpdate {
  std::string impact;                 // replaces the impact section in place
  std::vector<LinkedTicket> tickets;  // every ticket linked now: link the new, unlink the gone
  std::vector<std::string> add_labels;
  std::vector<std::string> remove_labels;  // taken off where present (a stall that ended)
  // A comment added at most once per comment_key (empty: no comment).
  std::string comment;
  std::string comment_key;
  // The task (immutable id, in this tracker) this one duplicates, after a taxonomy merge:
  // linked once with the tracker's own duplicate link where it has one (Redmine's `duplicates`
  // relation); elsewhere the comment says so. Empty: none.
  std::string duplicate_of;
};

// Markers around the impact section in a task's description, so an update replaces that
// section and leaves whatever people wrote around it.
inline constexpr char kImpactBegin[] = "<!-- debrief:impact -->";
inline constexpr char kImpactEnd[] = "<!-- /debrief:impact -->";

struct TrackerTask {
  std::string external_id;   // immutable id (never a key that changes on move)
  std::string external_key;  // human-facing key
  std::string url;
  v1::TaskStatus status = v1::TASK_OPEN;
  // With TASK_SHIPPED: the release that holds the fix and the day it came out, where the
  // tracker knows them (empty, InfinitePast: the core takes the time it learned it).
  std::string release;
  absl::Time shipped_at = absl::InfinitePast();
  // Why a done task's release could not be looked up (its status stays TASK_DONE and the next
  // poll asks again): a failed lookup never hides that the task is done.
  absl::Status release_lookup;
};

// When a tracker's done task counts as in customers' hands (each tracker's `shipped_when`):
// at done (kDone: TASK_SHIPPED as soon as it is done), or when the release holding it is out
// (kReleased: TASK_DONE until then, TASK_SHIPPED with the release).
enum class ShippedWhen { kDone, kReleased };

// Reads a `shipped_when` setting: "done", "released", or empty for the tracker's default.
inline absl::StatusOr<ShippedWhen> ParseShippedWhen(const std::string& s, ShippedWhen dflt) {
  if (s.empty()) return dflt;
  if (s == "done") return ShippedWhen::kDone;
  if (s == "released") return ShippedWhen::kReleased;
  return absl::InvalidArgumentError(
      absl::StrCat("settings.shipped_when: \"", s, "\" is neither \"done\" nor \"released\""));
}

// What a tracker's webhook says: the tasks it is about (immutable ids). The core reads each
// of them back with GetTask at once, so the tracker stays the one source of a task's status
// (webhooks arrive late, twice and out of order); the status poll stays the safety net, so a
// webhook lost after its 2xx delays the loop, never drops it.
struct TaskEvents {
  std::vector<std::string> external_ids;
  std::string ignored_reason;  // set when the delivery is about nothing Debrief follows
};

// A task as its tracker shows it to the people working it.
struct TaskView {
  TrackerTask task;
  std::string title;
  std::string description;
  std::vector<std::string> labels;
  std::vector<std::string> comments;        // oldest first
  std::vector<std::string> linked_tickets;  // "helpdesk_id/ticket_id"
};

// The tracker side of Debrief. Implementations are final, built only by their factory, and
// thread-safe: the methods are called concurrently from these threads:
//   CreateTask, UpdateTask          executor
//   GetTask, ChangedSince           task-follower (and the executor, reading a task back)
//   AcceptWebhook                   http-N, on a request: no blocking I/O
//   Check, ShowTask, SetTaskStatus  the API's threads (gRPC callbacks, HTTP)
// Status codes: spi::IsRetryable ones (status.h) are retried with back-off, honouring
// spi::RetryAfter; anything else dead-letters the action.
class TrackerAdapter {
 public:
  virtual ~TrackerAdapter() = default;

  virtual const std::string& id() const = 0;
  virtual const std::string& type() const = 0;

  // Creates the task, or returns the one already made with this idempotency key.
  virtual absl::StatusOr<TrackerTask> CreateTask(const TaskDraft& draft) = 0;

  // Replaces the impact section, reconciles the linked tickets (the tracker's native links),
  // adds labels and the keyed comment. Idempotent: repeating it changes nothing.
  virtual absl::Status UpdateTask(const std::string& external_id, const TaskUpdate& update) = 0;

  // Reads the task back (status, key, url): how Debrief follows a task where the tracker
  // sends no webhook. NOT_FOUND if it was deleted. A done task is TASK_SHIPPED, with its
  // release, once it is in customers' hands by the tracker's shipped_when; the core reads done
  // tasks back at every poll until then (a release seldom touches the issue, so no change
  // listing or webhook names it).
  virtual absl::StatusOr<TrackerTask> GetTask(const std::string& external_id) = 0;

  // The tasks (immutable ids) updated at or after `since`, for trackers polled for status:
  // the follower then reads back only those instead of every open task. UNIMPLEMENTED where
  // the tracker cannot list changes (every task is read back then).
  virtual absl::StatusOr<std::vector<std::string>> ChangedSince(absl::Time since) {
    (void)since;
    return absl::UnimplementedError(absl::StrCat("the ", type(), " tracker lists no changes"));
  }

  // Whether the tracker sends webhooks that AcceptWebhook takes; the others are polled only.
  virtual bool sends_webhooks() const { return false; }

  // Verifies a webhook from the tracker (UNAUTHENTICATED with the reason when its signature
  // is wrong, INVALID_ARGUMENT when malformed). UNIMPLEMENTED where the tracker sends none
  // (such trackers, and the builtin one, are followed by polling only).
  virtual absl::StatusOr<TaskEvents> AcceptWebhook(const InboundDelivery& delivery) const {
    (void)delivery;
    return absl::UnimplementedError(
        absl::StrCat("the ", type(), " tracker sends no webhooks; Debrief polls it"));
  }

  // For trackers whose tasks Debrief holds itself (the builtin one), so a team works them
  // through Debrief (Admin.ShowTrackerTask and SetTrackerTaskStatus, `debriefctl tracker`):
  // the task whole, and moving it to a status. UNIMPLEMENTED for the others, which are worked
  // in their own UI. Called from gRPC and HTTP threads.
  virtual absl::StatusOr<TaskView> ShowTask(const std::string& external_id) {
    (void)external_id;
    return absl::UnimplementedError(
        absl::StrCat("tasks in the ", type(), " tracker are read in the tracker itself"));
  }
  virtual absl::Status SetTaskStatus(const std::string& external_id, v1::TaskStatus status) {
    (void)external_id;
    (void)status;
    return absl::UnimplementedError(
        absl::StrCat("tasks in the ", type(), " tracker are moved in the tracker itself"));
  }

  // What an admin sees in Admin.CheckAdapter: reachability and credentials and, where the
  // tracker can tell, every field the routed projects require that the routing leaves empty
  // (FAILED_PRECONDITION naming them), before the first task fails to be created.
  virtual absl::Status Check(const std::vector<v1::Category>& routed) = 0;
};

}  // namespace debrief::spi
