#pragma once

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace debrief::spi {

// The only source of time in Debrief. Tests inject a fake clock so that weeks of history run
// in milliseconds. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The wall clock.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  static SystemClock& Get() {
    static SystemClock clock;
    return clock;
  }
};

}  // namespace debrief::spi
