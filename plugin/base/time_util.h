#pragma once

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace debrief::base {

// absl::Time <-> google.protobuf.Timestamp, at microsecond precision (what the store keeps).
inline void SetTimestamp(google::protobuf::Timestamp* ts, absl::Time t) {
  int64_t us = absl::ToUnixMicros(t);
  int64_t secs = us / 1000000, rem = us % 1000000;
  if (rem < 0) {
    secs -= 1;
    rem += 1000000;
  }
  ts->set_seconds(secs);
  ts->set_nanos(static_cast<int32_t>(rem * 1000));
}

inline absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace debrief::base
