#pragma once

#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "debrief/spi/tracker_adapter.h"

namespace debrief::adapters::common {

// A task's description as Debrief first writes it: what the cause is, then the impact section
// between spi::kImpactBegin and spi::kImpactEnd.
std::string ComposeDescription(absl::string_view description, absl::string_view impact);

// Replaces the impact section in place, keeping whatever people wrote around it; appends a
// section where there is none (someone deleted it).
std::string ReplaceImpact(absl::string_view description, absl::string_view impact);

// The reference Debrief writes into every task it creates and searches for before creating,
// so a retry after an unknown outcome finds the task instead of making a second one:
// "debrief-task-<24 hex>" from the draft's idempotency key, one word to every tracker's search.
std::string TaskMarker(absl::string_view idempotency_key);

// A task's body in Markdown as first written: description, impact section, and a last line
// carrying the marker.
std::string TaskBody(const spi::TaskDraft& draft);

// A comment carrying the marker of its key (a visible last line), so it is written once.
std::string KeyedComment(absl::string_view text, absl::string_view comment_key);
// The marker KeyedComment writes for this key.
std::string CommentMarker(absl::string_view comment_key);

// Where a category's task goes: its routing.project, else the adapter's default;
// FAILED_PRECONDITION naming the setting when neither is set. `what` names the place in the
// vendor's words ("GitLab project", "Linear team"), `setting` the adapter's default setting.
absl::StatusOr<std::string> ProjectFor(const v1::Category& category,
                                       const std::string& default_project, absl::string_view what,
                                       absl::string_view setting);

// The projects (repositories, teams) the routed categories' tasks go to: each category's
// routing.project, else the adapter's default; empty names dropped.
std::set<std::string> ProjectsOf(const std::string& default_project,
                                 const std::vector<v1::Category>& routed);

// The task status an admin's word names: "open", "in_progress", "done", "wont_do" (also
// "in progress", "won't do" and any case), or nothing.
std::optional<v1::TaskStatus> ParseTaskStatus(absl::string_view word);

}  // namespace debrief::adapters::common
