#include "base/utf8.h"

#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace debrief::base {
namespace {

// The length of the well-formed sequence starting at s[i], or 0 when it is ill-formed
// (Unicode table 3-7).
size_t SequenceLength(absl::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  const size_t left = s.size() - i;
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && (b(1) & 0xC0) == 0x80 ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3) return 0;
    const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return b(1) >= lo && b(1) <= hi && (b(2) & 0xC0) == 0x80 ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4) return 0;
    const unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return b(1) >= lo && b(1) <= hi && (b(2) & 0xC0) == 0x80 && (b(3) & 0xC0) == 0x80 ? 4 : 0;
  }
  return 0;
}

// How many bytes an ill-formed sequence at s[i] spans: its lead byte and the continuation
// bytes that could still have completed it (the "maximal subpart"), so each is one U+FFFD.
size_t InvalidLength(absl::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  const size_t want = c >= 0xC2 && c <= 0xDF   ? 2
                      : c >= 0xE0 && c <= 0xEF ? 3
                      : c >= 0xF0 && c <= 0xF4 ? 4
                                               : 1;
  size_t n = 1;
  while (n < want && i + n < s.size()) {
    const unsigned char next = static_cast<unsigned char>(s[i + n]);
    unsigned char lo = 0x80, hi = 0xBF;
    if (n == 1) {
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    if (next < lo || next > hi) break;
    ++n;
  }
  return n;
}

int RepairString(std::string& s) {
  if (IsValidUtf8(s)) return 0;
  s = ToValidUtf8(s);
  return 1;
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    // Plain ASCII eight bytes at a time.
    while (i + 8 <= text.size()) {
      uint64_t w;
      __builtin_memcpy(&w, text.data() + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= text.size()) break;
    const size_t n = SequenceLength(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string ToValidUtf8(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t n = SequenceLength(text, i);
    if (n > 0) {
      out.append(text.data() + i, n);
      i += n;
    } else {
      out.append("\xEF\xBF\xBD");
      i += InvalidLength(text, i);
    }
  }
  return out;
}

absl::string_view Utf8Prefix(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  // Back up over continuation bytes to the start of the sequence that would be split.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

int RepairUtf8Fields(google::protobuf::Message& message) {
  namespace pb = google::protobuf;
  const pb::Reflection* r = message.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(message, &fields);
  int changed = 0;
  for (const pb::FieldDescriptor* f : fields) {
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING &&
        f->type() == pb::FieldDescriptor::TYPE_STRING) {
      if (f->is_repeated()) {
        for (int k = 0; k < r->FieldSize(message, f); ++k) {
          std::string s = r->GetRepeatedString(message, f, k);
          if (RepairString(s) > 0) {
            r->SetRepeatedString(&message, f, k, std::move(s));
            ++changed;
          }
        }
      } else {
        std::string s = r->GetString(message, f);
        if (RepairString(s) > 0) {
          r->SetString(&message, f, std::move(s));
          ++changed;
        }
      }
    } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      // Map entries are repeated messages to reflection; their keys are repaired like any
      // string field (a repaired key may then collide with another: the last one wins).
      if (f->is_repeated()) {
        for (int k = 0; k < r->FieldSize(message, f); ++k)
          changed += RepairUtf8Fields(*r->MutableRepeatedMessage(&message, f, k));
      } else {
        changed += RepairUtf8Fields(*r->MutableMessage(&message, f));
      }
    }
  }
  return changed;
}

}  // namespace debrief::base
