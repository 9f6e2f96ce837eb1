#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/worker.h"
#include "debrief/spi/clock.h"
#include "debrief/spi/helpdesk_adapter.h"
#include "debrief/spi/store.h"
#include "metrics/adapter_health.h"

namespace debrief::ingress {

struct ListingProgress {
  int64_t pages = 0;
  int64_t listed = 0;      // tickets listed by the helpdesk
  int64_t stored = 0;      // of which new to the inbox (the rest were there already)
  int64_t total = -1;      // the helpdesk's count for the whole listing, where it gives one
  bool caught_up = false;  // the listing reached the present
};

// Lists a helpdesk's tickets page by page into the inbox, where the pipeline takes them like
// webhooks. The cursor is stored under `cursor_name` only after a page's deliveries are
// durable, so an interrupted listing resumes at the page it was on and loses nothing; a
// page listed twice is deduplicated by its delivery keys.
//
// `since` is used when no cursor is stored yet. `on_page` sees the progress after each page
// and returns false to stop early (the cursor is kept).
absl::StatusOr<ListingProgress> ListIntoInbox(
    spi::Store& store, spi::HelpdeskAdapter& helpdesk, const std::string& cursor_name,
    absl::Time since, const spi::Clock& clock,
    const std::function<bool(const ListingProgress&)>& on_page = nullptr);

// The cursor names: one reconciliation watermark per helpdesk, one backfill per start date.
std::string ReconcileCursor(const std::string& helpdesk_id);
std::string BackfillCursor(const std::string& helpdesk_id, absl::Time since);

struct ReconcilerOptions {
  absl::Duration interval = absl::Minutes(5);
  absl::Duration initial_lookback = absl::Hours(24);  // the first run, with no watermark yet
  int max_pages = 50;                                 // per helpdesk per run
  metrics::AdapterHealth* health = nullptr;           // told how far each listing got
  // Whether this replica may reconcile now (as ExecutorOptions::active). Unset: always.
  std::function<bool()> active;
};

// Catches up webhooks lost while Debrief (or the network) was down: at start and then every
// interval, each helpdesk that can list tickets is asked for those updated since its
// watermark. Helpdesks that cannot list are skipped.
class Reconciler {
 public:
  Reconciler(spi::Store& store, std::map<std::string, spi::HelpdeskAdapter*> helpdesks,
             const spi::Clock& clock, ReconcilerOptions options);
  void Start();
  void Stop();
  // Runs one pass over every helpdesk now; returns the tickets stored.
  absl::StatusOr<int> RunOnce();
  int64_t stored_total() const { return stored_total_.load(); }

 private:
  // When the helpdesk is listed next, for a pass that started at `started`.
  absl::Time NextRun(const std::string& id, absl::Time started) const;
  // Whether the helpdesk's last answer was a rate limit whose wait is not over at `now`.
  bool RateLimited(const std::string& id, absl::Time now);

  // A rate limit's wait counts from when it was answered; a clock set back before that moment
  // restarts the wait from the new time (at most the Retry-After, never the whole step).
  struct RateLimit {
    absl::Time since;
    absl::Duration wait;
  };

  spi::Store& store_;
  std::map<std::string, spi::HelpdeskAdapter*> helpdesks_;
  std::map<std::string, RateLimit> rate_limited_;  // per helpdesk
  std::map<std::string, bool> unsupported_;
  const spi::Clock& clock_;
  ReconcilerOptions options_;
  std::atomic<int64_t> stored_total_{0};
  std::unique_ptr<base::Worker> worker_;
};

}  // namespace debrief::ingress
