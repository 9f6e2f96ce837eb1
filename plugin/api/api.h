#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "auth/auth.h"
#include "debrief/spi/clock.h"
#include "debrief/spi/helpdesk_adapter.h"
#include "debrief/spi/store.h"
#include "ingress/http_server.h"
#include "metrics/metrics.h"
#include "service/service.h"

// The JSON API and the agents' panel, served by debriefd's HTTP listener beside the webhooks:
// the same operations as the gRPC API (service::Service beneath both), for the browser.
//
//   POST /api/v1/{Service}/{Method}   a services.proto RPC: the request message in Protobuf's
//                                     JSON mapping, the response likewise (every field printed)
//   POST /api/v1/session              exchanges an API token for a session token
//   POST /api/v1/session/refresh      a session token for a new one, before it expires
//   GET  /app/...                     the panel (compiled into debriefd)
//   POST /app/signin/{helpdesk}       the helpdesk's proof of its signed-in agent (a signed
//                                     URL's token, an extension's signed form): the panel, with
//                                     a session for that agent in the page
//
// Nothing is anonymous: every /api/v1 call carries `Authorization: Bearer` with an API token
// (dbt_..., stored hashed, with a role: debriefctl tokens) or a session token (ds1..., signed
// by debriefd, 15 minutes). What each role may call is auth::Allowed; a caller bound to one
// helpdesk reaches only that helpdesk's tickets. Refusals are 401 (who are you) or 403 (not
// you), with {"error", "code"}, counted in debrief_api_refused_total{reason}.
namespace debrief::api {

struct ApiOptions {
  std::vector<std::string> frame_ancestors;  // besides the helpdesks' own origins
};

class Api {
 public:
  Api(service::Service& service, std::map<std::string, spi::HelpdeskAdapter*> helpdesks,
      const spi::Clock& clock, metrics::Metrics& metrics, const auth::Sessions& sessions,
      ApiOptions options);

  // /api/ and /app/, for the HTTP listener.
  std::vector<ingress::Route> Routes();

  ingress::HttpReply HandleApi(const ingress::HttpCall& call);
  ingress::HttpReply HandleApp(const ingress::HttpCall& call);

 private:
  struct Refusal;
  absl::StatusOr<auth::Caller> Authenticate(const ingress::HttpCall& call);
  ingress::HttpReply Session(const auth::Caller& caller, const std::string& ticket_id);
  ingress::HttpReply SignIn(const std::string& helpdesk_id, const ingress::HttpCall& call);
  ingress::HttpReply Page(const std::string& session_json, absl::string_view page = "index.html");
  ingress::HttpReply Error(int status, absl::string_view code, absl::string_view message,
                           absl::string_view refused_reason = "");
  ingress::HttpReply PageError(int status, absl::string_view message,
                               absl::string_view refused_reason);
  void Count(absl::string_view method, int status);
  std::vector<std::pair<std::string, std::string>> PageHeaders() const;

  service::Service& service_;
  std::map<std::string, spi::HelpdeskAdapter*> helpdesks_;
  const spi::Clock& clock_;
  metrics::Metrics& metrics_;
  const auth::Sessions& sessions_;
  std::string csp_;
  prometheus::Family<prometheus::Counter>& refused_;
  prometheus::Family<prometheus::Counter>& calls_;
  prometheus::Family<prometheus::Counter>& signins_;
};

}  // namespace debrief::api
