#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/log.h"
#include "base/thread_name.h"

namespace debrief::base {

// A background thread (named `name`) that runs `step` until it finds nothing to do, then sleeps
// until Notify() or `idle` passes. `step` returns how many items it handled. On Stop, `drain`
// decides whether step runs until empty first (the pipeline) or the thread just ends (the
// executor, whose work stays queued for the next start).
class Worker {
 public:
  // `gather`: after a step that handled fewer than `full` items, wait up to this long for more
  // work to pile up (a Notify does not cut it short), so background work runs in fewer,
  // larger transactions while webhooks pour in. `nice`: the thread's CPU priority (Linux
  // per-thread nice), so acknowledging webhooks wins the CPU over background work.
  Worker(std::string name, std::function<absl::StatusOr<int>()> step, absl::Duration idle,
         bool drain_on_stop, absl::Duration gather = absl::ZeroDuration(), int full = 0,
         int nice = 0)
      : name_(std::move(name)),
        step_(std::move(step)),
        idle_(idle),
        drain_(drain_on_stop),
        gather_(gather),
        full_(full),
        nice_(nice) {}
  ~Worker() { Stop(); }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  // Set before Start: `active` says whether this replica may run the step now (it holds the
  // job's lease, server/job_lease.h); while it says no, the thread only looks again every
  // second at most.
  void set_active(std::function<bool()> active) { active_ = std::move(active); }
  void Stop() { Stop(drain_on_stop()); }
  // Stops, draining first or not whatever the constructor said (a configuration reload hands
  // the work to the next worker instead).
  void Stop(bool drain) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stop_) return;
      drain_ = drain;
      stop_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }
  void Notify() {
    std::lock_guard<std::mutex> l(mu_);
    wake_ = true;
    cv_.notify_one();
  }
  bool drain_on_stop() {
    std::lock_guard<std::mutex> l(mu_);
    return drain_;
  }
  bool stopping() {
    std::lock_guard<std::mutex> l(mu_);
    return stop_;
  }

 private:
  void Run() {
    NameThisThread(name_);
    if (nice_ != 0) setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice_);
    while (true) {
      const bool active = !active_ || active_();
      absl::StatusOr<int> n = 0;
      if (active) n = step_();
      if (!n.ok())
        log::Warning(name_, "step failed (will retry)", {{"error", n.status().ToString()}});
      std::unique_lock<std::mutex> l(mu_);
      if (stop_) {
        l.unlock();
        while (drain_ && active) {
          auto m = step_();
          if (!m.ok() || *m == 0) break;
        }
        return;
      }
      if (n.ok() && *n > 0) {
        if (*n < full_ && gather_ > absl::ZeroDuration())
          cv_.wait_for(l, absl::ToChronoMicroseconds(gather_), [&] { return stop_; });
        continue;
      }
      const absl::Duration wait = active ? idle_ : std::min(idle_, absl::Seconds(1));
      cv_.wait_for(l, absl::ToChronoMilliseconds(wait), [&] { return wake_ || stop_; });
      wake_ = false;
    }
  }

  const std::string name_;
  const std::function<absl::StatusOr<int>()> step_;
  std::function<bool()> active_;
  const absl::Duration idle_;
  bool drain_;  // guarded by mu_ once started
  const absl::Duration gather_;
  const int full_;
  const int nice_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace debrief::base
