#include "classify/normalize.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/text_clean.h"
#include "base/utf8.h"

namespace debrief::classify {
namespace {

// Decodes one UTF-8 code point at s[i]; advances i. Invalid bytes come back as themselves.
uint32_t Decode(absl::string_view s, size_t& i) {
  unsigned char c = s[i];
  int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
  if (i + len > s.size()) len = 1;
  uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (int k = 1; k < len; ++k) {
    unsigned char cc = s[i + k];
    if ((cc & 0xC0) != 0x80) {
      len = 1;
      cp = c;
      break;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += len;
  return cp;
}

void Encode(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Simple case folding for the scripts support tickets are mostly written in.
uint32_t Fold(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp < 0x80) return cp;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 32;  // Latin-1
  if (cp >= 0x100 && cp <= 0x17F && cp != 0x130 && cp != 0x131 && cp != 0x138 && cp != 0x149 &&
      cp != 0x17F) {  // Latin Extended-A
    bool odd_upper = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E);
    if (odd_upper) return (cp % 2 == 1) ? cp + 1 : cp;
    return (cp % 2 == 0) ? cp + 1 : cp;
  }
  if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 32;  // Greek
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;                 // Cyrillic
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
  return cp;
}

bool IsLetterOrDigit(uint32_t cp) {
  if (cp < 0x80) return absl::ascii_isalnum(static_cast<unsigned char>(cp));
  // Letters of the scripts above and beyond; punctuation blocks are separators.
  if (cp >= 0x2000 && cp <= 0x206F) return false;  // general punctuation
  if (cp >= 0x3000 && cp <= 0x303F) return false;  // CJK punctuation
  if (cp == 0xA0 || cp == 0xAB || cp == 0xBB || cp == 0xBF || cp == 0xA1 || cp == 0xD7 ||
      cp == 0xF7 || (cp >= 0xA2 && cp <= 0xBF && cp != 0xAA && cp != 0xB5 && cp != 0xBA))
    return false;
  return true;
}

bool LooksLikeUrl(absl::string_view w) {
  return absl::StrContains(w, "://") || absl::StartsWithIgnoreCase(w, "www.");
}

bool LooksLikeEmail(absl::string_view w) {
  size_t at = w.find('@');
  return at != absl::string_view::npos && at > 0 && w.find('.', at) != absl::string_view::npos;
}

void AppendTokens(absl::string_view text, std::vector<std::string>& out) {
  size_t i = 0;
  while (i < text.size()) {
    // One whitespace-separated chunk at a time, so URLs and emails are seen whole.
    while (i < text.size() && absl::ascii_isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    while (i < text.size() && !absl::ascii_isspace(static_cast<unsigned char>(text[i]))) ++i;
    absl::string_view chunk = text.substr(start, i - start);
    if (chunk.empty()) continue;
    if (LooksLikeUrl(chunk)) {
      out.emplace_back("_url_");
      continue;
    }
    if (LooksLikeEmail(chunk)) {
      out.emplace_back("_email_");
      continue;
    }
    std::string word;
    bool all_digits = true;
    auto flush = [&] {
      if (word.empty()) return;
      out.push_back(all_digits                    ? std::string("_num_")
                    : word.size() > kMaxWordBytes ? std::string("_long_")
                                                  : std::move(word));
      word.clear();
      all_digits = true;
    };
    for (size_t j = 0; j < chunk.size();) {
      // ASCII letters and digits, most of every text, without decoding and folding.
      const unsigned char b = static_cast<unsigned char>(chunk[j]);
      if (absl::ascii_isalnum(b)) {
        if (!absl::ascii_isdigit(b)) all_digits = false;
        word.push_back(absl::ascii_tolower(b));
        ++j;
        continue;
      }
      size_t before = j;
      uint32_t cp = Decode(chunk, j);
      if (cp == '\'' || cp == 0x2019) {
        // Inside a word an apostrophe vanishes; elsewhere it separates.
        if (word.empty() || j >= chunk.size()) flush();
        continue;
      }
      if (!IsLetterOrDigit(cp)) {
        // "4,471.50" stays one number.
        if ((cp == ',' || cp == '.') && all_digits && !word.empty() && j < chunk.size() &&
            absl::ascii_isdigit(static_cast<unsigned char>(chunk[j])))
          continue;
        flush();
        continue;
      }
      (void)before;
      if (cp >= 0x80 || !absl::ascii_isdigit(static_cast<unsigned char>(cp))) all_digits = false;
      if (cp == 0xDF) {  // sharp s
        word += "ss";
        continue;
      }
      Encode(Fold(cp), word);
    }
    flush();
  }
}

}  // namespace

std::vector<std::string> TokenizeText(absl::string_view text) {
  std::vector<std::string> out;
  AppendTokens(text, out);
  return out;
}

std::vector<std::string> ModelTokens(absl::string_view subject, absl::string_view body) {
  std::vector<std::string> out;
  AppendTokens(base::Utf8Prefix(subject, kMaxSubjectBytes), out);
  const std::string clean = base::StripQuotedReply(base::HtmlToText(body));
  AppendTokens(base::Utf8Prefix(clean, kMaxBodyBytes), out);
  return out;
}

std::string FoldCase(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) Encode(Fold(Decode(text, i)), out);
  return out;
}

}  // namespace debrief::classify
