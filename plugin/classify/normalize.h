#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace debrief::classify {

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
