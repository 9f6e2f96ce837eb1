#include "metrics/adapter_health.h"

#include <algorithm>

#include "base/purpose.h"

namespace debrief::metrics {
namespace {

constexpr int kMinutes = 60;
constexpr size_t kMaxError = 500;

double Seconds(absl::Time t) { return static_cast<double>(absl::ToUnixMillis(t)) / 1000.0; }

// Counts per minute over the last hour, in a ring indexed by the minute.
struct HourCounts {
  std::array<int64_t, kMinutes> minute{};
  std::array<int64_t, kMinutes> count{};

  void Add(absl::Time at) {
    const int64_t m = absl::ToUnixSeconds(at) / 60;
    const size_t i = static_cast<size_t>(((m % kMinutes) + kMinutes) % kMinutes);
    if (minute[i] != m) {
      minute[i] = m;
      count[i] = 0;
    }
    ++count[i];
  }
  int64_t LastHour(absl::Time now) const {
    const int64_t m = absl::ToUnixSeconds(now) / 60;
    int64_t n = 0;
    for (size_t i = 0; i < kMinutes; ++i)
      if (minute[i] > m - kMinutes && minute[i] <= m) n += count[i];
    return n;
  }
};

}  // namespace

struct AdapterHealth::Adapter {
  View view;
  std::map<std::string, HourCounts> refusals;
  prometheus::Gauge* last_webhook = nullptr;
  prometheus::Counter* ok = nullptr;
  prometheus::Counter* error = nullptr;
  prometheus::Counter* rate_limited = nullptr;
  prometheus::Gauge* last_success = nullptr;
  prometheus::Gauge* last_error = nullptr;
  prometheus::Gauge* watermark = nullptr;
  prometheus::Gauge* next_run = nullptr;
};

AdapterHealth::AdapterHealth(Metrics& metrics) : metrics_(metrics) {}
AdapterHealth::~AdapterHealth() = default;

void AdapterHealth::Add(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  if (adapters_.contains(id)) return;
  auto a = std::make_unique<Adapter>();
  const prometheus::Labels labels{{"adapter", id}};
  auto outcome = [&](const char* o) {
    return &metrics_
                .Counters("debrief_adapter_calls_total",
                          "Calls to an adapter's API: answered (ok), failed (error), or told to "
                          "slow down (rate_limited).")
                .Add({{"adapter", id}, {"outcome", o}});
  };
  a->ok = outcome("ok");
  a->error = outcome("error");
  a->rate_limited = outcome("rate_limited");
  a->last_webhook = &metrics_
                         .Gauges("debrief_adapter_last_webhook_timestamp_seconds",
                                 "When the adapter's last webhook was accepted (0: none yet).")
                         .Add(labels);
  a->last_success = &metrics_
                         .Gauges("debrief_adapter_last_success_timestamp_seconds",
                                 "When a call to the adapter's API was last answered (0: none).")
                         .Add(labels);
  a->last_error = &metrics_
                       .Gauges("debrief_adapter_last_error_timestamp_seconds",
                               "When a call to the adapter's API last failed (0: never).")
                       .Add(labels);
  a->watermark = &metrics_
                      .Gauges("debrief_reconcile_watermark_timestamp_seconds",
                              "How far the helpdesk's tickets have been listed (0: not yet).")
                      .Add(labels);
  a->next_run = &metrics_
                     .Gauges("debrief_reconcile_next_run_timestamp_seconds",
                             "When the helpdesk's tickets are listed next (0: not scheduled).")
                     .Add(labels);
  adapters_.emplace(id, std::move(a));
}

AdapterHealth::Adapter* AdapterHealth::Find(const std::string& id) const {
  auto it = adapters_.find(id);
  return it == adapters_.end() ? nullptr : it->second.get();
}

void AdapterHealth::WebhookAccepted(const std::string& id, absl::Time at) {
  std::lock_guard<std::mutex> l(mu_);
  Adapter* a = Find(id);
  if (a == nullptr) return;
  a->view.last_webhook = std::max(a->view.last_webhook, at);
  a->last_webhook->Set(Seconds(a->view.last_webhook));
}

void AdapterHealth::WebhookRefused(const std::string& id, absl::string_view reason, absl::Time at) {
  std::lock_guard<std::mutex> l(mu_);
  Adapter* a = Find(id);
  if (a == nullptr) return;
  a->refusals[std::string(reason)].Add(at);
}

void AdapterHealth::CallAnswered(const std::string& id, absl::Time at) {
  std::lock_guard<std::mutex> l(mu_);
  Adapter* a = Find(id);
  if (a == nullptr) return;
  ++a->view.calls_ok;
  a->ok->Increment();
  a->view.last_success = std::max(a->view.last_success, at);
  a->last_success->Set(Seconds(a->view.last_success));
}

void AdapterHealth::CallFailed(const std::string& id, absl::string_view error, absl::Time at) {
  std::lock_guard<std::mutex> l(mu_);
  Adapter* a = Find(id);
  if (a == nullptr) return;
  ++a->view.calls_failed;
  a->error->Increment();
  if (at >= a->view.last_error_at) {
    a->view.last_error_at = at;
    a->view.last_error = std::string(error.substr(0, kMaxError));
    a->last_error->Set(Seconds(at));
  }
}

void AdapterHealth::CallTimed(const std::string& id, absl::Duration took, int status) {
  static const char* const kClasses[] = {"error", "1xx", "2xx", "3xx", "4xx", "5xx"};
  const int c = status >= 100 && status < 600 ? status / 100 : 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (Find(id) == nullptr) return;
  }
  metrics_
      .Histograms("debrief_adapter_call_duration_seconds",
                  "Calls to an adapter's API, by adapter and by the work that made them (an "
                  "outbox action, status_poll, reconcile, other).")
      .Add({{"adapter", id}, {"action", base::CurrentPurpose()}}, Metrics::LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(took));
  metrics_
      .Counters("debrief_adapter_responses_total",
                "Answers from an adapter's API by status class (error: no answer).")
      .Add({{"adapter", id}, {"class", kClasses[c]}})
      .Increment();
}

void AdapterHealth::RateLimited(const std::string& id, absl::Time at) {
  std::lock_guard<std::mutex> l(mu_);
  Adapter* a = Find(id);
  if (a == nullptr) return;
  ++a->view.rate_limit_waits;
  a->rate_limited->Increment();
  (void)at;
}

void AdapterHealth::Reconciled(const std::string& id, absl::Time to, absl::Time next) {
  std::lock_guard<std::mutex> l(mu_);
  Adapter* a = Find(id);
  if (a == nullptr) return;
  if (to != absl::InfinitePast()) {
    a->view.reconciled_to = std::max(a->view.reconciled_to, to);
    a->watermark->Set(Seconds(a->view.reconciled_to));
  }
  a->view.next_reconcile = next;
  a->next_run->Set(next == absl::InfinitePast() || next == absl::InfiniteFuture() ? 0
                                                                                  : Seconds(next));
}

AdapterHealth::View AdapterHealth::Of(const std::string& id, absl::Time now) const {
  std::lock_guard<std::mutex> l(mu_);
  const Adapter* a = Find(id);
  if (a == nullptr) return View();
  View v = a->view;
  for (const auto& [reason, counts] : a->refusals)
    if (int64_t n = counts.LastHour(now); n > 0) v.refusals_last_hour[reason] = n;
  return v;
}

}  // namespace debrief::metrics
