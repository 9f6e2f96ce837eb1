#pragma once

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "debrief/spi/store.h"

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

// Appends the tickets a store already has labels for, as training examples (subject and
// body): those an agent corrected (their category), and those whose helpdesk tags name one of
// `known` categories. Returns how many it appended.
absl::StatusOr<size_t> AppendLabelledTickets(spi::Store& store, const std::set<std::string>& known,
                                             std::vector<LabeledText>* rows);

}  // namespace debrief::classify
