#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

// UTF-8 at the edges. Everything Debrief writes into JSON or a Protobuf `string` must be valid
// UTF-8 (nlohmann::json::dump throws on anything else, and Protobuf refuses to parse such a
// field back): text from outside is checked once where it enters, and either refused or
// repaired here, never hoped for.
namespace debrief::base {

// Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// `text` with every ill-formed sequence replaced by U+FFFD (one per maximal invalid subpart,
// as the Unicode standard recommends); valid text comes back unchanged.
std::string ToValidUtf8(absl::string_view text);

// The longest prefix of `text` no longer than `max_bytes` that does not split a UTF-8
// sequence.
absl::string_view Utf8Prefix(absl::string_view text, size_t max_bytes);

// Repairs (ToValidUtf8) every `string` field of `message` and of the messages inside it,
// maps included. Returns how many fields it changed.
int RepairUtf8Fields(google::protobuf::Message& message);

}  // namespace debrief::base
