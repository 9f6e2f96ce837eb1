#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "debrief/spi/clock.h"
#include "debrief/spi/store.h"

namespace debrief::server {

// The lease on the jobs that run on one replica at a time when several debriefd share one
// database: the outbox executor, the task follower and reconciliation. A thread takes or renews
// it every third of `ttl` (spi::StoreTransaction::HoldLease); Held() is true from a successful
// renewal until a fifth of `ttl` before the lease would lapse, measured on this process's
// steady clock from when the renewal began, so this replica stops before another may start.
// A replica that dies or loses the database loses the lease within `ttl`; one that stops gives
// it up at once. With one debriefd (and always on SQLite, which one process owns) it is simply
// held.
class JobLease {
 public:
  static constexpr char kName[] = "jobs";

  JobLease(spi::Store& store, const spi::Clock& clock, std::string holder, absl::Duration ttl);
  ~JobLease();
  JobLease(const JobLease&) = delete;
  JobLease& operator=(const JobLease&) = delete;

  // Tries once on the caller's thread (so the jobs know at start-up), then keeps it from a
  // thread of its own.
  void Start();
  // Stops renewing and gives the lease up.
  void Stop();
  bool Held() const;
  // Whether the database answered the last renewal, and one within `ttl` (a renewal hanging
  // on a host that does not answer counts too): what debriefd's /readyz reports, so that a
  // replica that cannot store webhooks is taken out of its load balancer.
  bool StoreReachable() const;
  const std::string& holder() const { return holder_; }

 private:
  void Renew();
  void Run();

  spi::Store& store_;
  const spi::Clock& clock_;
  const std::string holder_;
  const absl::Duration ttl_;
  // Until when (steady clock, nanoseconds since its epoch) the lease counts as this replica's.
  std::atomic<int64_t> held_until_{0};
  std::atomic<bool> was_held_{false};
  std::atomic<bool> reachable_{true};
  std::atomic<int64_t> answered_at_{0};  // steady nanoseconds of the last renewal answered
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace debrief::server
