#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "metrics/metrics.h"

namespace debrief::metrics {

// How each configured adapter has been doing since start-up: webhooks accepted and refused,
// calls to its API answered or failed or told to slow down, and its helpdesk's listing. The
// admins' console reads it (Admin.ListAdapters) and /metrics carries the same figures:
//
//   debrief_adapter_last_webhook_timestamp_seconds{adapter}
//   debrief_adapter_calls_total{adapter, outcome="ok|error|rate_limited"}
//   debrief_adapter_last_success_timestamp_seconds{adapter}
//   debrief_adapter_last_error_timestamp_seconds{adapter}
//   debrief_reconcile_watermark_timestamp_seconds{adapter}
//   debrief_reconcile_next_run_timestamp_seconds{adapter}
//
// Refusals are counted by debrief_webhook_rejected_total (the HTTP front); here they are
// also kept per minute for the last hour. Error messages must carry no credential (the
// HTTP client's and the adapters' never do). Thread-safe; unknown adapter ids are ignored.
class AdapterHealth {
 public:
  struct View {
    absl::Time last_webhook = absl::InfinitePast();
    std::map<std::string, int64_t> refusals_last_hour;  // by reason
    absl::Time last_success = absl::InfinitePast();
    absl::Time last_error_at = absl::InfinitePast();
    std::string last_error;
    int64_t calls_ok = 0, calls_failed = 0, rate_limit_waits = 0;
    absl::Time reconciled_to = absl::InfinitePast();
    absl::Time next_reconcile = absl::InfinitePast();
  };

  explicit AdapterHealth(Metrics& metrics);
  ~AdapterHealth();

  // Registers a configured adapter (its series appear at once, at zero).
  void Add(const std::string& id);

  void WebhookAccepted(const std::string& id, absl::Time at);
  void WebhookRefused(const std::string& id, absl::string_view reason, absl::Time at);
  void CallAnswered(const std::string& id, absl::Time at);
  void CallFailed(const std::string& id, absl::string_view error, absl::Time at);
  void RateLimited(const std::string& id, absl::Time at);
  // One call to the adapter's API took `took` and was answered with `status` (0: no answer, a
  // transport error), while the calling thread did base::CurrentPurpose().
  void CallTimed(const std::string& id, absl::Duration took, int status);
  // A listing pass of a helpdesk: caught up to `to` (InfinitePast: it failed), next one at.
  void Reconciled(const std::string& id, absl::Time to, absl::Time next);

  View Of(const std::string& id, absl::Time now) const;

 private:
  struct Adapter;
  Adapter* Find(const std::string& id) const;

  Metrics& metrics_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Adapter>> adapters_;
};

}  // namespace debrief::metrics
