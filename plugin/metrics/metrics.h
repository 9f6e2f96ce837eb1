#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace debrief::metrics {

// debriefd's metrics, rendered in the Prometheus text format at GET /metrics. A thin layer over
// prometheus-cpp's registry: every family has its HELP and TYPE, and label values are escaped
// by its serializer. Label values must come from configuration (adapter ids) or from a fixed
// set (reasons), never from a request, so a request cannot grow the exposition.
//
//   auto& rejected = metrics.Counters("debrief_webhook_rejected_total", "Webhooks refused.");
//   prometheus::Counter& c = rejected.Add({{"adapter", "support"}, {"reason", "bad_signature"}});
//   c.Increment();  // lock-free; keep the reference on hot paths
//
// Thread-safe.
class Metrics {
 public:
  Metrics();

  prometheus::Family<prometheus::Counter>& Counters(const std::string& name,
                                                    const std::string& help);
  prometheus::Family<prometheus::Gauge>& Gauges(const std::string& name, const std::string& help);
  // Durations in seconds; each series is added with its buckets, one of the two below.
  prometheus::Family<prometheus::Histogram>& Histograms(const std::string& name,
                                                        const std::string& help);
  // From half a millisecond to ten seconds: a request, a commit, a classification, a call.
  static const prometheus::Histogram::BucketBoundaries& LatencyBuckets();
  // From ten milliseconds to an hour: how long work waited.
  static const prometheus::Histogram::BucketBoundaries& WaitBuckets();

  // A value read when scraped from wherever it is kept (a component's own atomic counter, a
  // queue's depth): `read` runs on the scraping thread and must be quick and thread-safe.
  void ScrapedCounter(const std::string& name, const std::string& help,
                      std::function<double()> read);
  void ScrapedGauge(const std::string& name, const std::string& help, std::function<double()> read);

  // Runs before every scrape (and Value), on the scraping thread: refreshes gauges whose
  // values are read from elsewhere (the store). Keep it quick or rate-limited.
  void BeforeScrape(std::function<void()> refresh);

  // The whole exposition.
  std::string Render() const;

  // The value of one series, or 0 if it does not exist (tests, tools).
  double Value(const std::string& name, const prometheus::Labels& labels = {}) const;

 private:
  struct Scraped {
    std::string name, help;
    bool counter;
    std::function<double()> read;
  };
  std::vector<prometheus::MetricFamily> Collect() const;

  std::shared_ptr<prometheus::Registry> registry_;
  mutable std::mutex mu_;
  std::vector<Scraped> scraped_;
  std::vector<std::function<void()>> before_scrape_;
};

}  // namespace debrief::metrics
