#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace debrief::classify {

struct LabeledText {
  std::string text;
  std::string label;
};

// Reads a CSV file with a header naming `text` and `category` (or `label`) columns, RFC 4180
// quoting ("" inside quotes). Errors name the file and line.
absl::StatusOr<std::vector<LabeledText>> ReadLabeledCsv(const std::string& path);

// Splits rows into (train, held out) with about `fraction` of every label held out;
// deterministic for a seed.
void SplitStratified(const std::vector<LabeledText>& rows, double fraction, uint64_t seed,
                     std::vector<LabeledText>* train, std::vector<LabeledText>* held_out);

}  // namespace debrief::classify
