#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "debrief/v1/model.pb.h"

namespace debrief::spi {

// What the core asks a tracker to create.
struct TaskDraft {
  // Stable across retries. The adapter stores it in the task (a marker) and searches for it
  // before creating, so a retry after an unknown outcome finds the task it already made.
  std::string idempotency_key;
  std::string title;
  std::string description;  // personal data already removed
  v1::Category category;    // routing: project, labels, fields
};

struct TrackerTask {
  std::string external_id;   // immutable id (never a key that changes on move)
  std::string external_key;  // human-facing key
  std::string url;
  v1::TaskStatus status = v1::TASK_OPEN;
};

// The tracker side of Debrief. Thread-safe; called from the executor only, never on a
// request path. Status codes: UNAVAILABLE / RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED are
// retried with back-off (RetryAfter honoured); anything else dead-letters the action.
class TrackerAdapter {
 public:
  virtual ~TrackerAdapter() = default;

  virtual const std::string& id() const = 0;
  virtual const std::string& type() const = 0;

  // Creates the task, or returns the one already made with this idempotency key.
  virtual absl::StatusOr<TrackerTask> CreateTask(const TaskDraft& draft) = 0;

  // Records on the task that this ticket belongs to it. Idempotent.
  virtual absl::Status LinkTicket(const std::string& external_id, const v1::Ticket& ticket) = 0;
  virtual absl::Status UnlinkTicket(const std::string& external_id, const std::string& helpdesk_id,
                                    const std::string& ticket_id) = 0;

  // Reads the task back (status, key, url). NOT_FOUND if it was deleted.
  virtual absl::StatusOr<TrackerTask> GetTask(const std::string& external_id) = 0;

  virtual absl::Status Check() = 0;
};

}  // namespace debrief::spi
