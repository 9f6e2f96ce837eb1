#pragma once

// What the loop's files share (loop.cc, follower.cc, replies.cc, actions.cc).
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "debrief/v1/model.pb.h"

namespace debrief::loop::internal {

// The task is created by an earlier action (ordered first in the same batch): wait for it.
inline absl::Status NotReady(std::string msg) { return absl::UnavailableError(std::move(msg)); }

// Pending, open or in progress.
inline bool Active(v1::TaskStatus s) {
  return s == v1::TASK_PENDING_CREATE || s == v1::TASK_OPEN || s == v1::TASK_IN_PROGRESS;
}

// How a note names the task: its tracker key, or Debrief's id, and its link.
inline std::string TaskRef(const v1::ImprovementTask& t) {
  std::string ref = t.external_key().empty() ? absl::StrCat("task ", t.id()) : t.external_key();
  if (!t.url().empty()) absl::StrAppend(&ref, " (", t.url(), ")");
  return ref;
}

}  // namespace debrief::loop::internal
