#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "debrief/spi/adapter_factory.h"
#include "debrief/spi/clock.h"
#include "debrief/v1/config.pb.h"
#include "debrief/v1/services.pb.h"

namespace debrief::server {

struct AppPorts {
  int http = 0;
  int grpc = 0;
};

// debriefd: one process with the webhook listener, the gRPC services, the pipeline and the
// outbox executor, built from a Config and the registered adapter factories.
//
//   auto app = App::Create(config, registry, spi::SystemClock::Get());
//   (*app)->Start();   // ready: /readyz 200, gRPC health SERVING
//   ...
//   (*app)->Shutdown(absl::Seconds(10));  // stop accepting, drain, flush
class App {
 public:
  // `config_path`: the file `config` was read from, read again by Reload (empty: none).
  static absl::StatusOr<std::unique_ptr<App>> Create(const v1::Config& config,
                                                     const spi::AdapterRegistry& registry,
                                                     const spi::Clock& clock,
                                                     const std::string& config_path = "");
  virtual ~App() = default;

  virtual absl::Status Start() = 0;
  virtual AppPorts ports() const = 0;
  virtual void Shutdown(absl::Duration grace) = 0;
  // Reads the configuration file again and applies it (Admin.Reload; SIGHUP): adapters,
  // taxonomy, classifier, policy and worker settings change without a restart, and without
  // dropping a delivery or a connection. Listener, store and data_dir changes need a restart:
  // then nothing is applied and the answer says which (restart_needed). A file that does not
  // load, or adapters that cannot be made from it, leave the running configuration as it was.
  // The classifier's model file is read again too. `audit_as`: who asked, for the audit log
  // (the RPC's own audit covers Admin.Reload).
  virtual absl::StatusOr<v1::ReloadResponse> Reload(const v1::ReloadRequest& request,
                                                    const std::string& audit_as) = 0;
  // Reads both listeners' certificate files again (SIGHUP; they are also looked at every 10 s).
  // A pair that does not load or match leaves the previous certificate in use.
  virtual absl::Status ReloadCertificates() = 0;
  virtual std::string classifier_name() const = 0;
  // Whether the tracker sends webhooks (to POST /webhooks/{id}); the others are polled.
  virtual bool TrackerSendsWebhooks(const std::string& tracker_id) const = 0;
};

}  // namespace debrief::server
