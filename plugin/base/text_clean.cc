#include "base/text_clean.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "re2/re2.h"

namespace debrief::base {

namespace {

// Where `</name` (any case) next starts at or after `from`, or npos.
size_t FindClosingTag(absl::string_view html, absl::string_view name, size_t from) {
  for (size_t p = html.find("</", from); p != absl::string_view::npos; p = html.find("</", p + 2)) {
    if (absl::StartsWithIgnoreCase(html.substr(p + 2), name)) return p;
  }
  return absl::string_view::npos;
}

}  // namespace

// Linear in the input: every search looks ahead a bounded distance (an entity's ';') or moves
// the position past what it scanned (a tag's '>', a script's end), so no character is looked
// at more than a few times, whatever the input repeats.
std::string HtmlToText(absl::string_view html) {
  if (html.find('<') == absl::string_view::npos && html.find('&') == absl::string_view::npos)
    return std::string(html);
  constexpr size_t kLongestEntity = 8;  // "&nbsp;" and friends; "&#39;"
  std::string out;
  out.reserve(html.size());
  bool tags = true;  // false once no '>' follows
  size_t i = 0;
  while (i < html.size()) {
    char c = html[i];
    if (c == '<' && tags) {
      size_t end = html.find('>', i);
      if (end == absl::string_view::npos) {
        // No tag closes from here on: the rest is text (a bare "<" as in "a < b"), and no
        // later '<' needs to look again.
        tags = false;
        continue;
      }
      absl::string_view inner = html.substr(i + 1, end - i - 1);
      const bool closing = absl::ConsumePrefix(&inner, "/");
      // The tag's name, lower-cased; only its first few characters can matter.
      std::string name = absl::AsciiStrToLower(
          inner.substr(0, std::min<size_t>(inner.find_first_of(" \t\n/"), 16)));
      if (!closing && (name == "script" || name == "style")) {
        size_t close = FindClosingTag(html, name, end + 1);
        i = close == absl::string_view::npos ? html.size() : close;
        continue;
      }
      if (name == "br" || name == "p" || name == "div" || name == "li" || name == "tr" ||
          name == "blockquote" || name == "h1" || name == "h2" || name == "h3")
        out.push_back('\n');
      i = end + 1;
    } else if (c == '&') {
      absl::string_view ahead = html.substr(i, kLongestEntity + 1);
      size_t semi = ahead.find(';');
      absl::string_view ent = semi == absl::string_view::npos ? "" : ahead.substr(0, semi + 1);
      if (ent == "&amp;")
        out += '&';
      else if (ent == "&lt;")
        out += '<';
      else if (ent == "&gt;")
        out += '>';
      else if (ent == "&quot;")
        out += '"';
      else if (ent == "&#39;" || ent == "&apos;")
        out += '\'';
      else if (ent == "&nbsp;")
        out += ' ';
      else {
        out += c;
        ++i;
        continue;
      }
      i += ent.size();
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

std::string StripQuotedReply(absl::string_view text) {
  constexpr size_t kLongestHeader = 512;
  static const RE2 kHeader(
      R"((?i)^\s*(on .{3,200} wrote:|-{2,}\s*original message\s*-{2,}|from:\s.+|_{5,})\s*$)");
  std::vector<absl::string_view> kept;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    absl::string_view trimmed = absl::StripTrailingAsciiWhitespace(line);
    if (trimmed == "--" || trimmed == "-- ") break;  // signature delimiter
    // A reply header is a short line; the bound keeps a megabyte-long line from costing the
    // pattern's bounded repeats at every position.
    const absl::string_view lead = absl::StripLeadingAsciiWhitespace(trimmed);
    // Cheap tests first: a header ends with "wrote:" or starts with "-", "_" or "from:";
    // most lines are none of these and never meet the pattern.
    const bool may_be_header = absl::EndsWithIgnoreCase(trimmed, "wrote:") ||
                               absl::StartsWith(lead, "-") || absl::StartsWith(lead, "_") ||
                               absl::StartsWithIgnoreCase(lead, "from:");
    if (may_be_header && trimmed.size() <= kLongestHeader &&
        RE2::FullMatch(re2::StringPiece(trimmed.data(), trimmed.size()), kHeader))
      break;
    if (absl::StartsWith(lead, ">")) continue;
    kept.push_back(trimmed);
  }
  while (!kept.empty() && absl::StripAsciiWhitespace(kept.back()).empty()) kept.pop_back();
  return std::string(absl::StripAsciiWhitespace(absl::StrJoin(kept, "\n")));
}

absl::StatusOr<absl::Time> ParseTimestamp(absl::string_view text) {
  std::string s(absl::StripAsciiWhitespace(text));
  int64_t secs;
  if (absl::SimpleAtoi(s, &secs)) return absl::FromUnixSeconds(secs);
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return t;
  // "2026-11-23 08:12:00" and "2026-11-23 08:12:00 UTC" as some helpdesks send them.
  if (absl::ParseTime("%Y-%m-%d %H:%M:%E*S", absl::StripSuffix(s, " UTC"), absl::UTCTimeZone(), &t,
                      &err))
    return t;
  return absl::InvalidArgumentError(absl::StrCat("bad timestamp \"", s, "\""));
}

}  // namespace debrief::base
