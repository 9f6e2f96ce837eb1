#include "server/job_lease.h"

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/thread_name.h"

namespace debrief::server {
namespace {

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

JobLease::JobLease(spi::Store& store, const spi::Clock& clock, std::string holder,
                   absl::Duration ttl)
    : store_(store), clock_(clock), holder_(std::move(holder)), ttl_(ttl) {}

JobLease::~JobLease() { Stop(); }

void JobLease::Start() {
  Renew();
  thread_ = std::thread([this] { Run(); });
}

void JobLease::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (held_until_.exchange(0) != 0) {
    store_.Transact([&](spi::StoreTransaction& tx) { return tx.ReleaseLease(kName, holder_); })
        .IgnoreError();
  }
}

bool JobLease::Held() const { return SteadyNanos() < held_until_.load(); }

bool JobLease::StoreReachable() const {
  return reachable_.load() && SteadyNanos() - answered_at_.load() < absl::ToInt64Nanoseconds(ttl_);
}

void JobLease::Renew() {
  const int64_t started = SteadyNanos();
  const absl::Time now = clock_.Now();
  bool held = false;
  absl::Status s = store_.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    auto h = tx.HoldLease(kName, holder_, now, now + ttl_);
    if (!h.ok()) return h.status();
    held = *h;
    return absl::OkStatus();
  });
  reachable_.store(s.ok());
  if (s.ok()) answered_at_.store(SteadyNanos());
  if (s.ok()) {
    held_until_.store(held ? started + absl::ToInt64Nanoseconds(ttl_ - ttl_ / 5) : 0);
  } else {
    // Kept until it would lapse: a renewal that failed (the database restarting, say) is tried
    // again; the jobs stop once the lease may be another's.
    base::log::Warning("lease", "could not renew the jobs' lease (will retry)",
                       {{"error", std::string(s.message())}});
    held = Held();
  }
  if (held != was_held_.exchange(held))
    base::log::Info("lease",
                    held ? "this replica runs the outbox, the task follower and reconciliation"
                         : "another replica runs the outbox, the task follower and reconciliation",
                    {{"replica", holder_}});
}

void JobLease::Run() {
  base::NameThisThread("lease");
  std::unique_lock<std::mutex> l(mu_);
  while (!cv_.wait_for(l, absl::ToChronoMilliseconds(ttl_ / 3), [&] { return stop_; })) {
    l.unlock();
    Renew();
    l.lock();
  }
}

}  // namespace debrief::server
