#pragma once

#include <atomic>
#include <functional>
#include <initializer_list>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// debriefd's log: one line per event on standard error (journald keeps it under systemd), at
// the level the config sets (`log.level`), as text or as one JSON object per line
// (`log.format`). Each line has a time (UTC, milliseconds), a level, the component that wrote
// it, the message, and the ids that let a person follow one ticket through Debrief (helpdesk,
// ticket, delivery, task, adapter, action). Lines below the level cost one atomic load.
//
//   log::Info("pipeline", "delivery failed, will retry", {{"delivery", "42"}, {"error", ...}});
//   2026-12-06T15:45:01.123Z info pipeline: delivery failed, will retry delivery=42 error=...
//   {"time":"2026-12-06T15:45:01.123Z","level":"info","component":"pipeline",
//    "msg":"delivery failed, will retry","delivery":"42","error":"..."}
//
// Never pass a secret: messages and fields are written as given (made valid UTF-8).
namespace debrief::base::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
enum class Format { kText = 0, kJson = 1 };

struct Field {
  absl::string_view key;  // a literal: helpdesk, ticket, delivery, task, adapter, action, error
  std::string value;
};

inline std::atomic<int>& Threshold() {
  static std::atomic<int> level{static_cast<int>(Level::kInfo)};
  return level;
}

inline void SetLevel(Level level) { Threshold().store(static_cast<int>(level)); }
inline bool Enabled(Level level) { return static_cast<int>(level) >= Threshold().load(); }

// "debug", "info" (or empty), "warning" or "error".
absl::StatusOr<Level> ParseLevel(absl::string_view name);
// "text" (or empty) or "json".
absl::StatusOr<Format> ParseFormat(absl::string_view name);
void SetFormat(Format format);

// One line, if `level` is enabled.
void Write(Level level, absl::string_view component, absl::string_view message,
           std::initializer_list<Field> fields = {});

inline void Debug(absl::string_view component, absl::string_view message,
                  std::initializer_list<Field> fields = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, component, message, fields);
}
inline void Info(absl::string_view component, absl::string_view message,
                 std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, component, message, fields);
}
inline void Warning(absl::string_view component, absl::string_view message,
                    std::initializer_list<Field> fields = {}) {
  Write(Level::kWarning, component, message, fields);
}
inline void Error(absl::string_view component, absl::string_view message,
                  std::initializer_list<Field> fields = {}) {
  Write(Level::kError, component, message, fields);
}

// The line Write would write (without its newline), at a given time: for tests.
std::string FormatLine(Level level, absl::string_view component, absl::string_view message,
                       std::initializer_list<Field> fields, int64_t unix_millis);
// Where lines go instead of standard error (empty: back to it); for tests.
void SetSinkForTest(std::function<void(absl::string_view line)> sink);

}  // namespace debrief::base::log
