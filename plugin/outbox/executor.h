#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "base/worker.h"
#include "debrief/spi/clock.h"
#include "debrief/spi/helpdesk_adapter.h"
#include "debrief/spi/store.h"
#include "loop/loop.h"

namespace debrief::outbox {

struct ExecutorOptions {
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(10);
  absl::Duration poll_interval = absl::Milliseconds(100);
  int batch = 64;
  // Each action carried out or tried, by its kind ("sync_task"), with how long it took
  // (debriefd's debrief_outbox_action_duration_seconds). Optional.
  std::function<void(const std::string& action, absl::Duration took)> timed;
  // Whether this replica may carry out actions now (it holds the outbox's lease; several
  // replicas on one database run one executor between them). Unset: always.
  std::function<bool()> active;
};

struct ExecutorStats {
  std::atomic<int64_t> done{0};
  std::atomic<int64_t> retried{0};
  std::atomic<int64_t> dead{0};
};

// Performs outbox actions against the helpdesks and trackers (task actions through
// loop::Loop), at least once. Every action is
// idempotent at the adapter (a tracker finds the task it made by its idempotency key; links
// and notes are keyed), so a crash between the call and CompleteActions repeats nothing
// visible. UNAVAILABLE, RESOURCE_EXHAUSTED and DEADLINE_EXCEEDED are retried for ever with
// exponential back-off (Retry-After wins when larger): an outage delays work, never drops it.
// Other errors dead-letter the action with the reason.
class Executor {
 public:
  Executor(spi::Store& store, std::map<std::string, spi::HelpdeskAdapter*> helpdesks,
           loop::Loop& loop, const spi::Clock& clock, ExecutorOptions options);
  ~Executor();

  void Start();
  void Stop();
  void Notify();

  // Runs every action due now, once, on the caller's thread; returns how many ran.
  absl::StatusOr<int> RunDue();

  const ExecutorStats& stats() const { return stats_; }

 private:
  absl::Status Execute(const spi::OutboxEntry& e);
  absl::Status WriteBack(const v1::OutboxAction::WriteBack& w);

  spi::Store& store_;
  std::map<std::string, spi::HelpdeskAdapter*> helpdesks_;
  loop::Loop& loop_;
  const spi::Clock& clock_;
  ExecutorOptions options_;
  base::Worker worker_;
  std::mutex run_mu_;
  absl::Time last_run_ = absl::InfinitePast();  // the clock at the previous RunDue (run_mu_)
  ExecutorStats stats_;
};

}  // namespace debrief::outbox
