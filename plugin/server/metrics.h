#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace debrief::server {

// A monotonically increasing counter; cheap to bump from any thread.
class Counter {
 public:
  void Inc(int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Counters by name and labels, rendered in the Prometheus text format at GET /metrics.
// Get() takes a lock: call it once and keep the reference on hot paths.
class Metrics {
 public:
  // labels: already formatted, e.g. R"(adapter="support",reason="bad_signature")".
  Counter& Get(const std::string& name, const std::string& labels = "") {
    std::lock_guard<std::mutex> l(mu_);
    auto& c = counters_[name + "{" + labels + "}"];
    if (!c) c = std::make_unique<Counter>();
    return *c;
  }
  int64_t Value(const std::string& name, const std::string& labels = "") {
    return Get(name, labels).value();
  }
  // Gauges computed when scraped.
  void SetGaugeSource(std::function<std::string()> f) {
    std::lock_guard<std::mutex> l(mu_);
    gauges_ = std::move(f);
  }
  std::string Render() {
    std::lock_guard<std::mutex> l(mu_);
    std::string out;
    for (const auto& [key, c] : counters_) {
      std::string k = key;
      if (k.size() >= 2 && k.compare(k.size() - 2, 2, "{}") == 0) k.resize(k.size() - 2);
      out += k + " " + std::to_string(c->value()) + "\n";
    }
    if (gauges_) out += gauges_();
    return out;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Counter>> counters_;
  std::function<std::string()> gauges_;
};

}  // namespace debrief::server
