#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "debrief/spi/clock.h"
#include "debrief/spi/helpdesk_adapter.h"
#include "debrief/spi/http_client.h"
#include "debrief/spi/tracker_adapter.h"
#include "debrief/v1/config.pb.h"

namespace debrief::spi {

// What an adapter may use. All references outlive the adapter.
struct AdapterContext {
  HttpClient& http;
  const Clock& clock;
  // Where an adapter may keep files of its own; relative secret files resolve against it.
  std::string data_dir;
  // Whether a secret file marked `create` that does not exist yet is made (debriefd), or is
  // an error (tools that only read it).
  bool create_missing_secrets = false;
};

// Builds adapters of one type from their config. Factories are registered explicitly by
// RegisterBuiltinAdapters() (adapters/register.h), called from main only.
class HelpdeskAdapterFactory {
 public:
  virtual ~HelpdeskAdapterFactory() = default;
  virtual std::string type() const = 0;
  // INVALID_ARGUMENT names the setting that is wrong.
  virtual absl::StatusOr<std::unique_ptr<HelpdeskAdapter>> Create(
      const v1::AdapterConfig& config, const AdapterContext& context) const = 0;
};

class TrackerAdapterFactory {
 public:
  virtual ~TrackerAdapterFactory() = default;
  virtual std::string type() const = 0;
  virtual absl::StatusOr<std::unique_ptr<TrackerAdapter>> Create(
      const v1::AdapterConfig& config, const AdapterContext& context) const = 0;
};

// Factories by type name. The core finds an adapter by name, never by #include.
class AdapterRegistry {
 public:
  void Add(std::unique_ptr<HelpdeskAdapterFactory> f) {
    std::string t = f->type();
    helpdesks_[t] = std::move(f);
  }
  void Add(std::unique_ptr<TrackerAdapterFactory> f) {
    std::string t = f->type();
    trackers_[t] = std::move(f);
  }
  const HelpdeskAdapterFactory* helpdesk(const std::string& type) const {
    auto it = helpdesks_.find(type);
    return it == helpdesks_.end() ? nullptr : it->second.get();
  }
  const TrackerAdapterFactory* tracker(const std::string& type) const {
    auto it = trackers_.find(type);
    return it == trackers_.end() ? nullptr : it->second.get();
  }
  std::vector<std::string> helpdesk_types() const { return Keys(helpdesks_); }
  std::vector<std::string> tracker_types() const { return Keys(trackers_); }

 private:
  template <typename M>
  static std::vector<std::string> Keys(const M& m) {
    std::vector<std::string> out;
    for (const auto& [k, v] : m) out.push_back(k);
    return out;
  }
  std::map<std::string, std::unique_ptr<HelpdeskAdapterFactory>> helpdesks_;
  std::map<std::string, std::unique_ptr<TrackerAdapterFactory>> trackers_;
};

// Adapters say how long to wait before a retry by attaching this payload to the status
// (UNAVAILABLE or RESOURCE_EXHAUSTED), e.g. from a Retry-After header.
inline constexpr char kRetryAfterPayload[] = "type.debrief.dev/retry-after-ms";

inline absl::Status WithRetryAfter(absl::Status s, absl::Duration d) {
  s.SetPayload(kRetryAfterPayload, absl::Cord(std::to_string(absl::ToInt64Milliseconds(d))));
  return s;
}

inline std::optional<absl::Duration> RetryAfter(const absl::Status& s) {
  auto p = s.GetPayload(kRetryAfterPayload);
  if (!p) return std::nullopt;
  int64_t ms = 0;
  if (!absl::SimpleAtoi(std::string(*p), &ms)) return std::nullopt;
  return absl::Milliseconds(ms);
}

}  // namespace debrief::spi
