#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "debrief/spi/adapter_factory.h"
#include "debrief/spi/clock.h"
#include "debrief/v1/config.pb.h"

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
  static absl::StatusOr<std::unique_ptr<App>> Create(const v1::Config& config,
                                                     const spi::AdapterRegistry& registry,
                                                     const spi::Clock& clock);
  virtual ~App() = default;

  virtual absl::Status Start() = 0;
  virtual AppPorts ports() const = 0;
  virtual void Shutdown(absl::Duration grace) = 0;
  // Loads the classifier again (a new model file): deliveries keep flowing meanwhile.
  virtual absl::Status ReloadClassifier() = 0;
  virtual std::string classifier_name() const = 0;
  // Whether the tracker sends webhooks (to POST /webhooks/{id}); the others are polled.
  virtual bool TrackerSendsWebhooks(const std::string& tracker_id) const = 0;
};

}  // namespace debrief::server
