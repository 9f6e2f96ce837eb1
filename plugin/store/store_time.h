#pragma once

#include <cstdint>

#include "absl/time/time.h"

namespace debrief::store {

// Both stores keep times as Unix microseconds.
inline int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }
inline absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }

}  // namespace debrief::store
