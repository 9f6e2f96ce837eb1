#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// application/x-www-form-urlencoded bodies (HTML forms, GitHub's form-encoded webhooks).
namespace debrief::base {

// %XX escapes and '+' for space; INVALID_ARGUMENT for a '%' without two hex digits.
absl::StatusOr<std::string> UrlDecode(absl::string_view s);
// The decoded value of `name` in a form-encoded body ("a=1&payload=..."); NOT_FOUND without it.
absl::StatusOr<std::string> FormField(absl::string_view body, absl::string_view name);
// Every field; INVALID_ARGUMENT for a malformed escape or a name given twice.
absl::StatusOr<std::map<std::string, std::string>> FormFields(absl::string_view body);

}  // namespace debrief::base
