#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace debrief::adapters::common {

// A task's description as Debrief first writes it: what the cause is, then the impact section
// between spi::kImpactBegin and spi::kImpactEnd.
std::string ComposeDescription(absl::string_view description, absl::string_view impact);

// Replaces the impact section in place, keeping whatever people wrote around it; appends a
// section where there is none (someone deleted it).
std::string ReplaceImpact(absl::string_view description, absl::string_view impact);

}  // namespace debrief::adapters::common
