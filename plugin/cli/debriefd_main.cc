// debriefd: the Debrief sidecar. Usage: debriefd --config debrief.yaml
#include <signal.h>

#include <cstring>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/log.h"
#include "config/config.h"
#include "register.h"
#include "server/app.h"
#include "settings/settings.h"

namespace {

constexpr const char* kUsage =
    "Usage: debriefd --config FILE\n"
    "Receives helpdesk webhooks, tags each ticket with a root cause and keeps one improvement\n"
    "task per cause in the tracker; serves gRPC, the JSON API and the agents' panel.\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE  the configuration (YAML; /etc/debrief/debrief.yaml when installed)\n"
    "  -h, --help         this help\n"
    "      --version      the version\n"
    "\n"
    "Signals: SIGHUP reads the configuration file, the classifier's model and the HTTPS\n"
    "certificate again and applies them (debriefctl reload shows what changes first); SIGTERM\n"
    "or SIGINT drains and stops.\n"
    "See /usr/share/doc/debrief and debriefctl(1).\n";

int Usage() {
  std::cerr << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--config" || a == "-c") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      config_path = a.substr(9);
    } else if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--version") {
      std::cout << "debriefd " DEBRIEF_VERSION "\n";
      return 0;
    } else {
      return Usage();
    }
  }
  if (config_path.empty()) return Usage();

  // Signals are taken by sigwait below, never by a worker thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto config = debrief::config::LoadConfig(config_path);
  if (!config.ok()) {
    std::cerr << "debriefd: " << config.status().message() << "\n";
    return 1;
  }
  debrief::spi::AdapterRegistry registry;
  debrief::adapters::RegisterBuiltinAdapters(registry);
  auto app = debrief::server::App::Create(*config, registry, debrief::spi::SystemClock::Get(),
                                          config_path);
  if (!app.ok()) {
    std::cerr << "debriefd: " << app.status().message() << "\n";
    return 1;
  }
  if (absl::Status s = (*app)->Start(); !s.ok()) {
    std::cerr << "debriefd: " << s.message() << "\n";
    return 1;
  }
  auto ports = (*app)->ports();
  std::string host = config->http().listen().substr(0, config->http().listen().rfind(':'));
  std::string grpc_host = config->grpc().listen().substr(0, config->grpc().listen().rfind(':'));
  // Where helpdesks and trackers send webhooks: http.public_url when set (a reverse proxy).
  std::string public_url(absl::StripSuffix(config->http().public_url(), "/"));
  const char* scheme = config->http().tls().cert_file().empty() ? "http://" : "https://";
  if (public_url.empty()) public_url = absl::StrCat(scheme, host, ":", ports.http);
  std::cout << "debriefd ready\n"
            << "  store:    "
            << (config->store().has_postgres()
                    ? absl::StrCat("postgresql ", config->store().postgres().conninfo())
                    : config->store().sqlite().path())
            << "\n"
            << "  grpc:     " << grpc_host << ":" << ports.grpc << "\n";
  for (const auto& h : config->helpdesks())
    std::cout << "  webhooks: POST " << public_url << "/webhooks/" << h.id() << "  (" << h.type()
              << ")\n";
  for (const auto& t : config->trackers()) {
    std::cout << "  tracker:  " << t.id() << " (" << t.type() << "); ";
    if ((*app)->TrackerSendsWebhooks(t.id()))
      std::cout << "its webhooks to POST " << public_url << "/webhooks/" << t.id() << "\n";
    else
      std::cout << "polled every "
                << absl::FormatDuration(debrief::settings::ToDuration(
                       config->loop().status_poll_interval(), absl::Minutes(5)))
                << " (it sends no webhooks)\n";
  }
  std::cout << "  health:   " << scheme << host << ":" << ports.http << "/readyz\n"
            << "  look:     debriefctl --server " << grpc_host << ":" << ports.grpc
            << (config->grpc().tls().cert_file().empty() ? "" : " --tls")
            << (config->grpc().local_token()
                    ? absl::StrCat(" --token-file ", config->data_dir(), "/debriefctl.token")
                    : std::string(" --token-file FILE"))
            << " tasks list\n"
            << std::flush;

  std::cout << "  model:    " << (*app)->classifier_name()
            << " (SIGHUP reloads it with the configuration)\n"
            << std::flush;
  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    (void)(*app)->ReloadCertificates();  // an error is logged; the old certificate stays
    auto r = (*app)->Reload(debrief::v1::ReloadRequest(), "SIGHUP (signal)");
    if (!r.ok()) {
      debrief::base::log::Error("debriefd", "SIGHUP: reload refused",
                                {{"error", std::string(r.status().message())}});
    } else if (!r->applied()) {
      for (const std::string& why : r->restart_needed())
        debrief::base::log::Error("debriefd", "SIGHUP: nothing applied; a restart is needed",
                                  {{"setting", why}});
    }
  }
  debrief::base::log::Info("debriefd", "draining", {{"signal", strsignal(sig)}});
  (*app)->Shutdown(absl::Seconds(10));
  debrief::base::log::Info("debriefd", "stopped");
  return 0;
}
