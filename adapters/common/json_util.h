#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Reading vendor JSON without exceptions: optional fields are often absent or null.
namespace debrief::adapters {

using json = nlohmann::json;

// The member, or nullptr when `j` is not an object or lacks it.
inline const json* Member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

// The value at a JSON pointer ("/ticket/id"), or null when absent or the pointer is empty.
// Optional fields are often absent, so this checks instead of catching json::at's exception
// (measured: exceptions were most of the pipeline's time).
inline const json* At(const json& doc, absl::string_view pointer) {
  if (pointer.empty()) return nullptr;
  json::json_pointer p{std::string(pointer)};
  return doc.contains(p) ? &doc[p] : nullptr;
}

// A value as text: strings as they are, integers and booleans spelled out; else empty.
inline std::string TextOf(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return "";
}

// An id (a ticket's, an event's): text as it is, or the literal digits of an integer of up
// to 64 bits, signed or not. Empty for anything else (a float such as 1e2 or 100.0, an
// integer beyond 64 bits, a boolean, null, a container), which callers refuse: an id is
// never a number's approximation.
inline std::string IdText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return "";
}

// A member as text (TextOf), empty when absent.
inline std::string Text(const json& j, const char* key) {
  const json* v = Member(j, key);
  return v == nullptr ? "" : TextOf(*v);
}

// A member that is true (absent, null or any other type: false).
inline bool IsTrue(const json& j, const char* key) {
  const json* v = Member(j, key);
  return v != nullptr && v->is_boolean() && v->get<bool>();
}

// The body as a JSON object, or INVALID_ARGUMENT saying what is wrong.
inline absl::StatusOr<json> ParseObject(absl::string_view body, absl::string_view what) {
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded())
    return absl::InvalidArgumentError(std::string(what) + " is not valid JSON");
  if (!doc.is_object())
    return absl::InvalidArgumentError(std::string(what) + " is not a JSON object");
  return doc;
}

// For acknowledging webhooks, where a full parse was a fifth of the work: checks that `body`
// is a JSON object and returns the text at each JSON pointer ("/detail/id"), empty where
// absent, without building a document. simdjson validates at gigabytes a second; a body it
// refuses, or a value it holds in a form `text_of` might spell differently (a float, an
// integer beyond 64 bits), is decided by ParseObject and `text_of`, so the verdict and the
// texts are always theirs. INVALID_ARGUMENT as ParseObject's.
absl::StatusOr<std::vector<std::string>> ObjectTexts(
    absl::string_view body, std::initializer_list<absl::string_view> pointers,
    absl::string_view what, std::string (*text_of)(const json&) = TextOf);

}  // namespace debrief::adapters
