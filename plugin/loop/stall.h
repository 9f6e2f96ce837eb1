#pragma once

// When an improvement task is stalled: its cause brought at least loop.stall_min_tickets new
// tickets in the last loop.stall_window while the task's status has not changed in that window.
// The insights list such tasks; the loop chases them (one comment on the task per window
// without a change). One rule for both, here.
#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/time_util.h"
#include "debrief/spi/store.h"
#include "debrief/v1/config.pb.h"
#include "settings/settings.h"

namespace debrief::loop {

// The label a chased task carries in trackers that have labels.
inline constexpr char kStalledLabel[] = "debrief-stalled";

struct Stall {
  bool stalled = false;
  absl::Time status_changed_at;  // the task's last status change, or its creation
  int64_t window_tickets = 0;    // the cause's tickets in the window up to now
  absl::Duration window;         // loop.stall_window
  // Whole windows since the last status change: 1 in the first window the task is stalled,
  // 2 in the next, ... (0 while younger than one window).
  int64_t period = 0;
};

// The store's cursor that remembers a task was chased: the status change its stall counted
// from (unix micros), empty once the label is off again.
inline std::string StalledCursor(int64_t task_id) { return absl::StrCat("stalled:", task_id); }

inline absl::Duration StallWindow(const v1::LoopConfig& loop) {
  return settings::ToDuration(loop.stall_window(), absl::Hours(24 * 14));
}
inline int64_t StallMinTickets(const v1::LoopConfig& loop) {
  return loop.stall_min_tickets() > 0 ? loop.stall_min_tickets() : 10;
}

inline absl::StatusOr<Stall> CheckStall(spi::StoreTransaction& tx, const v1::ImprovementTask& task,
                                        const v1::LoopConfig& loop, absl::Time now) {
  Stall s;
  s.window = StallWindow(loop);
  auto history = tx.StatusHistory(task.id());
  if (!history.ok()) return history.status();
  s.status_changed_at = base::FromTimestamp(task.created_at());
  for (const v1::TaskStatusChange& h : *history)
    s.status_changed_at = std::max(s.status_changed_at, base::FromTimestamp(h.at()));
  auto arriving = tx.CountTickets(task.category_id(), now - s.window, now);
  if (!arriving.ok()) return arriving.status();
  s.window_tickets = *arriving;
  s.period = now > s.status_changed_at ? (now - s.status_changed_at) / s.window : 0;
  s.stalled = s.window_tickets >= StallMinTickets(loop) && s.period >= 1;
  return s;
}

}  // namespace debrief::loop
