#include "classify/text.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "base/utf8.h"
#include "classify/normalize.h"

namespace debrief::classify {
namespace {

const absl::flat_hash_set<absl::string_view>& StopWords() {
  static const auto* words = new absl::flat_hash_set<absl::string_view>{
      "a",      "an",     "the",   "and",     "or",    "but",    "if",    "of",    "to",    "in",
      "on",     "at",     "for",   "with",    "by",    "from",   "is",    "are",   "was",   "were",
      "be",     "been",   "am",    "it",      "its",   "this",   "that",  "these", "those", "i",
      "me",     "my",     "we",    "our",     "you",   "your",   "he",    "she",   "they",  "them",
      "their",  "his",    "her",   "as",      "so",    "do",     "does",  "did",   "have",  "has",
      "had",    "will",   "would", "can",     "could", "should", "there", "here",  "what",  "which",
      "who",    "when",   "where", "how",     "all",   "any",    "some",  "just",  "very",  "about",
      "into",   "out",    "up",    "again",   "also",  "than",   "then",  "too",   "hi",    "hello",
      "thanks", "please", "dear",  "regards", "get",   "got",    "im",    "ive",   "dont",  "s",
      "t",      "m",      "re",    "ve",      "ll",    "d"};
  return *words;
}

bool IsWordByte(unsigned char c) { return absl::ascii_isalnum(c) || c >= 0x80; }

}  // namespace

std::string Stem(absl::string_view w) {
  std::string s(w);
  auto strip = [&](absl::string_view suf, size_t min_rest) {
    if (s.size() >= suf.size() + min_rest && absl::EndsWith(s, suf)) {
      s.resize(s.size() - suf.size());
      return true;
    }
    return false;
  };
  if (strip("ies", 2)) {
    s += "y";
  } else if (strip("ing", 3) || strip("ed", 3)) {
    // "charged" -> "charg", "charging" -> "charg", "charge" -> "charg" below: all meet.
  } else if (!absl::EndsWith(s, "ss") && !absl::EndsWith(s, "us")) {
    strip("s", 3);
  }
  if (s.size() > 4 && s.back() == 'e') s.pop_back();
  return s;
}

std::vector<std::string> ContentTokens(absl::string_view text, std::vector<std::string>* words) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    // A word longer than kMaxWordBytes (a hash, a blob) is no term anyone would read.
    if (cur.size() <= kMaxWordBytes && !StopWords().count(cur)) {
      out.push_back(Stem(cur));
      if (words != nullptr) words->push_back(cur);
    }
    cur.clear();
  };
  for (unsigned char c : base::Utf8Prefix(text, kMaxSubjectBytes + kMaxBodyBytes)) {
    if (c == '\'') continue;  // "can't" -> "cant"
    if (IsWordByte(c)) {
      cur.push_back(static_cast<char>(absl::ascii_tolower(c)));
    } else {
      flush();
    }
  }
  flush();
  return out;
}

std::string FoldText(absl::string_view text) {
  text = base::Utf8Prefix(text, kMaxSubjectBytes + kMaxBodyBytes);
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back(' ');
  for (unsigned char c : text) {
    if (c == '\'') continue;
    if (IsWordByte(c)) {
      out.push_back(static_cast<char>(absl::ascii_tolower(c)));
    } else if (out.back() != ' ') {
      out.push_back(' ');
    }
  }
  if (out.back() != ' ') out.push_back(' ');
  return out;
}

}  // namespace debrief::classify
