// config check and replay: a config file, and sample deliveries signed as a helpdesk signs them.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/ctl.h"
#include "config/config.h"
#include "debrief/spi/adapter_factory.h"
#include "outbound/curl_http_client.h"
#include "register.h"

namespace debrief::cli {
namespace {

struct Args {
  std::string config_path, helpdesk_id, dir, url;
};

// Loads a config and builds its adapters (which check their own settings and secrets), then
// prints it resolved.
int CheckConfig(const std::string& path) {
  auto c = config::LoadConfig(path);
  if (!c.ok()) {
    return Fail(c.status());
  }
  // Adapters check their own settings (and that their secrets resolve).
  spi::AdapterRegistry registry;
  adapters::RegisterBuiltinAdapters(registry);
  if (!registry.status().ok()) {
    return Fail(registry.status());
  }
  auto http = outbound::NewCurlHttpClient();
  spi::AdapterContext ctx{*http, spi::SystemClock::Get(), c->data_dir(),
                          spi::AdapterContext::SecretFiles::kCheck};
  for (const auto& h : c->helpdesks()) {
    const auto* f = registry.helpdesk(h.type());
    auto a = f ? f->Create(h, ctx)
               : absl::StatusOr<std::unique_ptr<spi::HelpdeskAdapter>>(
                     absl::InvalidArgumentError(absl::StrCat("unknown type ", h.type())));
    if (!a.ok()) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("helpdesk ", h.id(), ": ", a.status().message())));
    }
  }
  for (const auto& t : c->trackers()) {
    if (registry.tracker(t.type()) == nullptr) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("tracker ", t.id(), ": unknown type ", t.type())));
    }
  }
  return Print(*c);
}

// Posts every *.json file in dir to the helpdesk's webhook URL, signed as the helpdesk would;
// over HTTPS, trusting the CAs in `ca_file` (empty: the system's).
int Replay(const std::string& config_path, const std::string& helpdesk, const std::string& dir,
           std::string url, const std::string& ca_file) {
  auto config = config::LoadConfig(config_path);
  if (!config.ok()) return Fail(config.status());
  const v1::AdapterConfig* ac = nullptr;
  for (const auto& h : config->helpdesks())
    if (h.id() == helpdesk) ac = &h;
  if (ac == nullptr)
    return Fail(absl::NotFoundError(absl::StrCat("no helpdesk ", helpdesk, " in ", config_path)));
  spi::AdapterRegistry registry;
  adapters::RegisterBuiltinAdapters(registry);
  if (!registry.status().ok()) return Fail(registry.status());
  const auto* factory = registry.helpdesk(ac->type());
  if (factory == nullptr)
    return Fail(absl::NotFoundError(absl::StrCat("unknown type ", ac->type())));
  auto http = outbound::NewCurlHttpClient({.ca_file = ca_file});
  spi::AdapterContext ctx{*http, spi::SystemClock::Get(), config->data_dir()};
  auto adapter = factory->Create(*ac, ctx);
  if (!adapter.ok()) return Fail(adapter.status());
  if (url.empty()) {
    std::string listen = config->http().listen();
    if (listen.rfind("0.0.0.0:", 0) == 0) listen = "127.0.0.1" + listen.substr(7);
    const bool https = !config->http().tls().cert_file().empty();
    url = absl::StrCat(https ? "https://" : "http://", listen, "/webhooks/", helpdesk);
  }
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".json") files.push_back(e.path());
  if (ec) return Fail(absl::NotFoundError(absl::StrCat("cannot list ", dir, ": ", ec.message())));
  std::sort(files.begin(), files.end());
  int accepted = 0, duplicate = 0, refused = 0;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string body = ss.str();
    auto headers = (*adapter)->SignDelivery(body, absl::Now());
    if (!headers.ok()) return Fail(headers.status());
    spi::HttpRequest req;
    req.method = "POST";
    req.url = url;
    req.body = body;
    for (const auto& [k, v] : *headers) req.headers.emplace_back(k, v);
    auto res = http->Send(req);
    if (!res.ok()) return Fail(res.status());
    if (res->status == 202)
      ++accepted;
    else if (res->status == 200)
      ++duplicate;
    else {
      ++refused;
      std::cerr << f.filename().string() << ": HTTP " << res->status << " " << res->body << "\n";
    }
  }
  std::cout << "{\"sent\": " << files.size() << ", \"accepted\": " << accepted
            << ", \"duplicate\": " << duplicate << ", \"refused\": " << refused << "}\n";
  return refused == 0 ? 0 : 1;
}

}  // namespace

void AddFileCommands(CLI::App& app, Ctl& ctl) {
  auto a = std::make_shared<Args>();
  auto* cfg = app.add_subcommand("config", "configuration files")->require_subcommand(1);
  auto* ccheck = cfg->add_subcommand("check", "load and validate a config file, print it resolved");
  ccheck->add_option("file", a->config_path)->required();
  ccheck->callback([a, &ctl] { ctl.rc = CheckConfig(a->config_path); });

  auto* replay = app.add_subcommand("replay", "sign sample deliveries and POST them to debriefd");
  replay->add_option("--config", a->config_path, "debriefd's config (for the secret and address)")
      ->required();
  replay->add_option("--helpdesk", a->helpdesk_id, "helpdesk adapter id")->required();
  replay->add_option("--url", a->url, "webhook URL (default: from http.listen and http.tls)");
  replay->add_option("dir", a->dir, "folder of *.json deliveries")->required();
  replay->callback(
      [a, &ctl] { ctl.rc = Replay(a->config_path, a->helpdesk_id, a->dir, a->url, ctl.ca); });
}

}  // namespace debrief::cli
