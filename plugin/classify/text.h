#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"

namespace debrief::classify {

// Lower-cases ASCII, keeps UTF-8 letters, and splits on everything else. Stop words are
// dropped and a light English stemmer folds plurals and -ing/-ed forms, so that "refunds",
// "refunding" and "refunded" meet "refund". Reads what the classifier reads of a ticket
// (normalize.h's bounds); words longer than kMaxWordBytes are dropped.
// With `words`, also each token's word as written (lower-cased, before stemming).
std::vector<std::string> ContentTokens(absl::string_view text,
                                       std::vector<std::string>* words = nullptr);

// Lower-cased text with runs of non-letters collapsed to one space (for phrase matching).
std::string FoldText(absl::string_view text);

std::string Stem(absl::string_view word);

}  // namespace debrief::classify
