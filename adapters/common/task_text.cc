#include "common/task_text.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/rest.h"
#include "debrief/spi/tracker_adapter.h"

namespace debrief::adapters::common {
namespace {

std::string Section(absl::string_view impact) {
  return absl::StrCat(spi::kImpactBegin, "\n", impact, "\n", spi::kImpactEnd);
}

}  // namespace

std::string ComposeDescription(absl::string_view description, absl::string_view impact) {
  if (impact.empty()) return std::string(description);
  return absl::StrCat(description, "\n\n", Section(impact), "\n");
}

std::string ReplaceImpact(absl::string_view description, absl::string_view impact) {
  size_t b = description.find(spi::kImpactBegin);
  size_t e = b == absl::string_view::npos ? b : description.find(spi::kImpactEnd, b);
  if (b == absl::string_view::npos || e == absl::string_view::npos)
    return ComposeDescription(description, impact);
  e += absl::string_view(spi::kImpactEnd).size();
  return absl::StrCat(description.substr(0, b), Section(impact), description.substr(e));
}

std::string TaskMarker(absl::string_view idempotency_key) {
  return absl::StrCat("debrief-task-", NoteId(idempotency_key));
}

std::string TaskBody(const spi::TaskDraft& d) {
  return absl::StrCat(ComposeDescription(d.description, d.impact),
                      "\n---\nDebrief reference: ", TaskMarker(d.idempotency_key), "\n");
}

std::string CommentMarker(absl::string_view comment_key) {
  return absl::StrCat("debrief-note-", NoteId(comment_key));
}

std::string KeyedComment(absl::string_view text, absl::string_view comment_key) {
  return absl::StrCat(text, "\n\n---\nDebrief reference: ", CommentMarker(comment_key), "\n");
}

absl::StatusOr<std::string> ProjectFor(const v1::Category& category,
                                       const std::string& default_project, absl::string_view what,
                                       absl::string_view setting) {
  const std::string& p =
      category.routing().project().empty() ? default_project : category.routing().project();
  if (p.empty())
    return absl::FailedPreconditionError(absl::StrCat("no ", what, " for category ", category.id(),
                                                      " (settings.", setting,
                                                      " or the category's routing.project)"));
  return p;
}

std::set<std::string> ProjectsOf(const std::string& default_project,
                                 const std::vector<v1::Category>& routed) {
  std::set<std::string> out;
  if (!default_project.empty()) out.insert(default_project);
  for (const v1::Category& c : routed)
    out.insert(c.routing().project().empty() ? default_project : c.routing().project());
  out.erase("");
  return out;
}

std::optional<v1::TaskStatus> ParseTaskStatus(absl::string_view word) {
  std::string w = absl::AsciiStrToLower(absl::StripAsciiWhitespace(word));
  absl::StrReplaceAll({{" ", "_"}, {"-", "_"}, {"'", ""}}, &w);
  if (w == "open" || w == "todo" || w == "to_do") return v1::TASK_OPEN;
  if (w == "in_progress" || w == "started") return v1::TASK_IN_PROGRESS;
  if (w == "done" || w == "fixed" || w == "completed") return v1::TASK_DONE;
  if (w == "wont_do" || w == "wont_fix" || w == "cancelled" || w == "canceled")
    return v1::TASK_WONT_DO;
  return std::nullopt;
}

}  // namespace debrief::adapters::common
