#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"

// What a status means to whoever called an adapter or the store, said once for every caller
// (the executor, the pipeline, the reconciler, the adapters themselves).
namespace debrief::spi {

// Whether trying again later may succeed: the peer or the store is busy, down, rate limiting,
// or slow (UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED). Such a failure delays
// work and never drops it; anything else (a refused credential, a missing project, a body the
// vendor rejects) will fail the same way again, and is dead-lettered for a person to look at.
inline bool IsRetryable(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsResourceExhausted(s) || absl::IsDeadlineExceeded(s) ||
         absl::IsAborted(s);
}

// Adapters say how long to wait before a retry by attaching this payload to the status
// (UNAVAILABLE or RESOURCE_EXHAUSTED), e.g. from a Retry-After header.
inline constexpr char kRetryAfterPayload[] = "type.debrief.dev/retry-after-ms";

inline absl::Status WithRetryAfter(absl::Status s, absl::Duration d) {
  s.SetPayload(kRetryAfterPayload, absl::Cord(std::to_string(absl::ToInt64Milliseconds(d))));
  return s;
}

inline std::optional<absl::Duration> RetryAfter(const absl::Status& s) {
  auto p = s.GetPayload(kRetryAfterPayload);
  if (!p) return std::nullopt;
  int64_t ms = 0;
  if (!absl::SimpleAtoi(std::string(*p), &ms)) return std::nullopt;
  return absl::Milliseconds(ms);
}

}  // namespace debrief::spi
