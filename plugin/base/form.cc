#include "base/form.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace debrief::base {

absl::StatusOr<std::string> UrlDecode(absl::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      const int hi = i + 2 < s.size() ? hex(s[i + 1]) : -1, lo = hi >= 0 ? hex(s[i + 2]) : -1;
      if (lo < 0) return absl::InvalidArgumentError("a % escape without two hex digits");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

absl::StatusOr<std::string> FormField(absl::string_view body, absl::string_view name) {
  for (absl::string_view pair : absl::StrSplit(body, '&')) {
    const size_t eq = pair.find('=');
    auto key = UrlDecode(pair.substr(0, eq));
    if (!key.ok() || *key != name) continue;
    return UrlDecode(eq == absl::string_view::npos ? "" : pair.substr(eq + 1));
  }
  return absl::NotFoundError(absl::StrCat("no ", name, " field"));
}

absl::StatusOr<std::map<std::string, std::string>> FormFields(absl::string_view body) {
  std::map<std::string, std::string> out;
  for (absl::string_view pair : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    const size_t eq = pair.find('=');
    auto key = UrlDecode(pair.substr(0, eq));
    if (!key.ok()) return key.status();
    auto value = UrlDecode(eq == absl::string_view::npos ? "" : pair.substr(eq + 1));
    if (!value.ok()) return value.status();
    if (!out.emplace(std::move(*key), std::move(*value)).second)
      return absl::InvalidArgumentError("a form field is given twice");
  }
  return out;
}

}  // namespace debrief::base
