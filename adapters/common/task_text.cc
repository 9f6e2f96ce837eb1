#include "common/task_text.h"

#include "absl/strings/str_cat.h"
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

}  // namespace debrief::adapters::common
