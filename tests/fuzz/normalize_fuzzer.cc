// Ticket text from outside through every normalisation step: whatever the bytes, no step may
// crash, hang or overflow, and what reaches a Protobuf string is UTF-8.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/text_clean.h"
#include "base/utf8.h"
#include "classify/normalize.h"
#include "classify/text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace debrief;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string plain = base::HtmlToText(text);
  (void)base::StripQuotedReply(plain);
  for (const std::string& t : classify::ModelTokens(text, text))
    if (t.empty() || t.size() > classify::kMaxWordBytes * 4) abort();
  (void)classify::ContentTokens(text);
  (void)classify::FoldText(text);
  const std::string repaired = base::ToValidUtf8(text);
  if (!base::IsValidUtf8(repaired)) abort();
  if (base::IsValidUtf8(text) && repaired != text) abort();
  const absl::string_view prefix = base::Utf8Prefix(repaired, size / 2);
  if (!base::IsValidUtf8(prefix)) abort();
  return 0;
}
