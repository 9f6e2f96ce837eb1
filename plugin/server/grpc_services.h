#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "auth/auth.h"
#include "grpcpp/grpcpp.h"
#include "service/service.h"

namespace debrief::server {

// The one place an absl::Status becomes a grpc::Status.
grpc::Status ToGrpc(const absl::Status& s);

// The service a call goes to: debriefd's current one, which a configuration reload replaces
// (a call holds the one it started with until it ends).
using ServiceSource = std::function<std::shared_ptr<service::Service>()>;

// Client certificates' roles, by the certificate subject's common name (grpc.tls.client_roles).
using ClientRoles = std::map<std::string, auth::Role>;

// Who makes a gRPC call: a client certificate named in `client_roles` (verified by the
// listener), else the bearer token of its `authorization` metadata (Service::Authenticate).
// UNAUTHENTICATED with the reason.
absl::StatusOr<auth::Caller> Authenticate(service::Service& svc,
                                          const grpc::CallbackServerContext& ctx,
                                          const ClientRoles& client_roles);

// Tagging, Improvements, Tickets, Insights and Admin over gRPC (callback API): a thin door
// onto service::Service, which does the work. Every call signs in (Authenticate) and is held
// to the role table (Service::Authorize) before it runs; the health check needs no sign-in.
// Registered on `builder`.
class GrpcServices {
 public:
  GrpcServices(ServiceSource source, ClientRoles client_roles);
  ~GrpcServices();
  void Register(grpc::ServerBuilder& builder);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace debrief::server
