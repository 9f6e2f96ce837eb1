#pragma once

// Runs the real debriefd binary as a child process on port 0 with a temporary SQLite file,
// and talks to it over HTTP (libcurl) and gRPC like a helpdesk and an admin would.
//
// With DEBRIEF_TEST_TLS=1 in the environment the whole suite runs over TLS: IntegrationConfig
// gives both listeners a certificate for 127.0.0.1 and localhost signed by a test CA (made once
// per test process), and every client here (libcurl, gRPC, debriefctl, the raw connections)
// trusts that CA and speaks TLS.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "cli/bearer_channel.h"
#include "common/signature.h"
#include "debrief/spi/http_client.h"
#include "debrief/v1/services.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "mocks/scripted_http.h"  // Slurp
#include "mocks/spi_mocks.h"
#include "outbound/curl_http_client.h"

namespace debrief::testing {

inline constexpr char kWebhookSecret[] = "integration-secret";

// Runs a command, returns its exit status and output.
inline int RunCommand(const std::string& cmd, std::string* out) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  out->clear();
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  return pclose(p);
}

// Runs a shell command in `dir`; fails the test with its output when it fails.
inline void Sh(const TempDir& dir, const std::string& cmd) {
  std::string out;
  const int rc = RunCommand(absl::StrCat("cd ", dir.path(), " && (", cmd, ") 2>&1"), &out);
  ASSERT_EQ(rc, 0) << cmd << "\n" << out;
}

// Certificates made with the `openssl` command line, in `dir`: a CA (ca.pem, ca.key); a server
// certificate for 127.0.0.1 and localhost signed by it (serial `serial`, into
// server.pem/server.key through a rename, as a renewal tool would); client certificates
// (CN.pem, CN.key) for mutual TLS.
inline void MakeCa(const TempDir& dir) {
  Sh(dir,
     "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key "
     "-out ca.pem -days 2 -subj '/CN=Debrief Test CA' && "
     "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n' > "
     "server.ext && printf 'extendedKeyUsage=clientAuth\\n' > client.ext");
}
inline void MakeServerCert(const TempDir& dir, int serial) {
  Sh(dir,
     absl::StrCat("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
                  "new.key -out new.csr -subj /CN=localhost && openssl x509 -req -in new.csr -CA "
                  "ca.pem -CAkey ca.key -set_serial ",
                  serial, " -days 2 -extfile server.ext -out new.pem && mv new.key server.key && ",
                  "mv new.pem server.pem"));
}
inline void MakeClientCert(const TempDir& dir, const std::string& cn) {
  Sh(dir,
     absl::StrCat("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                  "-keyout ",
                  cn, ".key -out ", cn, ".csr -subj /CN=", cn, " && openssl x509 -req -in ", cn,
                  ".csr -CA ca.pem -CAkey ca.key "
                  "-set_serial 7 -days 2 -extfile client.ext -out ",
                  cn, ".pem"));
}

// Whether this run of the suite speaks TLS to debriefd (DEBRIEF_TEST_TLS=1).
inline bool TlsOn() {
  static const bool on = [] {
    const char* v = getenv("DEBRIEF_TEST_TLS");
    return v != nullptr && std::string(v) == "1";
  }();
  return on;
}

// The suite's CA and the certificate both listeners serve over TLS, made on first use and
// removed when the test process ends.
struct TestPki {
  std::string ca_file, cert_file, key_file;
};
inline const TestPki& Pki() {
  static TempDir dir;
  static const TestPki pki = [] {
    MakeCa(dir);
    MakeServerCert(dir, 1);
    return TestPki{dir.file("ca.pem"), dir.file("server.pem"), dir.file("server.key")};
  }();
  return pki;
}

// The `tls` setting of both listeners under TLS (", tls: {...}", to close a listener's flow
// mapping), or nothing.
inline std::string ListenerTls() {
  if (!TlsOn()) return "";
  return absl::StrCat(", tls: {cert_file: \"", Pki().cert_file, "\", key_file: \"", Pki().key_file,
                      "\"}");
}

// debriefctl's flags to reach debriefd under TLS (trusting the test CA), or nothing.
inline std::string CtlTlsFlags() { return TlsOn() ? absl::StrCat(" --ca ", Pki().ca_file) : ""; }

// What gRPC clients connect with: in the clear, or TLS trusting the test CA (the certificate
// names 127.0.0.1, the address they dial).
inline std::shared_ptr<grpc::ChannelCredentials> GrpcCredentials() {
  if (!TlsOn()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = Slurp(Pki().ca_file);
  return grpc::SslCredentials(o);
}

// An HTTP client for debriefd's HTTP listener (trusting the test CA under TLS).
inline std::unique_ptr<spi::HttpClient> NewTestHttpClient() {
  return outbound::NewCurlHttpClient({.ca_file = TlsOn() ? Pki().ca_file : ""});
}

// The listeners are `http: {listen: "127.0.0.1:0", threads: 2...}` and
// `grpc: {listen: "127.0.0.1:0"...}`: a test may add settings after those prefixes.
inline std::string IntegrationConfig(const std::string& dir, int open_after = 3,
                                     const std::string& extra = "") {
  return absl::StrCat(extra, R"(
data_dir: )",
                      dir, R"(
http: {listen: "127.0.0.1:0", threads: 2)",
                      ListenerTls(), R"(}
grpc: {listen: "127.0.0.1:0")",
                      ListenerTls(), R"(}
store: {sqlite: {path: debrief.db}}
helpdesks:
  - id: support
    type: generic
    settings:
      secret: {env: DEBRIEF_IT_SECRET}
      timestamp_header: X-Debrief-Timestamp
      delivery_id_header: X-Debrief-Delivery
trackers:
  - {id: tasks, type: builtin, settings: {base_url: "http://127.0.0.1/tasks/"}}
taxonomy: {file: )",
                      DEBRIEF_SOURCE_DIR, R"(/deploy/taxonomy/default.yaml}
link_policy: {open_after_tickets: )",
                      open_after, R"(, window: 7d}
pipeline: {poll_interval: 20ms}
outbox: {initial_backoff: 100ms, max_backoff: 1s}
# Every link reaches the tracker at once (the product debounces; these tests compare links).
loop: {impact_interval: 0s, impact_min_growth: 0.001, impact_min_new_tickets: 1, status_poll_interval: 100ms}
)");
}

// A whole debrief.yaml, for tests that configure their own adapters (tests/e2e).
struct RawConfig {
  std::string yaml;
};

// IntegrationConfig's debrief.yaml with the state in the PostgreSQL database `conninfo` names
// instead of SQLite.
inline std::string OnPostgres(const std::string& yaml, const std::string& conninfo) {
  const std::string sqlite = "store: {sqlite: {path: debrief.db}}";
  std::string out = yaml;
  const size_t at = out.find(sqlite);
  if (at == std::string::npos)
    ADD_FAILURE() << "no store line to replace";
  else
    out.replace(at, sqlite.size(),
                absl::StrCat("store: {postgres: {conninfo: \"", conninfo, "\"}}"));
  return out;
}

class Debriefd {
 public:
  explicit Debriefd(std::string dir, int open_after = 3, const std::string& extra_config = "")
      : dir_(std::move(dir)) {
    std::ofstream(dir_ + "/debrief.yaml") << IntegrationConfig(dir_, open_after, extra_config);
  }
  Debriefd(std::string dir, const RawConfig& config) : dir_(std::move(dir)) {
    std::ofstream(dir_ + "/debrief.yaml") << config.yaml;
  }
  // Starts debriefd with at most this many open files (RLIMIT_NOFILE), as `ulimit -n` would.
  void set_open_files_limit(int n) { open_files_limit_ = n; }
  // Sends a signal to the running debriefd (SIGHUP reloads the classifier).
  void Signal(int sig) { kill(pid_, sig); }
  pid_t pid() const { return pid_; }
  ~Debriefd() {
    if (pid_ > 0) Kill9();
  }

  // Starts debriefd and waits for "debriefd ready"; returns false with the output if not.
  bool Start(std::string* output = nullptr) {
    grpc_port_ = http_port_ = 0;
    https_ = false;
    int fds[2];
    if (pipe(fds) != 0) return false;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      dup2(fds[1], STDERR_FILENO);
      close(fds[0]);
      setenv("DEBRIEF_IT_SECRET", kWebhookSecret, 1);
      std::string cfg = dir_ + "/debrief.yaml";
      if (open_files_limit_ > 0) {
        rlimit rl{static_cast<rlim_t>(open_files_limit_), static_cast<rlim_t>(open_files_limit_)};
        setrlimit(RLIMIT_NOFILE, &rl);
      }
      // DEBRIEFD_UNDER_TEST runs the tests against another build (an older one, to show that a
      // regression test fails there).
      const char* binary =
          getenv("DEBRIEFD_UNDER_TEST") ? getenv("DEBRIEFD_UNDER_TEST") : DEBRIEFD_PATH;
      execl(binary, "debriefd", "--config", cfg.c_str(), nullptr);
      _exit(127);
    }
    close(fds[1]);
    out_fd_ = fds[0];
    // Reads the banner up to its "look:" line, for at most a minute: a debriefd that neither
    // says it is ready nor exits fails the test with its threads' stacks instead of hanging it.
    std::string all;
    const absl::Time deadline = absl::Now() + absl::Minutes(1);
    bool ready = false, ended = false;
    while (!ready && !ended) {
      const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
      pollfd p{out_fd_, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, static_cast<int>(left)) == 0) break;
      char buf[4096];
      const ssize_t n = read(out_fd_, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ended = true;
        break;
      }
      all.append(buf, static_cast<size_t>(n));
      const size_t look = all.find("  look:");
      ready = look != std::string::npos && all.find('\n', look) != std::string::npos;
    }
    for (absl::string_view l : absl::StrSplit(all, '\n')) {
      auto port_after = [&](absl::string_view marker) {
        size_t at = l.find(marker);
        if (at == absl::string_view::npos) return 0;
        absl::string_view rest = l.substr(at + marker.size());
        int port = 0;
        (void)absl::SimpleAtoi(rest.substr(0, rest.find_first_not_of("0123456789")), &port);
        return port;
      };
      if (int p = port_after("grpc:     127.0.0.1:")) grpc_port_ = p;
      if (int p = port_after("health:   http://127.0.0.1:")) http_port_ = p;
      if (int p = port_after("health:   https://127.0.0.1:")) {
        http_port_ = p;
        https_ = true;
      }
    }
    if (!ready && !ended) {
      std::string stacks;
      RunCommand(
          absl::StrCat("gdb -batch -p ", pid_, " -ex 'thread apply all bt' 2>&1 | tail -200"),
          &stacks);
      all += absl::StrCat("\n[debriefd was not ready after a minute; its threads:]\n", stacks);
      kill(pid_, SIGKILL);
    }
    if (ready && TlsOn() && !https_) {
      all += "\n[DEBRIEF_TEST_TLS=1, but the HTTP listener speaks plain HTTP: no http.tls]";
      kill(pid_, SIGKILL);
      ready = false;
    }
    if (output) *output = all;
    if (!ready || grpc_port_ == 0 || http_port_ == 0) {
      Reap();  // it exited (bad config) or was killed: collect it
      return false;
    }
    // Keep draining the child's output so it never blocks on a full pipe; it is kept in
    // debriefd.log for a failing test to show.
    drainer_ = std::thread([fd = out_fd_, log = dir_ + "/debriefd.log", all] {
      std::ofstream out(log, std::ios::app);
      out << all << std::flush;
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) out.write(buf, n).flush();
    });
    // Signed in as debriefctl on this host would be: the local administrator's token.
    std::ifstream token_in(dir_ + "/debriefctl.token");
    std::getline(token_in, token_);
    channel_ = Channel(token_, "integration-test");
    return true;
  }

  // SIGTERM: graceful. Returns the exit status.
  int Terminate() {
    kill(pid_, SIGTERM);
    return Reap();
  }
  void Kill9() {
    kill(pid_, SIGKILL);
    Reap();
  }

  absl::StatusOr<spi::HttpResponse> Post(const std::string& body, const std::string& delivery_id,
                                         const std::string& signature_override = "",
                                         const std::string& adapter = "support") {
    std::string ts = std::to_string(absl::ToUnixSeconds(absl::Now()));
    std::string sig = adapters::HexEncode(
        adapters::Hmac(adapters::Digest::kSha256, kWebhookSecret, ts + "." + body));
    spi::HttpRequest req;
    req.method = "POST";
    req.url = absl::StrCat(base_url(), "/webhooks/", adapter);
    req.body = body;
    req.headers = {{"Content-Type", "application/json"},
                   {"X-Debrief-Timestamp", ts},
                   {"X-Debrief-Signature", signature_override.empty() ? sig : signature_override},
                   {"X-Debrief-Delivery", delivery_id}};
    return http_->Send(req);
  }

  absl::StatusOr<spi::HttpResponse> Get(const std::string& path) {
    spi::HttpRequest req;
    req.url = base_url() + path;
    return http_->Send(req);
  }

  // A POST to the HTTP listener with these headers ("Name", "value").
  absl::StatusOr<spi::HttpResponse> PostTo(const std::string& path, const std::string& body,
                                           spi::HttpHeaders headers) {
    spi::HttpRequest req;
    req.method = "POST";
    req.url = base_url() + path;
    req.body = body;
    req.headers = std::move(headers);
    return http_->Send(req);
  }

  std::unique_ptr<v1::Tickets::Stub> tickets() { return v1::Tickets::NewStub(channel_); }
  std::unique_ptr<v1::Improvements::Stub> improvements() {
    return v1::Improvements::NewStub(channel_);
  }
  std::unique_ptr<v1::Tagging::Stub> tagging() { return v1::Tagging::NewStub(channel_); }
  std::unique_ptr<v1::Admin::Stub> admin() { return v1::Admin::NewStub(channel_); }
  std::unique_ptr<v1::Insights::Stub> insights() { return v1::Insights::NewStub(channel_); }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  // A new channel to the gRPC listener whose calls carry `token` (none when empty) and `actor`.
  std::shared_ptr<grpc::Channel> Channel(const std::string& token,
                                         const std::string& actor = "") const {
    return cli::BearerChannel(grpc_address(), GrpcCredentials(), token, actor);
  }
  int http_port() const { return http_port_; }
  // "http://127.0.0.1:PORT", or https when the HTTP listener serves TLS (as its banner says).
  std::string base_url() const {
    return absl::StrCat(https_ ? "https" : "http", "://127.0.0.1:", http_port_);
  }
  std::string grpc_address() const { return absl::StrCat("127.0.0.1:", grpc_port_); }
  const std::string& dir() const { return dir_; }
  // debriefctl talking to this debriefd, signed in with its local token.
  std::string ctl() const {
    return absl::StrCat(DEBRIEFCTL_PATH, " --server ", grpc_address(), CtlTlsFlags(),
                        " --token-file ", dir_, "/debriefctl.token");
  }
  const std::string& token() const { return token_; }

 private:
  int Reap() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (drainer_.joinable()) drainer_.join();
    if (out_fd_ >= 0) close(out_fd_);
    out_fd_ = -1;
    return status;
  }

  std::string dir_;
  std::string token_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::thread drainer_;
  int grpc_port_ = 0, http_port_ = 0;
  bool https_ = false;
  int open_files_limit_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<spi::HttpClient> http_ = NewTestHttpClient();
};

inline std::string TicketJson(const std::string& id, const std::string& subject,
                              const std::string& body, const std::string& customer) {
  nlohmann::json j = {{"event", "ticket.created"},
                      {"ticket",
                       {{"id", id},
                        {"subject", subject},
                        {"description", body},
                        {"status", "new"},
                        {"requester", {{"id", customer}, {"email", customer + "@example.com"}}}}}};
  return j.dump();
}

// A client connection to one of debriefd's listeners on 127.0.0.1, for bytes no HTTP client
// would send: TCP, with TLS over it (trusting the test CA) when the suite runs over TLS.
// Closed when destroyed.
class Connection {
 public:
  // Connects and, under TLS, completes the handshake; nullptr when either fails (`why` says
  // which).
  static std::unique_ptr<Connection> Open(int port, std::string* why = nullptr) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd);
      if (why) *why = "no connection";
      return nullptr;
    }
    std::unique_ptr<Connection> c(new Connection(fd));
    if (!TlsOn()) return c;
    // A server that never finishes the handshake fails it instead of hanging the test.
    SetTimeouts(fd, absl::Seconds(10));
    c->ssl_ = SSL_new(ClientContext());
    SSL_set_fd(c->ssl_, fd);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl_), "127.0.0.1");
    NoSigpipe quiet;
    if (SSL_connect(c->ssl_) != 1) {
      if (why) *why = "no TLS handshake";
      return nullptr;
    }
    return c;
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (ssl_) SSL_free(ssl_);
    close(fd_);
  }

  int fd() const { return fd_; }

  // Sends all of `bytes`, or as much as goes before the peer closes; false then.
  bool Send(absl::string_view bytes) {
    NoSigpipe quiet;
    size_t sent = 0;
    while (sent < bytes.size()) {
      const size_t left = bytes.size() - sent;
      ssize_t n = ssl_ ? SSL_write(ssl_, bytes.data() + sent, static_cast<int>(left))
                       : send(fd_, bytes.data() + sent, left, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // Says nothing more will be sent: TLS's close_notify, or a TCP half-close.
  void CloseSending() {
    NoSigpipe quiet;
    if (ssl_)
      SSL_shutdown(ssl_);
    else
      shutdown(fd_, SHUT_WR);
  }

  // Everything the server sends until it closes, or until nothing came for `timeout`.
  std::string ReadUntilClosed(absl::Duration timeout) {
    SetTimeouts(fd_, timeout);
    std::string got;
    char buf[4096];
    ssize_t n;
    NoSigpipe quiet;
    while ((n = ssl_ ? SSL_read(ssl_, buf, sizeof buf) : recv(fd_, buf, sizeof buf, 0)) > 0)
      got.append(buf, static_cast<size_t>(n));
    return got;
  }

 private:
  explicit Connection(int fd) : fd_(fd) {}

  static void SetTimeouts(int fd, absl::Duration timeout) {
    timeval tv{static_cast<time_t>(absl::ToInt64Seconds(timeout)),
               static_cast<suseconds_t>(absl::ToInt64Microseconds(timeout) % 1000000)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }

  // OpenSSL writes to the socket without MSG_NOSIGNAL: a peer that closed first would kill the
  // test with SIGPIPE. It is held back on this thread meanwhile, and dropped.
  class NoSigpipe {
   public:
    NoSigpipe() {
      sigemptyset(&pipe_);
      sigaddset(&pipe_, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    }
    ~NoSigpipe() {
      const timespec now{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &now) > 0) {
      }
      pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }

   private:
    sigset_t pipe_, old_;
  };

  // TLS 1.2 and up, the test CA trusted, verification on.
  static SSL_CTX* ClientContext() {
    static SSL_CTX* const ctx = [] {
      SSL_CTX* c = SSL_CTX_new(TLS_client_method());
      SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
      if (SSL_CTX_load_verify_locations(c, Pki().ca_file.c_str(), nullptr) != 1)
        ADD_FAILURE() << "cannot load " << Pki().ca_file;
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
      return c;
    }();
    return ctx;
  }

  int fd_;
  SSL* ssl_ = nullptr;
};

// A connection to 127.0.0.1:port (TLS under TLS), or nullptr.
inline std::unique_ptr<Connection> ConnectTo(int port) { return Connection::Open(port); }

// Sends `bytes` as they are (whatever HTTP makes of them), closes the sending side, and
// returns everything the server answers until it closes (or `timeout` passes). Under TLS the
// bytes travel inside TLS; "<no connection>" or "<no TLS handshake>" when those fail.
inline std::string RawExchange(int port, const std::string& bytes,
                               absl::Duration timeout = absl::Seconds(5)) {
  std::string why;
  std::unique_ptr<Connection> c = Connection::Open(port, &why);
  if (!c) return absl::StrCat("<", why, ">");
  c->Send(bytes);
  c->CloseSending();
  return c->ReadUntilClosed(timeout);
}

// The status code of a raw HTTP answer ("HTTP/1.1 400 ..." -> 400), or 0.
inline int StatusOf(const std::string& answer) {
  int code = 0;
  if (answer.rfind("HTTP/1.", 0) != 0 || answer.size() < 12) return 0;
  (void)absl::SimpleAtoi(answer.substr(9, 3), &code);
  return code;
}

// The drills' tickets: one (subject, body) per cause of the default taxonomy, four causes.
inline constexpr const char* kDrillTexts[][2] = {
    {"Charged twice", "I was charged twice for my subscription"},
    {"Cannot log in", "I cannot log in, the password reset email never arrives"},
    {"Where is my order", "my order has not arrived and tracking has not updated"},
    {"App crashes", "the app crashes when I open it"},
};

// Polls until pred() holds or the timeout passes.
template <typename Pred>
bool WaitFor(Pred pred, absl::Duration timeout = absl::Seconds(20)) {
  absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return pred();
}

// Every task `d` lists.
inline v1::ListTasksResponse AllTasks(Debriefd& d) {
  grpc::ClientContext ctx;
  v1::ListTasksResponse res;
  EXPECT_TRUE(d.improvements()->ListTasks(&ctx, v1::ListTasksRequest(), &res).ok());
  return res;
}

// Waits until `d` lists `n` tasks, each created in its tracker (an external id).
inline bool TasksCreated(Debriefd& d, int n, absl::Duration timeout) {
  return WaitFor(
      [&] {
        v1::ListTasksResponse t = AllTasks(d);
        if (t.tasks_size() != n) return false;
        for (const auto& task : t.tasks())
          if (task.external_id().empty()) return false;
        return true;
      },
      timeout);
}

}  // namespace debrief::testing
