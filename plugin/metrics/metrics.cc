#include "metrics/metrics.h"

#include <sstream>

#include "prometheus/text_serializer.h"

namespace debrief::metrics {

Metrics::Metrics()
    : registry_(
          std::make_shared<prometheus::Registry>(prometheus::Registry::InsertBehavior::Merge)) {}

prometheus::Family<prometheus::Counter>& Metrics::Counters(const std::string& name,
                                                           const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(*registry_);
}

prometheus::Family<prometheus::Gauge>& Metrics::Gauges(const std::string& name,
                                                       const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(*registry_);
}

prometheus::Family<prometheus::Histogram>& Metrics::Histograms(const std::string& name,
                                                               const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(*registry_);
}

const prometheus::Histogram::BucketBoundaries& Metrics::LatencyBuckets() {
  static const auto* const kBuckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *kBuckets;
}

const prometheus::Histogram::BucketBoundaries& Metrics::WaitBuckets() {
  static const auto* const kBuckets = new prometheus::Histogram::BucketBoundaries{
      0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600};
  return *kBuckets;
}

void Metrics::ScrapedCounter(const std::string& name, const std::string& help,
                             std::function<double()> read) {
  std::lock_guard<std::mutex> l(mu_);
  scraped_.push_back({name, help, true, std::move(read)});
}

void Metrics::ScrapedGauge(const std::string& name, const std::string& help,
                           std::function<double()> read) {
  std::lock_guard<std::mutex> l(mu_);
  scraped_.push_back({name, help, false, std::move(read)});
}

void Metrics::BeforeScrape(std::function<void()> refresh) {
  std::lock_guard<std::mutex> l(mu_);
  before_scrape_.push_back(std::move(refresh));
}

std::vector<prometheus::MetricFamily> Metrics::Collect() const {
  std::vector<std::function<void()>> refresh;
  {
    std::lock_guard<std::mutex> l(mu_);
    refresh = before_scrape_;
  }
  for (const auto& r : refresh) r();
  std::vector<prometheus::MetricFamily> out = registry_->Collect();
  std::lock_guard<std::mutex> l(mu_);
  for (const Scraped& s : scraped_) {
    prometheus::MetricFamily& f = out.emplace_back();
    f.name = s.name;
    f.help = s.help;
    f.type = s.counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge;
    prometheus::ClientMetric& m = f.metric.emplace_back();
    if (s.counter)
      m.counter.value = s.read();
    else
      m.gauge.value = s.read();
  }
  return out;
}

std::string Metrics::Render() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, Collect());
  return out.str();
}

double Metrics::Value(const std::string& name, const prometheus::Labels& labels) const {
  for (const prometheus::MetricFamily& f : Collect()) {
    if (f.name != name) continue;
    for (const prometheus::ClientMetric& m : f.metric) {
      bool match = m.label.size() == labels.size();
      for (const prometheus::ClientMetric::Label& l : m.label) {
        auto it = labels.find(l.name);
        match = match && it != labels.end() && it->second == l.value;
      }
      if (match) return f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  }
  return 0;
}

}  // namespace debrief::metrics
