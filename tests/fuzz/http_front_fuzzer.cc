// Request bytes in, response out: the real HTTP front (Beast, its sessions and deadline
// sweeper, the generic helpdesk adapter, a real SQLite inbox) running in this process, so
// ASan and UBSan see every request's whole life, its connection's clean-up included.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "config/config.h"
#include "debrief/spi/adapter_factory.h"
#include "ingress/http_server.h"
#include "metrics/metrics.h"
#include "outbound/curl_http_client.h"
#include "register.h"
#include "store/sqlite_store.h"

namespace {

using namespace debrief;

struct Front {
  std::string dir;
  metrics::Metrics metrics;
  std::unique_ptr<spi::Store> store;
  std::unique_ptr<spi::HttpClient> http;
  spi::AdapterRegistry registry;
  std::unique_ptr<spi::HelpdeskAdapter> helpdesk;
  std::unique_ptr<ingress::HttpServer> server;
  ~Front() {
    if (server) server->Stop(absl::Seconds(1));
    if (store) store->Close();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Front* front = nullptr;

void Shutdown() { delete front; }

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  front = new Front;
  char tmpl[] = "/tmp/debrief-fuzz-http-XXXXXX";
  front->dir = mkdtemp(tmpl);
  // The secret the seeds are signed with (tests/fuzz/run.sh); a long replay window keeps them
  // valid.
  setenv("DEBRIEF_FUZZ_SECRET", "fuzz-secret", 1);
  auto config = config::ParseConfig(R"(
helpdesks:
  - id: support
    type: generic
    settings:
      secret: {env: DEBRIEF_FUZZ_SECRET}
      timestamp_header: X-Debrief-Timestamp
      delivery_id_header: X-Debrief-Delivery
      replay_window: 876000h
)",
                                    front->dir);
  if (!config.ok()) abort();
  auto store =
      store::OpenSqliteStore({.path = front->dir + "/debrief.db"}, spi::SystemClock::Get());
  if (!store.ok()) abort();
  front->store = std::move(*store);
  front->http = outbound::NewCurlHttpClient();
  adapters::RegisterBuiltinAdapters(front->registry);
  spi::AdapterContext ctx{*front->http, spi::SystemClock::Get(), front->dir};
  auto helpdesk = front->registry.helpdesk("generic")->Create(config->helpdesks(0), ctx);
  if (!helpdesk.ok()) abort();
  front->helpdesk = std::move(*helpdesk);
  ingress::HttpOptions options;
  options.listen = "127.0.0.1:0";
  options.threads = 2;
  options.max_body_bytes = 64 * 1024;
  options.idle_timeout = std::chrono::seconds(2);
  options.request_timeout = std::chrono::seconds(2);
  auto server = ingress::HttpServer::Start(
      options, *front->store, {{"support", front->helpdesk.get()}}, ingress::TrackerWebhooks{},
      spi::SystemClock::Get(), front->metrics, [] { return true; });
  if (!server.ok()) abort();
  front->server = std::move(*server);
  atexit(Shutdown);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(front->server->port()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // A refused connection is a finding; a client side out of local ports (connections of
  // earlier suites in TIME_WAIT on a busy machine) is not: wait for one, a while.
  for (int tries = 0; connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0; ++tries) {
    if ((errno != EADDRNOTAVAIL && errno != EAGAIN && errno != EINTR) || tries == 500) {
      fprintf(stderr, "http_front: connect: %s\n", strerror(errno));
      abort();
    }
    close(fd);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    usleep(10000);
  }
  size_t sent = 0;
  while (sent < size) {
    ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  // The answer, until the server closes: a server that neither answers nor closes within the
  // request timeout is a hang libFuzzer reports.
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[16 * 1024];
  while (true) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) abort();  // no answer and no close
      break;  // reset: the server refused what it could not read
    }
  }
  close(fd);
  return 0;
}
