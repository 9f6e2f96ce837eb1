#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "debrief/spi/clock.h"
#include "debrief/spi/helpdesk_adapter.h"
#include "debrief/spi/store.h"
#include "debrief/spi/tracker_adapter.h"
#include "metrics/adapter_health.h"
#include "metrics/metrics.h"

namespace debrief::ingress {

// A request for a route (below), read whole.
struct HttpCall {
  std::string method;                          // "GET", "POST", ...
  std::string path;                            // without the query; valid UTF-8
  std::string query;                           // after '?', undecoded
  std::map<std::string, std::string> headers;  // names lower-cased; each at most once
  std::string body;
};
struct HttpReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type among them
  std::string body;
};
// Paths served by another part of debriefd (the JSON API, the web app). `handle` runs on the
// listener's route threads (api-N), never on those that take webhooks, so it may block (a
// store transaction, a tracker call) without delaying a delivery; it must be thread-safe.
struct Route {
  std::string prefix;  // "/api/": every path that starts with it
  std::function<HttpReply(const HttpCall&)> handle;
};

struct HttpOptions {
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free one
  // Whether the store answers (a database server): /readyz is 503 "store_unavailable" while it
  // does not, so a load balancer sends webhooks to a replica that can store them. Unset: it
  // always does (a local file).
  std::function<bool()> store_reachable;
  // HTTPS with this certificate chain and key (PEM), read again when the files change (looked
  // at every 10 s) and on ReloadTls. Empty: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  size_t max_body_bytes = 1 << 20;
  int threads = 2;
  // A keep-alive connection waiting this long for its next request is closed; so is one
  // whose request (after its headers) or answer takes longer than request_timeout.
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(60);
  std::chrono::steady_clock::duration request_timeout = std::chrono::seconds(30);
  // Open connections at most; 0: what the process's file-descriptor limit leaves room for
  // (RLIMIT_NOFILE less a reserve for the store, outbound calls and gRPC). At the limit the
  // oldest idle keep-alive connection is closed to make room; with none idle, a new
  // connection is answered 503 and closed.
  int max_connections = 0;
  // Per peer address (0: no limit): open connections (beyond it a new one gets 503), and
  // webhooks per second with a burst (beyond it 429 with Retry-After). Behind a reverse proxy
  // every request comes from the proxy's address: leave them off there.
  int max_connections_per_source = 0;
  double webhooks_per_second_per_source = 0;
  double webhook_burst_per_source = 0;  // default: one second's worth
  std::vector<Route> routes;
  int route_threads = 4;  // threads running routes' handlers
  // Where each adapter's accepted and refused webhooks are recorded too (optional).
  metrics::AdapterHealth* health = nullptr;
};

// Trackers whose webhooks say a task changed: verified by the adapter, then handed to
// `on_events` (the loop reads those tasks back at once; nothing is stored, since the status
// poll re-reads every task anyway).
struct TrackerWebhooks {
  std::map<std::string, spi::TrackerAdapter*> trackers;
  std::function<void(const std::string& tracker_id, const std::vector<std::string>& ids)> on_events;
};

// Where webhooks go: debriefd replaces the set on a configuration reload; a request keeps the
// set it started with until it is answered.
struct WebhookTargets {
  std::map<std::string, spi::HelpdeskAdapter*> helpdesks;
  TrackerWebhooks trackers;
};
using TargetSource = std::function<std::shared_ptr<const WebhookTargets>()>;

// The webhook receiver (Boost.Beast, one coroutine per connection, keep-alive).
//
//   POST /webhooks/{adapter_id}  verify with the adapter, store durably, then answer:
//                                202 accepted | 200 duplicate | 400 malformed | 401 signature
//                                | 404 unknown adapter | 413 too large | 429 rate-limited
//                                | 503 store unavailable
//   POST /webhooks/{tracker_id}  a tracker's webhook: verified, then 200 naming each issue and
//                                whether it is a task Debrief follows (or 200 ignored, with the
//                                reason) | 401 signature | 400 malformed
//   GET  /healthz                200 while the process runs
//   GET  /readyz                 200 once ready() is true and the store answers, else 503
//                                {"status": "starting" | "store_unavailable"}
//   GET  /metrics                Prometheus text
//   a route's prefix             its handler's answer (HttpOptions::routes)
//
// Every refusal carries a JSON body {"error": "...", "reason": "..."}: a webhook's bumps
// debrief_webhook_rejected_total{adapter,reason} (adapter: a configured id, or "unknown"),
// anything else debrief_http_refused_total{reason}. A request HTTP cannot parse is answered
// 400 (431 for oversized headers, 505 for another HTTP version) and its connection closed. A
// 2xx is sent only after the store has committed the raw delivery. Whatever a request does,
// its connection's bookkeeping is released when the connection ends (an exception included:
// it becomes a 500).
class HttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const HttpOptions& options, spi::Store& store,
      std::map<std::string, spi::HelpdeskAdapter*> helpdesks, TrackerWebhooks trackers,
      const spi::Clock& clock, metrics::Metrics& metrics, std::function<bool()> ready);
  // The same, with adapters that may change while it runs.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpOptions& options,
                                                           spi::Store& store, TargetSource targets,
                                                           const spi::Clock& clock,
                                                           metrics::Metrics& metrics,
                                                           std::function<bool()> ready);
  virtual ~HttpServer() = default;

  virtual int port() const = 0;
  // Reads the certificate's files again if they changed (or `force`); new connections use the
  // new certificate, open ones keep theirs. An error leaves the previous certificate in use.
  virtual absl::Status ReloadTls(bool force) = 0;
  // Stops accepting, lets requests in flight finish (up to `grace`), closes idle connections.
  virtual void Stop(absl::Duration grace) = 0;
};

// Parses "host:port" (IPv6 as "[::1]:8080").
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& listen);

}  // namespace debrief::ingress
