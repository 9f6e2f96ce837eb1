#include "common/json_util.h"

#include <simdjson.h>

#include <algorithm>

namespace debrief::adapters {
namespace {

// The full parser's answer, for what the fast path leaves to it.
absl::StatusOr<std::vector<std::string>> SlowTexts(
    absl::string_view body, std::initializer_list<absl::string_view> pointers,
    absl::string_view what, std::string (*text_of)(const json&)) {
  auto doc = ParseObject(body, what);
  if (!doc.ok()) return doc.status();
  std::vector<std::string> out;
  for (absl::string_view pointer : pointers) {
    const json* v = At(*doc, pointer);
    out.push_back(v == nullptr ? "" : text_of(*v));
  }
  return out;
}

// The value at a JSON pointer the way the full parser finds it: a key given twice means its
// last value (simdjson's own at_pointer takes the first). Arrays on the way are left to the
// full parser (kUnsupported).
enum class Walk { kFound, kAbsent, kUnsupported };
Walk At(simdjson::dom::element root, absl::string_view pointer, simdjson::dom::element* out) {
  if (pointer.empty() || pointer[0] != '/') return Walk::kUnsupported;
  simdjson::dom::element cur = root;
  size_t pos = 1;
  while (true) {
    const size_t end = std::min(pointer.find('/', pos), pointer.size());
    std::string token(pointer.substr(pos, end - pos));
    if (token.find('~') != std::string::npos) return Walk::kUnsupported;  // escapes
    if (cur.is_array()) return Walk::kUnsupported;
    simdjson::dom::object obj;
    if (cur.get(obj) != simdjson::SUCCESS) return Walk::kAbsent;  // a scalar on the way
    bool found = false;
    for (auto field : obj) {
      if (field.key == token) {
        cur = field.value;
        found = true;
      }
    }
    if (!found) return Walk::kAbsent;
    if (end == pointer.size()) break;
    pos = end + 1;
  }
  *out = cur;
  return Walk::kFound;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ObjectTexts(
    absl::string_view body, std::initializer_list<absl::string_view> pointers,
    absl::string_view what, std::string (*text_of)(const json&)) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS || !root.is_object())
    return SlowTexts(body, pointers, what, text_of);
  std::vector<std::string> out;
  out.reserve(pointers.size());
  for (absl::string_view pointer : pointers) {
    simdjson::dom::element v;
    if (pointer.empty()) {
      out.emplace_back();
      continue;
    }
    const Walk w = At(root, pointer, &v);
    if (w == Walk::kUnsupported) return SlowTexts(body, pointers, what, text_of);
    if (w == Walk::kAbsent) {
      out.emplace_back();
      continue;
    }
    switch (v.type()) {
      case simdjson::dom::element_type::STRING:
        out.emplace_back(std::string_view(v));
        break;
      case simdjson::dom::element_type::INT64:
        out.push_back(std::to_string(int64_t(v)));
        break;
      case simdjson::dom::element_type::NULL_VALUE:
      case simdjson::dom::element_type::ARRAY:
      case simdjson::dom::element_type::OBJECT:
        out.emplace_back();
        break;
      default:  // a float, an unsigned integer beyond int64, a boolean: spelled by text_of
        return SlowTexts(body, pointers, what, text_of);
    }
  }
  return out;
}

}  // namespace debrief::adapters
