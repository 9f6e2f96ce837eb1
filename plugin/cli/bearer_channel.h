#pragma once

// A gRPC channel whose every call carries a bearer token and the caller's name, as debriefd
// wants (server/grpc_services.h): plaintext channels cannot carry call credentials, so the
// metadata is added by an interceptor, on any channel.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "grpcpp/create_channel.h"
#include "grpcpp/support/client_interceptor.h"

namespace debrief::cli {

class BearerInterceptor final : public grpc::experimental::Interceptor {
 public:
  BearerInterceptor(const std::string* authorization, const std::string* actor)
      : authorization_(authorization), actor_(actor) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      auto* md = methods->GetSendInitialMetadata();
      if (!authorization_->empty()) md->insert({"authorization", *authorization_});
      if (!actor_->empty()) md->insert({"debrief-actor", *actor_});
    }
    methods->Proceed();
  }

 private:
  const std::string* authorization_;
  const std::string* actor_;
};

class BearerInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  BearerInterceptorFactory(const std::string& token, std::string actor)
      : authorization_(token.empty() ? "" : "Bearer " + token), actor_(std::move(actor)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(&authorization_, &actor_);
  }

 private:
  const std::string authorization_;
  const std::string actor_;
};

// `token` empty: no authorization (a client certificate may sign the caller in).
inline std::shared_ptr<grpc::Channel> BearerChannel(
    const std::string& target, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    const std::string& token, const std::string& actor = "") {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> f;
  f.push_back(std::make_unique<BearerInterceptorFactory>(token, actor));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      target, credentials, grpc::ChannelArguments(), std::move(f));
}

}  // namespace debrief::cli
