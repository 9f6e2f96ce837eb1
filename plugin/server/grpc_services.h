#pragma once

#include <memory>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "service/service.h"

namespace debrief::server {

// The one place an absl::Status becomes a grpc::Status.
grpc::Status ToGrpc(const absl::Status& s);

// Tagging, Improvements, Tickets and Admin over gRPC (callback API): a thin door onto
// service::Service, which does the work. Registered on `builder`; `service` outlives them.
class GrpcServices {
 public:
  explicit GrpcServices(service::Service& service);
  ~GrpcServices();
  void Register(grpc::ServerBuilder& builder);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace debrief::server
