// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include "ingress/http_server.h"

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <iostream>
#include <list>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/thread_name.h"

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
constexpr auto kSweep = std::chrono::milliseconds(250);

// Header names that carry credentials: verified, then never stored.
bool IsSecretHeader(absl::string_view name) {
  return name == "authorization" || name == "proxy-authorization" || name == "cookie" ||
         absl::StrContains(name, "signature") || absl::StrContains(name, "secret") ||
         absl::StrContains(name, "token") || absl::StrContains(name, "api-key");
}

Response Json(http::status status, const nlohmann::json& body, unsigned version, bool keep_alive) {
  Response res{status, version};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::server, "debriefd");
  res.keep_alive(keep_alive);
  res.body() = body.dump();
  res.prepare_payload();
  return res;
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

class BeastServer final : public HttpServer {
 public:
  BeastServer(const HttpOptions& options, spi::Store& store,
              std::map<std::string, spi::HelpdeskAdapter*> helpdesks, TrackerWebhooks trackers,
              const spi::Clock& clock, server::Metrics& metrics, std::function<bool()> ready)
      : options_(options),
        store_(store),
        helpdesks_(std::move(helpdesks)),
        trackers_(std::move(trackers)),
        clock_(clock),
        metrics_(metrics),
        ready_(std::move(ready)),
        ioc_(options.threads),
        acceptor_(ioc_) {
    std::vector<std::string> ids;
    for (const auto& [id, a] : helpdesks_) ids.push_back(id);
    for (const auto& [id, a] : trackers_.trackers) ids.push_back(id);
    for (const std::string& id : ids) {
      PerAdapter& p = per_adapter_[id];
      std::string l = absl::StrCat("adapter=\"", id, "\"");
      p.accepted = &metrics_.Get("debrief_webhook_accepted_total", l);
      p.duplicate = &metrics_.Get("debrief_webhook_duplicate_total", l);
    }
  }

  ~BeastServer() override { Stop(absl::ZeroDuration()); }

  absl::Status Listen() {
    auto hp = SplitHostPort(options_.listen);
    if (!hp.ok()) return hp.status();
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
        NameThisThread(absl::StrCat("http-", i));
        ioc_.run();
      });
    return absl::OkStatus();
  }

  int port() const override { return port_; }

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
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  struct PerAdapter {
    server::Counter* accepted = nullptr;
    server::Counter* duplicate = nullptr;
  };
  using Strand = asio::strand<asio::io_context::executor_type>;
  // Shared by the connection's coroutine and whatever is posted to its strand to cancel it;
  // `socket` is cleared on the strand when the coroutine ends, so a late cancel finds none.
  struct Session {
    Session(Strand s, tcp::socket* sock) : strand(std::move(s)), socket(sock) {}
    Strand strand;
    tcp::socket* socket;  // only touched on the strand
    bool idle = true;     // waiting for the next request; only touched on the strand
    // When the operation in progress times out (steady clock, nanoseconds); 0: none. Set by
    // the connection's coroutine, read by the sweeper.
    std::atomic<int64_t> deadline{0};
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

  // One timer for every connection's deadline instead of a timer wait per read and write
  // (beast::tcp_stream arms, cancels and completes one for each operation): a connection
  // whose read or write runs past its deadline is cancelled, at most kSweep late.
  asio::awaitable<void> Sweep() {
    asio::steady_timer timer(ioc_);
    while (!stopping_) {
      timer.expires_after(kSweep);
      beast::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
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
    while (!stopping_) {
      beast::error_code ec;
      auto strand = asio::make_strand(ioc_);
      tcp::socket socket(strand);
      co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (stopping_ || ec == asio::error::operation_aborted) co_return;
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      asio::co_spawn(strand, Serve(std::move(socket), strand), asio::detached);
    }
  }

  asio::awaitable<void> Serve(tcp::socket stream, Strand strand) {
    auto shared = std::make_shared<Session>(strand, &stream);
    Session& session = *shared;
    std::list<std::shared_ptr<Session>>::iterator self;
    {
      std::lock_guard<std::mutex> l(sessions_mu_);
      sessions_.push_front(shared);
      self = sessions_.begin();
    }
    beast::flat_buffer buffer;
    // Room for a whole typical delivery, so one recvmsg reads it: left to itself the buffer
    // stays at 512 bytes and a 1.3 KB webhook took three (strace).
    buffer.reserve(kReadBuffer);
    while (!stopping_) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options_.max_body_bytes);
      parser.header_limit(16 * 1024);
      beast::error_code ec;
      session.idle = true;
      SetDeadline(session, options_.idle_timeout);
      co_await http::async_read_header(stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
      session.idle = false;
      SetDeadline(session, options_.request_timeout);
      // A Content-Length over the limit fails already here, with body_limit.
      if (ec && ec != http::error::body_limit) break;
      ++active_;
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
      if (ec == http::error::body_limit) {
        std::string target(parser.get().target());
        Reject(AdapterOf(target), "too_large");
        res = Json(
            http::status::payload_too_large,
            {{"error", absl::StrCat("delivery larger than ", options_.max_body_bytes, " bytes")},
             {"reason", "too_large"}},
            parser.get().version(), false);
        close = true;
      } else if (ec) {
        --active_;
        break;
      } else {
        Request req = parser.release();
        res = co_await Handle(req);
        close = !res.keep_alive();
      }
      if (stopping_) res.keep_alive(false);
      SetDeadline(session, options_.request_timeout);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      --active_;
      if (!ec && close) co_await Linger(session);
      if (ec || close || stopping_) break;
    }
    beast::error_code ignored;
    stream.shutdown(tcp::socket::shutdown_send, ignored);
    session.socket = nullptr;
    std::lock_guard<std::mutex> l(sessions_mu_);
    sessions_.erase(self);
  }

  // After refusing a request whose body is still arriving, read and drop what the client
  // keeps sending for a moment, so it sees our answer instead of a reset connection.
  static asio::awaitable<void> Linger(Session& session) {
    tcp::socket& stream = *session.socket;
    beast::error_code ec;
    stream.shutdown(tcp::socket::shutdown_send, ec);
    SetDeadline(session, std::chrono::seconds(2));
    std::array<char, 64 * 1024> sink;
    size_t total = 0;
    while (!ec && total < (64u << 20)) {
      total += co_await stream.async_read_some(asio::buffer(sink),
                                               asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  static std::string AdapterOf(absl::string_view target) {
    if (!absl::StartsWith(target, kWebhookPrefix)) return "";
    absl::string_view rest = target.substr(kWebhookPrefix.size());
    return std::string(rest.substr(0, rest.find_first_of("?/")));
  }

  void Reject(const std::string& adapter, const std::string& reason) {
    metrics_
        .Get("debrief_webhook_rejected_total",
             absl::StrCat("adapter=\"", adapter.empty() ? "none" : adapter, "\",reason=\"", reason,
                          "\""))
        .Inc();
  }

  // Takes the request's body (the stored delivery keeps it, without a copy).
  asio::awaitable<Response> Handle(Request& req) {
    const absl::string_view target(req.target().data(), req.target().size());
    const unsigned v = req.version();
    const bool ka = req.keep_alive();
    if (target == "/healthz") co_return Json(http::status::ok, {{"status", "ok"}}, v, ka);
    if (target == "/readyz") {
      if (ready_()) co_return Json(http::status::ok, {{"status", "ready"}}, v, ka);
      co_return Json(http::status::service_unavailable, {{"status", "starting"}}, v, ka);
    }
    if (target == "/metrics") {
      Response res{http::status::ok, v};
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.keep_alive(ka);
      res.body() = metrics_.Render();
      res.prepare_payload();
      co_return res;
    }
    if (!absl::StartsWith(target, kWebhookPrefix))
      co_return Json(http::status::not_found, {{"error", "no such path"}, {"reason", "not_found"}},
                     v, ka);
    const std::string id = AdapterOf(target);
    auto it = helpdesks_.find(id);
    if (it == helpdesks_.end() && trackers_.trackers.contains(id) &&
        req.method() == http::verb::post)
      co_return TrackerWebhook(id, req);
    if (it == helpdesks_.end()) {
      Reject("", "unknown_adapter");
      co_return Json(http::status::not_found,
                     {{"error", absl::StrCat("no helpdesk adapter \"", id, "\" is configured")},
                      {"reason", "unknown_adapter"}},
                     v, ka);
    }
    if (req.method() != http::verb::post) {
      Reject(id, "method");
      Response r = Json(http::status::method_not_allowed,
                        {{"error", "webhooks are POSTed"}, {"reason", "method"}}, v, ka);
      r.set(http::field::allow, "POST");
      co_return r;
    }

    spi::InboundDelivery in;
    in.received_at = clock_.Now();
    in.body = req.body();
    for (const auto& f : req) {
      std::string name =
          absl::AsciiStrToLower(absl::string_view(f.name_string().data(), f.name_string().size()));
      // Only the reconciler marks a delivery as listed from the helpdesk's API.
      if (name == spi::kListedHeader) continue;
      in.headers[name] = std::string(f.value());
    }
    auto accepted = it->second->Accept(in);
    if (!accepted.ok()) {
      const bool auth =
          absl::IsUnauthenticated(accepted.status()) || absl::IsPermissionDenied(accepted.status());
      const char* reason = auth ? "bad_signature" : "malformed";
      Reject(id, reason);
      co_return Json(auth ? http::status::unauthorized : http::status::bad_request,
                     {{"error", std::string(accepted.status().message())}, {"reason", reason}}, v,
                     ka);
    }

    spi::StoredDelivery d;
    d.adapter_id = id;
    d.delivery_key = std::move(accepted->delivery_key);
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
      Reject(id, "store_unavailable");
      Response res =
          Json(http::status::service_unavailable,
               {{"error", "could not store the delivery; retry"}, {"reason", "store_unavailable"}},
               v, ka);
      res.set(http::field::retry_after, "1");
      std::cerr << "ingress: " << r.status() << "\n";
      co_return res;
    }
    const PerAdapter& pa = per_adapter_.at(id);
    if (*r == spi::AppendOutcome::kDuplicate) {
      pa.duplicate->Inc();
      co_return Json(http::status::ok, {{"status", "duplicate"}, {"delivery", key}}, v, ka);
    }
    pa.accepted->Inc();
    co_return Json(http::status::accepted, {{"status", "accepted"}, {"delivery", key}}, v, ka);
  }

  // A tracker's webhook: the adapter verifies it and names the tasks; the loop reads them back.
  Response TrackerWebhook(const std::string& id, const Request& req) {
    const unsigned v = req.version();
    const bool ka = req.keep_alive();
    spi::InboundDelivery in;
    in.received_at = clock_.Now();
    in.body = req.body();
    for (const auto& f : req)
      in.headers[absl::AsciiStrToLower(absl::string_view(
          f.name_string().data(), f.name_string().size()))] = std::string(f.value());
    auto events = trackers_.trackers.at(id)->AcceptWebhook(in);
    if (!events.ok()) {
      const absl::Status& s = events.status();
      const bool auth = absl::IsUnauthenticated(s) || absl::IsPermissionDenied(s);
      const char* reason = auth                       ? "bad_signature"
                           : absl::IsUnimplemented(s) ? "no_webhooks"
                                                      : "malformed";
      Reject(id, reason);
      return Json(auth ? http::status::unauthorized : http::status::bad_request,
                  {{"error", std::string(s.message())}, {"reason", reason}}, v, ka);
    }
    const PerAdapter& pa = per_adapter_.at(id);
    pa.accepted->Inc();
    if (events->external_ids.empty())
      return Json(http::status::ok, {{"status", "ignored"}, {"reason", events->ignored_reason}}, v,
                  ka);
    if (trackers_.on_events) trackers_.on_events(id, events->external_ids);
    return Json(http::status::accepted,
                {{"status", "accepted"}, {"tasks", events->external_ids.size()}}, v, ka);
  }

  HttpOptions options_;
  spi::Store& store_;
  std::map<std::string, spi::HelpdeskAdapter*> helpdesks_;
  TrackerWebhooks trackers_;
  std::map<std::string, PerAdapter> per_adapter_;
  const spi::Clock& clock_;
  server::Metrics& metrics_;
  std::function<bool()> ready_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<int> active_{0};
  std::mutex sessions_mu_;
  std::list<std::shared_ptr<Session>> sessions_;
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
    const spi::Clock& clock, server::Metrics& metrics, std::function<bool()> ready) {
  auto s = std::make_unique<BeastServer>(options, store, std::move(helpdesks), std::move(trackers),
                                         clock, metrics, std::move(ready));
  if (absl::Status st = s->Listen(); !st.ok()) return st;
  return s;
}

}  // namespace debrief::ingress
