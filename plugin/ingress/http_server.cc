// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// (kept first)
#include <sys/resource.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <iostream>
#include <list>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "base/log.h"
#include "base/thread_name.h"
#include "base/utf8.h"
#include "ingress/http_server.h"
#include "ingress/tls.h"

namespace debrief::ingress {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr absl::string_view kWebhookPrefix = "/webhooks/";
constexpr size_t kReadBuffer = 8 * 1024;
constexpr size_t kHeaderLimit = 16 * 1024;
// At most this many header fields, and a request target this long.
constexpr size_t kMaxHeaders = 100;
constexpr size_t kMaxTarget = 8 * 1024;
constexpr auto kSweep = std::chrono::milliseconds(250);
// Sweeps between two looks at the certificate's files (10 s).
constexpr int64_t kTlsCheckEvery = 40;
// File descriptors kept back from http.max_connections for the store, outbound calls and gRPC.
constexpr int kReservedDescriptors = 64;
// How long the accept loop waits after an error such as EMFILE instead of spinning.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);
// The longest delivery id stored; longer ones are refused.
constexpr size_t kMaxDeliveryKey = 512;

// Header names that carry credentials: verified, then never stored.
bool IsSecretHeader(absl::string_view name) {
  return name == "authorization" || name == "proxy-authorization" || name == "cookie" ||
         absl::StrContains(name, "signature") || absl::StrContains(name, "secret") ||
         absl::StrContains(name, "token") || absl::StrContains(name, "api-key");
}

// Headers HTTP defines as lists, which a client may legitimately send more than once. Any
// other header given twice is refused: an adapter reads one value (a signature, a timestamp,
// a delivery id), and which of two it would see must not be the sender's choice.
bool MayRepeat(absl::string_view name) {
  static const std::set<std::string, std::less<>> kLists = {"accept",
                                                            "accept-encoding",
                                                            "accept-language",
                                                            "cache-control",
                                                            "forwarded",
                                                            "pragma",
                                                            "te",
                                                            "trailer",
                                                            "via",
                                                            "warning",
                                                            "x-forwarded-for"};
  return kLists.contains(name);
}

std::string Lower(beast::string_view s) {
  return absl::AsciiStrToLower(absl::string_view(s.data(), s.size()));
}

// A JSON body; text that is not valid UTF-8 is repaired rather than thrown over.
std::string JsonText(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response Json(http::status status, const nlohmann::json& body, unsigned version, bool keep_alive) {
  Response res{status, version == 10 ? 10u : 11u};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::server, "debriefd");
  res.keep_alive(keep_alive);
  res.body() = JsonText(body);
  res.prepare_payload();
  return res;
}

Response Refusal(http::status status, absl::string_view error, absl::string_view reason,
                 unsigned version, bool keep_alive) {
  return Json(status, {{"error", std::string(error)}, {"reason", std::string(reason)}}, version,
              keep_alive);
}

// Waits, inside a coroutine, for the store's group commit of one delivery.
template <typename Token>
auto AsyncAppend(spi::Store& store, spi::StoredDelivery d, Token&& token) {
  return asio::async_initiate<Token, void(absl::StatusOr<spi::AppendOutcome>)>(
      [&store](auto handler, spi::StoredDelivery delivery) {
        auto ex = asio::get_associated_executor(handler);
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        store.AppendDelivery(std::move(delivery), [h, ex](absl::StatusOr<spi::AppendOutcome> r) {
          asio::post(ex, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
        });
      },
      token, std::move(d));
}

// Runs a route's handler on `pool` and completes, inside a coroutine, on the coroutine's own
// executor (its connection's strand), as AsyncAppend does: the handler's thread never resumes
// the connection. An exception in the handler becomes a 500.
template <typename Token>
auto AsyncRoute(asio::io_context& pool, const Route& route, std::shared_ptr<HttpCall> call,
                Token&& token) {
  return asio::async_initiate<Token, void(HttpReply)>(
      [&pool, &route](auto handler, std::shared_ptr<HttpCall> call) {
        auto ex = asio::get_associated_executor(handler);
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        asio::post(pool, [&route, call = std::move(call), h, ex]() {
          HttpReply reply;
          try {
            reply = route.handle(*call);
          } catch (const std::exception& e) {
            base::log::Error("ingress", "a route failed",
                             {{"path", call->path}, {"error", e.what()}});
            reply.status = 500;
            reply.headers = {{"Content-Type", "application/json"}};
            reply.body = R"({"error":"internal error; retry","code":"internal"})";
          }
          asio::post(ex, [h, reply = std::move(reply)]() mutable { (*h)(std::move(reply)); });
        });
      },
      token, std::move(call));
}

int DefaultMaxConnections() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 10000;
  return static_cast<int>(std::clamp<rlim_t>(rl.rlim_cur, 16 + kReservedDescriptors,
                                             10000 + kReservedDescriptors)) -
         kReservedDescriptors;
}

class BeastServer final : public HttpServer {
 public:
  BeastServer(const HttpOptions& options, spi::Store& store, TargetSource targets,
              const spi::Clock& clock, metrics::Metrics& metrics, std::function<bool()> ready)
      : options_(options),
        store_(store),
        targets_(std::move(targets)),
        clock_(clock),
        ready_(std::move(ready)),
        max_connections_(options.max_connections > 0 ? options.max_connections
                                                     : DefaultMaxConnections()),
        rejected_(metrics.Counters("debrief_webhook_rejected_total",
                                   "Webhook deliveries refused, by adapter (a configured id, or "
                                   "\"unknown\") and reason.")),
        refused_(metrics.Counters(
            "debrief_http_refused_total",
            "HTTP requests and connections refused outside the webhooks, by reason.")),
        accepted_(metrics.Counters("debrief_webhook_accepted_total",
                                   "Webhook deliveries stored (or, for trackers, verified).")),
        duplicate_(metrics.Counters("debrief_webhook_duplicate_total",
                                    "Webhook deliveries answered as already stored.")),
        ack_(metrics.Histograms("debrief_webhook_ack_duration_seconds",
                                "From a helpdesk webhook read whole to its acknowledgement: "
                                "verified and durably stored (202), or found stored (200).")),
        metrics_(metrics),
        sources_(options.max_connections_per_source, options.webhooks_per_second_per_source,
                 options.webhook_burst_per_source),
        ioc_(options.threads),
        acceptor_(ioc_),
        route_work_(asio::make_work_guard(route_ioc_)) {
    std::shared_ptr<const WebhookTargets> configured = targets_();
    for (const auto& [id, a] : configured->helpdesks) PerAdapterOf(id);
    for (const auto& [id, a] : configured->trackers.trackers) PerAdapterOf(id);
    metrics.ScrapedGauge("debrief_http_connections", "Open HTTP connections.",
                         [this] { return static_cast<double>(connections_.load()); });
    metrics.ScrapedGauge("debrief_http_max_connections",
                         "The most HTTP connections kept open at once (http.max_connections).",
                         [this] { return static_cast<double>(max_connections_); });
  }

  ~BeastServer() override { Stop(absl::ZeroDuration()); }

  absl::Status Listen() {
    auto hp = SplitHostPort(options_.listen);
    if (!hp.ok()) return hp.status();
    if (!options_.tls_cert_file.empty()) {
      auto tls = TlsFiles::Load(options_.tls_cert_file, options_.tls_key_file);
      if (!tls.ok())
        return absl::InvalidArgumentError(absl::StrCat("http.tls: ", tls.status().message()));
      tls_ = std::move(*tls);
    }
    beast::error_code ec;
    auto addr = asio::ip::make_address(hp->first == "localhost" ? "127.0.0.1" : hp->first, ec);
    if (ec)
      return absl::InvalidArgumentError(
          absl::StrCat("http.listen: bad address ", hp->first, ": ", ec.message()));
    tcp::endpoint ep(addr, static_cast<unsigned short>(hp->second));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return absl::UnavailableError(
          absl::StrCat("http.listen: cannot listen on ", options_.listen, ": ", ec.message()));
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, Accept(), asio::detached);
    asio::co_spawn(ioc_, Sweep(), asio::detached);
    for (int i = 0; i < std::max(1, options_.threads); ++i)
      threads_.emplace_back([this, i] {
        base::NameThisThread(absl::StrCat("http-", i));
        ioc_.run();
      });
    if (!options_.routes.empty())
      for (int i = 0; i < std::max(1, options_.route_threads); ++i)
        threads_.emplace_back([this, i] {
          base::NameThisThread(absl::StrCat("api-", i));
          route_ioc_.run();
        });
    return absl::OkStatus();
  }

  int port() const override { return port_; }

  absl::Status ReloadTls(bool force) override {
    if (!tls_) return absl::OkStatus();
    absl::StatusOr<bool> changed = tls_->Refresh(force);
    if (!changed.ok()) {
      base::log::Error("ingress", "the new certificate is not used; the previous one stays",
                       {{"error", std::string(changed.status().message())}});
      return changed.status();
    }
    if (*changed)
      base::log::Info("ingress", "certificate loaded", {{"file", options_.tls_cert_file}});
    return absl::OkStatus();
  }

  void Stop(absl::Duration grace) override {
    if (stopped_.exchange(true)) return;
    stopping_ = true;
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    // Idle keep-alive connections are closed; busy ones finish their request first.
    {
      std::lock_guard<std::mutex> l(sessions_mu_);
      for (const auto& s : sessions_) CloseIfIdle(s);
    }
    const absl::Time deadline = absl::Now() + grace;
    while (active_.load() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    ioc_.stop();
    route_work_.reset();
    route_ioc_.stop();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  struct PerAdapter {
    prometheus::Counter* accepted = nullptr;
    prometheus::Counter* duplicate = nullptr;
    prometheus::Histogram* ack = nullptr;  // request read -> acknowledgement (stored)
  };
  // An adapter's counters, made the first time its id is seen (at start, or after a reload
  // added it). The refusals worth an alert exist from then, so the first one shows in a rate().
  const PerAdapter& PerAdapterOf(const std::string& id) {
    std::lock_guard<std::mutex> l(per_adapter_mu_);
    auto [it, added] = per_adapter_.try_emplace(id);
    if (added) {
      it->second.accepted = &accepted_.Add({{"adapter", id}});
      it->second.duplicate = &duplicate_.Add({{"adapter", id}});
      it->second.ack = &ack_.Add({{"adapter", id}}, metrics::Metrics::LatencyBuckets());
      for (const char* reason : {"bad_signature", "malformed"})
        rejected_.Add({{"adapter", id}, {"reason", reason}});
    }
    return it->second;
  }
  static bool Configured(const WebhookTargets& t, const std::string& id) {
    return t.helpdesks.contains(id) || t.trackers.trackers.contains(id);
  }
  using Strand = asio::strand<asio::io_context::executor_type>;
  // Shared by the connection's coroutine and whatever is posted to its strand to cancel it;
  // `socket` is cleared on the strand when the coroutine ends, so a late cancel finds none.
  struct Session {
    Session(Strand s, tcp::socket* sock) : strand(std::move(s)), socket(sock) {}
    Strand strand;
    tcp::socket* socket;  // only touched on the strand
    // Waiting for the next request: written by the coroutine, read by the accept loop when it
    // needs room.
    std::atomic<bool> idle{true};
    std::atomic<bool> evicted{false};  // already asked to close to make room
    // When the operation in progress times out (steady clock, nanoseconds); 0: none. Set by
    // the connection's coroutine, read by the sweeper.
    std::atomic<int64_t> deadline{0};
    asio::ip::address source;  // the peer's address, for per-source limits
  };

  // Per-source limits: open connections and a token bucket of webhooks per peer address.
  // Off (every call admits) unless configured.
  class Sources {
   public:
    Sources(int max_connections, double rate, double burst)
        : max_connections_(max_connections),
          rate_(rate),
          burst_(std::max(1.0, burst > 0 ? burst : rate)) {}
    bool Admit(const asio::ip::address& source) {
      if (max_connections_ <= 0) return true;
      std::lock_guard<std::mutex> l(mu_);
      int& n = open_[KeyOf(source)];
      if (n >= max_connections_) return false;
      ++n;
      return true;
    }
    void Release(const asio::ip::address& source) {
      if (max_connections_ <= 0) return;
      std::lock_guard<std::mutex> l(mu_);
      auto it = open_.find(KeyOf(source));
      if (it != open_.end() && --it->second <= 0) open_.erase(it);
    }
    // Zero: take this webhook; otherwise how long until the source may send the next.
    absl::Duration TakeWebhook(const asio::ip::address& source) {
      if (rate_ <= 0) return absl::ZeroDuration();
      const Clock::time_point now = Clock::now();
      std::lock_guard<std::mutex> l(mu_);
      if (buckets_.size() >= kMaxTrackedSources) {
        // Full buckets carry nothing worth keeping: forget them; if that frees too little
        // (a spread of senders, each busy), forget all, so memory stays bounded and this scan
        // runs at most once per kMaxTrackedSources / 2 new senders.
        for (auto it = buckets_.begin(); it != buckets_.end();)
          it = Level(it->second, now) >= burst_ ? buckets_.erase(it) : std::next(it);
        if (buckets_.size() >= kMaxTrackedSources / 2) buckets_.clear();
      }
      auto [it, added] = buckets_.try_emplace(KeyOf(source), Bucket{burst_, now});
      double& tokens = it->second.tokens;
      tokens = Level(it->second, now);
      it->second.at = now;
      if (tokens >= 1) {
        tokens -= 1;
        return absl::ZeroDuration();
      }
      return absl::Seconds((1 - tokens) / rate_);
    }

   private:
    using Clock = std::chrono::steady_clock;
    static constexpr size_t kMaxTrackedSources = 100000;
    struct Bucket {
      double tokens;
      Clock::time_point at;
    };
    double Level(const Bucket& b, Clock::time_point now) const {
      return std::min(burst_, b.tokens + std::chrono::duration<double>(now - b.at).count() * rate_);
    }
    // One sender: an IPv4 address (IPv4-mapped IPv6 included), or an IPv6 /64, which one
    // host commonly holds whole.
    static asio::ip::address KeyOf(const asio::ip::address& a) {
      if (!a.is_v6()) return a;
      asio::ip::address_v6 v6 = a.to_v6();
      if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6);
      asio::ip::address_v6::bytes_type b = v6.to_bytes();
      std::fill(b.begin() + 8, b.end(), 0);
      return asio::ip::address_v6(b);
    }
    const int max_connections_;
    const double rate_, burst_;
    std::mutex mu_;
    std::map<asio::ip::address, int> open_;
    std::map<asio::ip::address, Bucket> buckets_;
  };

  // A connection's place in the sweeper's list and in the connection count, released when
  // its coroutine's frame goes, however it ends (an exception included): a session left in
  // the list would have the sweeper cancel a socket that no longer exists.
  class Registration {
   public:
    Registration(BeastServer& server, std::shared_ptr<Session> session)
        : server_(server), session_(std::move(session)) {
      std::lock_guard<std::mutex> l(server_.sessions_mu_);
      server_.sessions_.push_front(session_);
      it_ = server_.sessions_.begin();
      ++server_.connections_;
    }
    ~Registration() {
      session_->socket = nullptr;
      std::lock_guard<std::mutex> l(server_.sessions_mu_);
      server_.sessions_.erase(it_);
      --server_.connections_;
    }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    BeastServer& server_;
    std::shared_ptr<Session> session_;
    std::list<std::shared_ptr<Session>>::iterator it_;
  };

  // A request in flight, for Stop's grace period.
  class Active {
   public:
    explicit Active(std::atomic<int>& n) : n_(n) { ++n_; }
    ~Active() { --n_; }
    Active(const Active&) = delete;
    Active& operator=(const Active&) = delete;

   private:
    std::atomic<int>& n_;
  };

  static int64_t Now() { return std::chrono::steady_clock::now().time_since_epoch().count(); }
  static void SetDeadline(Session& s, std::chrono::steady_clock::duration d) {
    s.deadline.store(Now() + d.count(), std::memory_order_relaxed);
  }

  void CloseIfIdle(const std::shared_ptr<Session>& s) {
    asio::post(s->strand, [s] {
      if (s->idle && s->socket) {
        beast::error_code ec;
        s->socket->cancel(ec);
      }
    });
  }

  // Closes the oldest idle keep-alive connection to make room for a new one; false if every
  // connection is busy.
  bool EvictIdle() {
    std::lock_guard<std::mutex> l(sessions_mu_);
    for (auto it = sessions_.rbegin(); it != sessions_.rend(); ++it) {
      const std::shared_ptr<Session>& s = *it;
      if (s->idle.load() && !s->evicted.exchange(true)) {
        CloseIfIdle(s);
        return true;
      }
    }
    return false;
  }

  void Refuse(absl::string_view reason) {
    refused_.Add({{"reason", std::string(reason)}}).Increment();
  }

  // `adapter` is a configured id or empty (then "unknown"): never text from the request.
  void Reject(const std::string& adapter, absl::string_view reason) {
    rejected_
        .Add({{"adapter", adapter.empty() ? "unknown" : adapter}, {"reason", std::string(reason)}})
        .Increment();
    if (options_.health != nullptr && !adapter.empty())
      options_.health->WebhookRefused(adapter, reason, clock_.Now());
  }

  void Accepted(const PerAdapter& pa, const std::string& adapter) {
    pa.accepted->Increment();
    if (options_.health != nullptr) options_.health->WebhookAccepted(adapter, clock_.Now());
  }

  // At most one line per ten seconds for a condition that can repeat thousands of times.
  void LogRateLimited(std::atomic<int64_t>& last, const std::string& line) {
    const int64_t now = Now();
    int64_t prev = last.load();
    if (now - prev < std::chrono::nanoseconds(std::chrono::seconds(10)).count()) return;
    if (last.compare_exchange_strong(prev, now)) base::log::Warning("ingress", line);
  }

  // One timer for every connection's deadline instead of a timer wait per read and write
  // (beast::tcp_stream arms, cancels and completes one for each operation): a connection
  // whose read or write runs past its deadline is cancelled, at most kSweep late.
  asio::awaitable<void> Sweep() {
    asio::steady_timer timer(ioc_);
    int64_t sweeps = 0;
    while (!stopping_) {
      timer.expires_after(kSweep);
      beast::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (tls_ && ++sweeps % kTlsCheckEvery == 0) (void)ReloadTls(false);
      const int64_t now = Now();
      std::lock_guard<std::mutex> l(sessions_mu_);
      for (const std::shared_ptr<Session>& s : sessions_) {
        const int64_t d = s->deadline.load(std::memory_order_relaxed);
        if (d == 0 || d > now) continue;
        // Checked again on the strand: the connection may have moved on to its next
        // operation, with a deadline of its own, since.
        asio::post(s->strand, [s] {
          const int64_t due = s->deadline.load(std::memory_order_relaxed);
          beast::error_code ignored;
          if (s->socket && due != 0 && due <= Now()) s->socket->cancel(ignored);
        });
      }
    }
  }

  asio::awaitable<void> Accept() {
    asio::steady_timer backoff(ioc_);
    while (!stopping_) {
      beast::error_code ec;
      auto strand = asio::make_strand(ioc_);
      tcp::socket socket(strand);
      co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (stopping_ || ec == asio::error::operation_aborted) co_return;
        // Out of file descriptors (EMFILE, ENFILE) or kernel memory: the connection waits in
        // the backlog. Make room and wait a moment instead of retrying at once, which spins.
        Refuse("accept_error");
        LogRateLimited(accept_logged_,
                       absl::StrCat("cannot accept a connection: ", ec.message(),
                                    " (open connections: ", connections_.load(), ")"));
        EvictIdle();
        backoff.expires_after(kAcceptBackoff);
        co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      asio::ip::address source;
      if (auto ep = socket.remote_endpoint(ec); !ec) source = ep.address();
      if (!sources_.Admit(source)) {
        RefuseConnection(socket, "source_connection_limit",
                         "too many connections from one address; retry");
        continue;
      }
      if (connections_.load() >= max_connections_ && !EvictIdle()) {
        sources_.Release(source);
        RefuseConnection(socket);
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      asio::co_spawn(
          strand, Serve(std::move(socket), strand, tls_ ? tls_->Context() : nullptr, source),
          [](std::exception_ptr e) {
            if (!e) return;
            try {
              std::rethrow_exception(e);
            } catch (const std::exception& x) {
              base::log::Error("ingress", "connection ended by an error", {{"error", x.what()}});
            } catch (...) {
              base::log::Error("ingress", "connection ended by an unknown error");
            }
          });
    }
  }

  // Every connection is busy and there are max_connections of them: this one is told so and
  // closed, without waiting on it.
  void RefuseConnection(tcp::socket& socket, const char* reason = "connection_limit",
                        const char* message = "too many connections; retry") {
    Refuse(reason);
    LogRateLimited(limit_logged_,
                   absl::string_view(reason) == "connection_limit"
                       ? absl::StrCat(max_connections_,
                                      " connections are open and busy (http.max_connections); "
                                      "refusing new ones")
                       : absl::StrCat("refusing connections: ", reason));
    const std::string body =
        absl::StrCat("{\"error\":\"", message, "\",\"reason\":\"", reason, "\"}\r\n");
    const std::string busy = absl::StrCat(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n"
        "Content-Type: application/json\r\nContent-Length: ",
        body.size(), "\r\n\r\n", body);
    beast::error_code ec;
    socket.non_blocking(true, ec);
    // A TLS client could not read a plain answer: it is closed without one.
    if (!tls_) socket.write_some(asio::buffer(busy), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  // What to answer a request HTTP could not read, or nothing when there is no one to answer
  // (the client went away, or its time ran out).
  std::optional<Response> ParseRefusal(const beast::error_code& ec,
                                       const http::request_parser<http::string_body>& parser) {
    if (ec == http::error::body_limit) {
      std::string target(parser.get().target());
      const std::string adapter = ConfiguredAdapterOf(target);
      Reject(adapter, "too_large");
      return Refusal(http::status::payload_too_large,
                     absl::StrCat("delivery larger than ", options_.max_body_bytes, " bytes"),
                     "too_large", 11, false);
    }
    if (ec == http::error::header_limit) {
      Refuse("header_too_large");
      return Refusal(http::status::request_header_fields_too_large,
                     absl::StrCat("the request line and headers exceed ", kHeaderLimit, " bytes"),
                     "header_too_large", 11, false);
    }
    // Beast's parse errors; not end_of_stream, partial_message or need_more, which mean the
    // client stopped sending.
    if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message &&
        ec != http::error::need_more && ec != http::error::need_buffer) {
      Refuse("bad_request");
      return Refusal(http::status::bad_request,
                     absl::StrCat("malformed HTTP request: ", ec.message()), "bad_request", 11,
                     false);
    }
    return std::nullopt;
  }

  // A connection, in the clear or (with `tls`) after its TLS handshake.
  asio::awaitable<void> Serve(tcp::socket socket, Strand strand,
                              std::shared_ptr<asio::ssl::context> tls, asio::ip::address source) {
    auto shared = std::make_shared<Session>(strand, &socket);
    Session& session = *shared;
    session.source = source;
    Registration registration(*this, shared);
    struct Leave {
      Sources& sources;
      asio::ip::address source;
      ~Leave() { sources.Release(source); }
    } leave{sources_, source};
    beast::error_code ec;
    if (!tls) {
      co_await Exchange(socket, session);
      socket.shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
    asio::ssl::stream<tcp::socket&> stream(socket, *tls);
    SetDeadline(session, options_.request_timeout);
    co_await stream.async_handshake(asio::ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      // A client speaking plain HTTP to the TLS port, an old TLS version, a certificate it
      // does not trust, or a scan: counted, the reason at most every ten seconds.
      Refuse("tls_handshake");
      LogRateLimited(handshake_logged_, absl::StrCat("a TLS handshake failed: ", ec.message()));
      co_return;
    }
    co_await Exchange(stream, session);
    SetDeadline(session, std::chrono::seconds(2));
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  }

  // Requests and answers on one connection until it closes.
  template <typename Stream>
  asio::awaitable<void> Exchange(Stream& stream, Session& session) {
    beast::flat_buffer buffer;
    // Room for a whole typical delivery, so one recvmsg reads it: left to itself the buffer
    // stays at 512 bytes and a 1.3 KB webhook took three (strace).
    buffer.reserve(kReadBuffer);
    while (!stopping_) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options_.max_body_bytes);
      parser.header_limit(kHeaderLimit);
      beast::error_code ec;
      session.idle = true;
      SetDeadline(session, options_.idle_timeout);
      co_await http::async_read_header(stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
      session.idle = false;
      SetDeadline(session, options_.request_timeout);
      // A Content-Length over the limit fails already here (body_limit), and is answered
      // below; so is anything HTTP cannot parse.
      Active active(active_);
      if (!ec) {
        // The body is usually in the buffer already (one recvmsg reads a typical delivery):
        // parse it from there, and read from the socket only for what is still missing.
        while (!parser.is_done() && buffer.size() > 0) {
          const size_t n = parser.put(buffer.data(), ec);
          buffer.consume(n);
          if (ec || n == 0) break;
        }
        if (ec == http::error::need_more) ec = {};
        if (!ec && !parser.is_done()) {
          co_await http::async_read(stream, buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
        }
      }
      Response res;
      bool close = false;
      if (ec) {
        std::optional<Response> refusal = ParseRefusal(ec, parser);
        if (!refusal) break;
        res = std::move(*refusal);
        close = true;
      } else {
        Request req = parser.release();
        try {
          res = co_await Handle(req, session.source);
          close = !res.keep_alive();
        } catch (const std::exception& e) {
          // Nothing may leave a connection half-done: the request is answered and the
          // connection closed.
          base::log::Error("ingress", "request failed", {{"error", e.what()}});
          Refuse("internal");
          res = Refusal(http::status::internal_server_error, "internal error; retry", "internal",
                        req.version(), false);
          close = true;
        }
      }
      if (stopping_) res.keep_alive(false);
      SetDeadline(session, options_.request_timeout);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (!ec && close) co_await Linger(stream, session);
      if (ec || close || stopping_) break;
    }
  }

  // After refusing a request whose body is still arriving, read and drop what the client
  // keeps sending for a moment, so it sees our answer instead of a reset connection.
  // Under TLS the reading is through the TLS stream (the raw socket is left alone, so the
  // stream's own close follows), else a sender still uploading gets a broken connection.
  template <typename Stream>
  static asio::awaitable<void> Linger(Stream& stream, Session& session) {
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, tcp::socket>)
      stream.shutdown(tcp::socket::shutdown_send, ec);
    SetDeadline(session, std::chrono::seconds(2));
    std::array<char, 64 * 1024> sink;
    size_t total = 0;
    while (!ec && total < (64u << 20)) {
      total += co_await stream.async_read_some(asio::buffer(sink),
                                               asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  // The adapter id a webhook path names, if it is one configured here; else empty.
  std::string ConfiguredAdapterOf(absl::string_view target) const {
    absl::string_view path = target.substr(0, target.find('?'));
    if (!absl::ConsumePrefix(&path, kWebhookPrefix)) return "";
    std::string id(path);
    return Configured(*targets_(), id) ? id : "";
  }

  // Headers lower-cased; INVALID_ARGUMENT naming a header given twice that may not be.
  static absl::StatusOr<std::map<std::string, std::string>> HeadersOf(const Request& req) {
    std::map<std::string, std::string> out;
    for (const auto& f : req) {
      std::string name = Lower(f.name_string());
      auto [it, added] = out.emplace(std::move(name), std::string(f.value()));
      if (!added && !MayRepeat(it->first))
        return absl::InvalidArgumentError(
            absl::StrCat("header ", it->first, " is given more than once"));
    }
    return out;
  }

  // Takes the request's body (the stored delivery keeps it, without a copy).
  asio::awaitable<Response> Handle(Request& req, const asio::ip::address& source) {
    const auto started = std::chrono::steady_clock::now();
    const unsigned v = req.version();
    const bool ka = req.keep_alive();
    if (v != 10 && v != 11) {
      Refuse("version");
      co_return Refusal(http::status::http_version_not_supported,
                        "only HTTP/1.0 and HTTP/1.1 are served here", "version", 11, false);
    }
    if (req.target().size() > kMaxTarget) {
      Refuse("uri_too_long");
      co_return Refusal(http::status::uri_too_long,
                        absl::StrCat("the request target is longer than ", kMaxTarget, " bytes"),
                        "uri_too_long", v, false);
    }
    if (size_t n = static_cast<size_t>(std::distance(req.begin(), req.end())); n > kMaxHeaders) {
      Refuse("too_many_headers");
      co_return Refusal(http::status::request_header_fields_too_large,
                        absl::StrCat("more than ", kMaxHeaders, " header fields"),
                        "too_many_headers", v, false);
    }
    const absl::string_view target(req.target().data(), req.target().size());
    if (!base::IsValidUtf8(target)) {
      Refuse("bad_request");
      co_return Refusal(http::status::bad_request, "the request target is not valid UTF-8",
                        "bad_request", v, false);
    }
    const absl::string_view path = target.substr(0, target.find('?'));
    if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
      if (req.method() != http::verb::get && req.method() != http::verb::head) {
        Refuse("method");
        Response r = Refusal(http::status::method_not_allowed, "use GET", "method", v, ka);
        r.set(http::field::allow, "GET, HEAD");
        co_return r;
      }
      Response res = Observe(path, v, ka);
      if (req.method() == http::verb::head) {
        const size_t n = res.body().size();
        res.body().clear();
        res.content_length(n);
      }
      co_return res;
    }
    for (const Route& route : options_.routes)
      if (absl::StartsWith(path, route.prefix)) co_return co_await Routed(route, req, path, target);
    absl::string_view id = path;
    if (!absl::ConsumePrefix(&id, kWebhookPrefix) || id.empty() ||
        id.find('/') != absl::string_view::npos) {
      Refuse("not_found");
      co_return Refusal(http::status::not_found, "no such path", "not_found", v, ka);
    }
    const std::string adapter(id);
    // The adapters as configured now; this request keeps them until it is answered.
    const std::shared_ptr<const WebhookTargets> targets = targets_();
    if (!Configured(*targets, adapter)) {
      Reject("", "unknown_adapter");
      co_return Refusal(http::status::not_found,
                        "no helpdesk or tracker adapter is configured at this path",
                        "unknown_adapter", v, ka);
    }
    if (req.method() != http::verb::post) {
      Reject(adapter, "method");
      Response r =
          Refusal(http::status::method_not_allowed, "webhooks are POSTed", "method", v, ka);
      r.set(http::field::allow, "POST");
      co_return r;
    }
    if (absl::Duration wait = sources_.TakeWebhook(source); wait > absl::ZeroDuration()) {
      Reject(adapter, "rate_limited");
      Response r = Refusal(http::status::too_many_requests,
                           "too many webhooks from this address; retry after the given seconds",
                           "rate_limited", v, ka);
      r.set(http::field::retry_after,
            std::to_string(
                std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(wait, absl::Seconds(1))))));
      co_return r;
    }
    auto headers = HeadersOf(req);
    if (!headers.ok()) {
      Reject(adapter, "malformed");
      co_return Refusal(http::status::bad_request, headers.status().message(), "malformed", v, ka);
    }
    auto it = targets->helpdesks.find(adapter);
    if (it == targets->helpdesks.end())
      co_return TrackerWebhook(targets->trackers, adapter, req, std::move(*headers));

    spi::InboundDelivery in;
    in.received_at = clock_.Now();
    in.body = req.body();
    in.headers = std::move(*headers);
    // Only the reconciler marks a delivery as listed from the helpdesk's API.
    in.headers.erase(spi::kListedHeader);
    auto accepted = it->second->Accept(in);
    if (!accepted.ok()) {
      const bool auth =
          absl::IsUnauthenticated(accepted.status()) || absl::IsPermissionDenied(accepted.status());
      const char* reason = auth ? "bad_signature" : "malformed";
      Reject(adapter, reason);
      co_return Refusal(auth ? http::status::unauthorized : http::status::bad_request,
                        accepted.status().message(), reason, v, ka);
    }
    // The key is stored and echoed: it is text, decided here.
    if (!base::IsValidUtf8(accepted->delivery_key) ||
        accepted->delivery_key.size() > kMaxDeliveryKey) {
      Reject(adapter, "malformed");
      co_return Refusal(
          http::status::bad_request,
          absl::StrCat("the delivery id must be UTF-8 text of at most ", kMaxDeliveryKey, " bytes"),
          "malformed", v, ka);
    }

    spi::StoredDelivery d;
    d.adapter_id = adapter;
    d.delivery_key = std::move(accepted->delivery_key);
    d.replay_key = std::move(accepted->replay_key);
    d.received_at = in.received_at;
    d.body = std::move(req.body());  // `in` is done with
    while (!in.headers.empty()) {
      auto node = in.headers.extract(in.headers.begin());
      if (!IsSecretHeader(node.key())) d.headers.insert(std::move(node));
    }
    std::string key = d.delivery_key;
    absl::StatusOr<spi::AppendOutcome> r =
        co_await AsyncAppend(store_, std::move(d), asio::use_awaitable);
    if (!r.ok()) {
      Reject(adapter, "store_unavailable");
      Response res = Refusal(http::status::service_unavailable,
                             "could not store the delivery; retry", "store_unavailable", v, ka);
      res.set(http::field::retry_after, "1");
      base::log::Error("ingress", "could not store a delivery",
                       {{"adapter", adapter}, {"error", r.status().ToString()}});
      co_return res;
    }
    const PerAdapter& pa = PerAdapterOf(adapter);
    pa.ack->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (*r == spi::AppendOutcome::kDuplicate) {
      pa.duplicate->Increment();
      co_return Json(http::status::ok, {{"status", "duplicate"}, {"delivery", key}}, v, ka);
    }
    Accepted(pa, adapter);
    base::log::Debug("ingress", "delivery stored", {{"adapter", adapter}, {"delivery", key}});
    co_return Json(http::status::accepted, {{"status", "accepted"}, {"delivery", key}}, v, ka);
  }

  // A route's request, handled on the route threads; the connection's coroutine waits.
  asio::awaitable<Response> Routed(const Route& route, Request& req, absl::string_view path,
                                   absl::string_view target) {
    const unsigned v = req.version();
    const bool ka = req.keep_alive();
    auto headers = HeadersOf(req);
    if (!headers.ok()) {
      Refuse("bad_request");
      co_return Refusal(http::status::bad_request, headers.status().message(), "bad_request", v,
                        ka);
    }
    auto call = std::make_shared<HttpCall>();
    call->method = std::string(req.method_string());
    call->path = std::string(path);
    if (size_t q = target.find('?'); q != absl::string_view::npos)
      call->query = std::string(target.substr(q + 1));
    call->headers = std::move(*headers);
    call->body = std::move(req.body());
    HttpReply reply = co_await AsyncRoute(route_ioc_, route, std::move(call), asio::use_awaitable);
    Response res{static_cast<http::status>(reply.status), v == 10 ? 10u : 11u};
    res.set(http::field::server, "debriefd");
    for (auto& [name, value] : reply.headers) res.set(name, value);
    res.keep_alive(ka);
    if (req.method() == http::verb::head) {
      res.content_length(reply.body.size());
    } else {
      res.body() = std::move(reply.body);
      res.prepare_payload();
    }
    co_return res;
  }

  // GET /healthz, /readyz, /metrics.
  Response Observe(absl::string_view path, unsigned v, bool ka) {
    if (path == "/healthz") return Json(http::status::ok, {{"status", "ok"}}, v, ka);
    if (path == "/readyz") {
      if (!ready_())
        return Json(http::status::service_unavailable, {{"status", "starting"}}, v, ka);
      if (options_.store_reachable && !options_.store_reachable())
        return Json(http::status::service_unavailable, {{"status", "store_unavailable"}}, v, ka);
      return Json(http::status::ok, {{"status", "ready"}}, v, ka);
    }
    Response res{http::status::ok, v};
    res.set(http::field::content_type, "text/plain; version=0.0.4");
    res.set(http::field::server, "debriefd");
    res.keep_alive(ka);
    res.body() = metrics_.Render();
    res.prepare_payload();
    return res;
  }

  // A tracker's webhook: the adapter verifies it and names the issues; those that are tasks
  // Debrief follows are read back at once (the loop). The answer names each issue and whether
  // it is followed, so an admin sees from the vendor's delivery log that the wiring works.
  // Every vendor documents 200 as success (Linear counts anything else as a failure).
  Response TrackerWebhook(const TrackerWebhooks& trackers, const std::string& id,
                          const Request& req, std::map<std::string, std::string> headers) {
    const unsigned v = req.version();
    const bool ka = req.keep_alive();
    spi::InboundDelivery in;
    in.received_at = clock_.Now();
    in.body = req.body();
    in.headers = std::move(headers);
    auto events = trackers.trackers.at(id)->AcceptWebhook(in);
    if (!events.ok()) {
      const absl::Status& s = events.status();
      const bool auth = absl::IsUnauthenticated(s) || absl::IsPermissionDenied(s);
      const char* reason = auth                       ? "bad_signature"
                           : absl::IsUnimplemented(s) ? "no_webhooks"
                                                      : "malformed";
      Reject(id, reason);
      return Refusal(auth ? http::status::unauthorized : http::status::bad_request, s.message(),
                     reason, v, ka);
    }
    const PerAdapter& pa = PerAdapterOf(id);
    Accepted(pa, id);
    if (events->external_ids.empty()) {
      base::log::Debug("ingress", "tracker webhook ignored",
                       {{"adapter", id}, {"reason", events->ignored_reason}});
      return Json(http::status::ok, {{"status", "ignored"}, {"reason", events->ignored_reason}}, v,
                  ka);
    }
    nlohmann::json named = nlohmann::json::array();
    std::vector<std::string> followed;
    absl::Status looked = store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
      for (const std::string& external_id : events->external_ids) {
        auto task = tx.TaskByExternalId(id, external_id);
        if (!task.ok()) return task.status();
        nlohmann::json one = {{"external_id", external_id}, {"followed", task->has_value()}};
        if (*task) {
          one["task_id"] = (*task)->id();
          followed.push_back(external_id);
        }
        named.push_back(std::move(one));
      }
      return absl::OkStatus();
    });
    if (!looked.ok()) {
      // The status poll is the safety net: read them all back anyway.
      base::log::Warning("ingress", "tracker webhook: could not look up its tasks",
                         {{"adapter", id}, {"error", looked.ToString()}});
      followed = events->external_ids;
      named = nlohmann::json::array();
      for (const std::string& external_id : events->external_ids)
        named.push_back({{"external_id", external_id}});
    }
    if (base::log::Enabled(base::log::Level::kDebug))
      base::log::Debug("ingress", "tracker webhook", {{"adapter", id}, {"tasks", JsonText(named)}});
    if (!followed.empty() && trackers.on_events) trackers.on_events(id, followed);
    return Json(http::status::ok, {{"status", "accepted"}, {"tasks", std::move(named)}}, v, ka);
  }

  HttpOptions options_;
  spi::Store& store_;
  TargetSource targets_;
  std::mutex per_adapter_mu_;
  std::map<std::string, PerAdapter> per_adapter_;  // every id configured so far
  const spi::Clock& clock_;
  std::function<bool()> ready_;
  const int max_connections_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Family<prometheus::Counter>& refused_;
  prometheus::Family<prometheus::Counter>& accepted_;
  prometheus::Family<prometheus::Counter>& duplicate_;
  prometheus::Family<prometheus::Histogram>& ack_;
  metrics::Metrics& metrics_;
  Sources sources_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<int> active_{0};       // requests in flight
  std::atomic<int> connections_{0};  // open connections
  std::atomic<int64_t> accept_logged_{0};
  std::atomic<int64_t> limit_logged_{0};
  std::atomic<int64_t> handshake_logged_{0};
  std::unique_ptr<TlsFiles> tls_;  // set: HTTPS
  std::mutex sessions_mu_;
  std::list<std::shared_ptr<Session>> sessions_;  // newest first
  // Last, so destroyed first: coroutines still pending when it goes release their
  // Registration and Active into the members above.
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  // Routes' handlers run here, apart from the webhooks' threads.
  asio::io_context route_ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> route_work_;
  std::vector<std::thread> threads_;
};

}  // namespace

absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", listen, "\" must be host:port"));
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port;
  if (!absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535)
    return absl::InvalidArgumentError(absl::StrCat("listen address \"", listen, "\": bad port"));
  return std::make_pair(host, port);
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpOptions& options, spi::Store& store,
    std::map<std::string, spi::HelpdeskAdapter*> helpdesks, TrackerWebhooks trackers,
    const spi::Clock& clock, metrics::Metrics& metrics, std::function<bool()> ready) {
  auto fixed = std::make_shared<const WebhookTargets>(
      WebhookTargets{std::move(helpdesks), std::move(trackers)});
  return Start(
      options, store, [fixed] { return fixed; }, clock, metrics, std::move(ready));
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpOptions& options, spi::Store& store, TargetSource targets, const spi::Clock& clock,
    metrics::Metrics& metrics, std::function<bool()> ready) {
  auto s = std::make_unique<BeastServer>(options, store, std::move(targets), clock, metrics,
                                         std::move(ready));
  if (absl::Status s2 = s->Listen(); !s2.ok()) return s2;
  return s;
}

}  // namespace debrief::ingress
