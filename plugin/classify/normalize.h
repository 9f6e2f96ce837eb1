#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace debrief::classify {

// What the classifier reads of a ticket, so that no ticket can cost more than a bounded amount
// of work and memory (a pasted log of megabytes is classified by its beginning): the first
// kMaxSubjectBytes of the subject and the first kMaxBodyBytes of the body once HTML and
// quoted replies are gone (about 5,000 words). A word longer than kMaxWordBytes (a hash, a
// base64 blob) is the one token "_long_".
inline constexpr size_t kMaxSubjectBytes = 1024;
inline constexpr size_t kMaxBodyBytes = 32 * 1024;
inline constexpr size_t kMaxWordBytes = 64;

// Ticket text to model tokens: HTML to text, quoted replies and signatures dropped (body),
// Unicode case folding (Latin, Greek, Cyrillic), and URLs, email addresses and numbers
// folded to the tokens "_url_", "_email_" and "_num_". Apostrophes inside words vanish
// ("can't" -> "cant"); every other non-letter separates words.
//
//   ModelTokens("Re: Charged TWICE", "see https://x.io, order 4471") ->
//       {"re", "charged", "twice", "see", "_url_", "order", "_num_"}
std::vector<std::string> ModelTokens(absl::string_view subject, absl::string_view body);

// The same for a single piece of text that is neither HTML nor an email reply.
std::vector<std::string> TokenizeText(absl::string_view text);

// Lower-cases one UTF-8 string with the folding above.
std::string FoldCase(absl::string_view text);

}  // namespace debrief::classify
