#include "base/log.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/utf8.h"

namespace debrief::base::log {
namespace {

constexpr const char* kNames[] = {"debug", "info", "warning", "error"};

std::atomic<int>& CurrentFormat() {
  static std::atomic<int> format{static_cast<int>(Format::kText)};
  return format;
}

std::mutex& SinkMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}

std::function<void(absl::string_view)>& Sink() {
  static auto* sink = new std::function<void(absl::string_view)>;
  return *sink;
}

// A JSON string's contents: quotes, backslashes and control characters escaped.
void AppendJsonString(std::string& out, absl::string_view text) {
  const std::string valid = IsValidUtf8(text) ? std::string() : ToValidUtf8(text);
  const absl::string_view s = valid.empty() ? text : absl::string_view(valid);
  out.push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out.push_back(kHex[(c >> 4) & 0xF]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// Text: one line, whatever the message holds (line breaks and control characters become
// spaces), valid UTF-8.
void AppendText(std::string& out, absl::string_view text) {
  const std::string valid = IsValidUtf8(text) ? std::string() : ToValidUtf8(text);
  for (const char c : valid.empty() ? text : absl::string_view(valid))
    out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
}

// A field's value in text: as is when it has no space, quote or control character; quoted
// (JSON-escaped) otherwise.
void AppendTextValue(std::string& out, absl::string_view value) {
  const bool plain = !value.empty() && std::none_of(value.begin(), value.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || c == '"' || c == '=';
  });
  if (plain) {
    AppendText(out, value);
  } else {
    AppendJsonString(out, value);
  }
}

}  // namespace

absl::StatusOr<Level> ParseLevel(absl::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "info" || name.empty()) return Level::kInfo;
  if (name == "warning") return Level::kWarning;
  if (name == "error") return Level::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("log.level: \"", name, "\" is not one of debug, info, warning, error"));
}

absl::StatusOr<Format> ParseFormat(absl::string_view name) {
  if (name == "text" || name.empty()) return Format::kText;
  if (name == "json") return Format::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("log.format: \"", name, "\" is not one of text, json"));
}

void SetFormat(Format format) { CurrentFormat().store(static_cast<int>(format)); }

std::string FormatLine(Level level, absl::string_view component, absl::string_view message,
                       std::initializer_list<Field> fields, int64_t unix_millis) {
  const std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                                            absl::FromUnixMillis(unix_millis), absl::UTCTimeZone());
  const char* name = kNames[static_cast<int>(level)];
  std::string out;
  out.reserve(96 + message.size());
  if (CurrentFormat().load() == static_cast<int>(Format::kJson)) {
    absl::StrAppend(&out, "{\"time\":\"", time, "\",\"level\":\"", name, "\",\"component\":");
    AppendJsonString(out, component);
    out += ",\"msg\":";
    AppendJsonString(out, message);
    for (const Field& f : fields) {
      out.push_back(',');
      AppendJsonString(out, f.key);
      out.push_back(':');
      AppendJsonString(out, f.value);
    }
    out.push_back('}');
    return out;
  }
  absl::StrAppend(&out, time, " ", name, " ");
  AppendText(out, component);
  out += ": ";
  AppendText(out, message);
  for (const Field& f : fields) {
    out.push_back(' ');
    AppendText(out, f.key);
    out.push_back('=');
    AppendTextValue(out, f.value);
  }
  return out;
}

void Write(Level level, absl::string_view component, absl::string_view message,
           std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  std::string line = FormatLine(level, component, message, fields, absl::ToUnixMillis(absl::Now()));
  std::lock_guard<std::mutex> l(SinkMutex());
  if (Sink()) {
    Sink()(line);
    return;
  }
  line.push_back('\n');
  // One write per line, so lines from several threads never interleave.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void SetSinkForTest(std::function<void(absl::string_view line)> sink) {
  std::lock_guard<std::mutex> l(SinkMutex());
  Sink() = std::move(sink);
}

}  // namespace debrief::base::log
