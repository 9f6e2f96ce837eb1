#pragma once

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "service/service.h"

namespace debrief::server {

// The one place an absl::Status becomes a grpc::Status.
grpc::Status ToGrpc(const absl::Status& s);

// The service a call goes to: debriefd's current one, which a configuration reload replaces
// (a call holds the one it started with until it ends).
using ServiceSource = std::function<std::shared_ptr<service::Service>()>;

// Tagging, Improvements, Tickets and Admin over gRPC (callback API): a thin door onto
// service::Service, which does the work. Registered on `builder`; `service` outlives them.
class GrpcServices {
 public:
  explicit GrpcServices(service::Service& service);
  explicit GrpcServices(ServiceSource source);
  ~GrpcServices();
  void Register(grpc::ServerBuilder& builder);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace debrief::server
