#pragma once

#include <atomic>
#include <iostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

// debriefd's log: one line per event on standard error (journald keeps it under systemd), at
// the level the config sets (`log.level`). Lines below that level cost one atomic load.
//
//   if (log::Enabled(log::Level::kDebug)) log::Write(log::Level::kDebug, "...");
namespace debrief::base::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

inline std::atomic<int>& Threshold() {
  static std::atomic<int> level{static_cast<int>(Level::kInfo)};
  return level;
}

inline void SetLevel(Level level) { Threshold().store(static_cast<int>(level)); }
inline bool Enabled(Level level) { return static_cast<int>(level) >= Threshold().load(); }

// "debug", "info", "warning" or "error".
inline absl::StatusOr<Level> ParseLevel(absl::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "info" || name.empty()) return Level::kInfo;
  if (name == "warning") return Level::kWarning;
  if (name == "error") return Level::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("log.level: \"", name, "\" is not one of debug, info, warning, error"));
}

inline void Write(Level level, absl::string_view text) {
  if (!Enabled(level)) return;
  static constexpr const char* kNames[] = {"debug", "info", "warning", "error"};
  std::cerr << absl::StrCat(kNames[static_cast<int>(level)], ": ", text, "\n") << std::flush;
}

}  // namespace debrief::base::log
