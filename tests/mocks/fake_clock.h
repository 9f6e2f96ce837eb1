#pragma once

// A clock tests and benchmarks move by hand, so weeks of history run in milliseconds.
#include <mutex>

#include "debrief/spi/clock.h"

namespace debrief::testing {

class FakeClock final : public spi::Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1795000000)) : now_(start) {}
  absl::Time Now() const override {
    std::lock_guard<std::mutex> l(mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    std::lock_guard<std::mutex> l(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  absl::Time now_;
};

}  // namespace debrief::testing
