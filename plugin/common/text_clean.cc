#include "common/text_clean.h"

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

namespace debrief {

std::string HtmlToText(absl::string_view html) {
  if (html.find('<') == absl::string_view::npos && html.find('&') == absl::string_view::npos)
    return std::string(html);
  std::string out;
  out.reserve(html.size());
  size_t i = 0;
  while (i < html.size()) {
    char c = html[i];
    if (c == '<') {
      size_t end = html.find('>', i);
      if (end == absl::string_view::npos) break;
      std::string tag = absl::AsciiStrToLower(html.substr(i + 1, end - i - 1));
      absl::string_view name = tag;
      bool closing = absl::ConsumePrefix(&name, "/");
      name = name.substr(0, name.find_first_of(" \t\n/"));
      if (!closing && (name == "script" || name == "style")) {
        size_t close = absl::AsciiStrToLower(html.substr(end)).find(absl::StrCat("</", name));
        i = close == std::string::npos ? html.size() : end + close;
        continue;
      }
      if (name == "br" || name == "p" || name == "div" || name == "li" || name == "tr" ||
          name == "blockquote" || name == "h1" || name == "h2" || name == "h3")
        out.push_back('\n');
      i = end + 1;
    } else if (c == '&') {
      size_t semi = html.find(';', i);
      absl::string_view ent =
          semi == absl::string_view::npos || semi - i > 8 ? "" : html.substr(i, semi - i + 1);
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
      i = semi + 1;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

std::string StripQuotedReply(absl::string_view text) {
  static const RE2 kHeader(
      R"((?i)^\s*(on .{3,200} wrote:|-{2,}\s*original message\s*-{2,}|from:\s.+|_{5,})\s*$)");
  std::vector<absl::string_view> kept;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    absl::string_view trimmed = absl::StripTrailingAsciiWhitespace(line);
    if (trimmed == "--" || trimmed == "-- ") break;  // signature delimiter
    if (RE2::FullMatch(re2::StringPiece(trimmed.data(), trimmed.size()), kHeader)) break;
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(trimmed), ">")) continue;
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

}  // namespace debrief
