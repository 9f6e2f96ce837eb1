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
#include "debrief/spi/status.h"
#include "debrief/spi/tracker_adapter.h"
#include "debrief/v1/config.pb.h"
#include "google/protobuf/descriptor.h"

namespace debrief::spi {

// What an adapter may use. All references outlive the adapter.
struct AdapterContext {
  HttpClient& http;
  const Clock& clock;
  // Where an adapter may keep files of its own; relative secret files resolve against it.
  std::string data_dir;
  // What happens to a secret file marked `create` that does not exist yet.
  enum class SecretFiles {
    kRead,    // an error: tools that only read it (debriefctl replay)
    kCreate,  // it is made, random and 0600 (debriefd)
    kCheck,   // it is taken as fine, for debriefd will make it (debriefctl config check)
  };
  SecretFiles secret_files = SecretFiles::kRead;
};

// One thing to do on the vendor's side so that an adapter receives its webhooks (the console
// and `debriefctl adapters add` show them after a save).
struct SetupStep {
  std::string title;   // "Create a webhook"
  std::string detail;  // what to do and where, in the vendor's own words for its menus
  std::string value;   // something to copy there (the URL, an event list); may be empty
};

// Where the adapter is reached, for its setup steps.
struct SetupContext {
  std::string webhook_url;  // http.public_url + the webhook path, or the path alone
  // False: webhook_url is a path, and the core says first how to set http.public_url.
  bool public_url_known = false;
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
  // Its settings message (adapters/KIND/TYPE/TYPE.proto): the admin console's form and
  // debriefctl's prompts are made from it. nullptr: no form (the YAML only).
  virtual const google::protobuf::Descriptor* settings() const { return nullptr; }
  // What to do on the vendor's side for this adapter's webhooks; none when it takes none.
  virtual std::vector<SetupStep> Setup(const v1::AdapterConfig& config,
                                       const SetupContext& where) const {
    return {};
  }
};

class TrackerAdapterFactory {
 public:
  virtual ~TrackerAdapterFactory() = default;
  virtual std::string type() const = 0;
  virtual absl::StatusOr<std::unique_ptr<TrackerAdapter>> Create(
      const v1::AdapterConfig& config, const AdapterContext& context) const = 0;
  // Its settings message (adapters/KIND/TYPE/TYPE.proto): the admin console's form and
  // debriefctl's prompts are made from it. nullptr: no form (the YAML only).
  virtual const google::protobuf::Descriptor* settings() const { return nullptr; }
  // What to do on the vendor's side for this adapter's webhooks; none when it takes none.
  virtual std::vector<SetupStep> Setup(const v1::AdapterConfig& config,
                                       const SetupContext& where) const {
    return {};
  }
};

// Factories by type name. The core finds an adapter by name, never by #include. Registering
// a second factory under a type already taken is an error: the first stays, and status() says
// so (debriefd and debriefctl refuse to start on it). Not thread-safe: filled once, at start.
class AdapterRegistry {
 public:
  void Add(std::unique_ptr<HelpdeskAdapterFactory> f) { Put(helpdesks_, std::move(f), "helpdesk"); }
  void Add(std::unique_ptr<TrackerAdapterFactory> f) { Put(trackers_, std::move(f), "tracker"); }
  // OK, or FAILED_PRECONDITION naming the first type registered twice.
  const absl::Status& status() const { return status_; }
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
  // The settings messages' comments: a serialized google.protobuf.FileDescriptorSet with
  // source info, for the help text of the forms made from settings() (empty: no help).
  void set_settings_docs(std::string file_descriptor_set) {
    settings_docs_ = std::move(file_descriptor_set);
  }
  const std::string& settings_docs() const { return settings_docs_; }

 private:
  template <typename M, typename F>
  void Put(M& m, std::unique_ptr<F> f, const char* kind) {
    std::string t = f->type();
    if (m.contains(t)) {
      if (status_.ok())
        status_ = absl::FailedPreconditionError(
            absl::StrCat("two ", kind, " adapter factories are registered as type \"", t, "\""));
      return;
    }
    m.emplace(std::move(t), std::move(f));
  }
  template <typename M>
  static std::vector<std::string> Keys(const M& m) {
    std::vector<std::string> out;
    for (const auto& [k, v] : m) out.push_back(k);
    return out;
  }
  std::map<std::string, std::unique_ptr<HelpdeskAdapterFactory>> helpdesks_;
  std::map<std::string, std::unique_ptr<TrackerAdapterFactory>> trackers_;
  absl::Status status_;
  std::string settings_docs_;
};

}  // namespace debrief::spi
