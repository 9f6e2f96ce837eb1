// Ticket text through the personal-data redactor, as tests/plugin/testdata/pii_corpus.tsv
// lines it: the requester's name, a tab, the text (no tab: no name). Whatever the bytes, it
// must not crash or hang, and it must keep what redactor.h promises: spans in text order,
// inside the text and never overlapping, and Redact the text with each span replaced by its
// placeholder.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "redact/redactor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace debrief;
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  v1::Person requester;
  if (const size_t tab = text.find('\t'); tab != absl::string_view::npos) {
    requester.set_name(std::string(text.substr(0, tab)));
    text.remove_prefix(tab + 1);
  }
  const redact::Redactor& r = redact::DefaultRedactor();
  const std::vector<std::string> names = redact::Redactor::NamesOf(requester);
  std::string expected;
  size_t at = 0;
  for (const redact::PiiSpan& s : r.Find(text, names)) {
    if (s.begin < at || s.begin >= s.end || s.end > text.size()) abort();
    absl::StrAppend(&expected, text.substr(at, s.begin - at),
                    redact::Redactor::Placeholder(s.kind));
    at = s.end;
  }
  absl::StrAppend(&expected, text.substr(at));
  if (r.Redact(text, requester) != expected) abort();
  return 0;
}
