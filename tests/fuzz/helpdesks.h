#pragma once

// The helpdesk adapters a fuzzer drives, made from a `helpdesks:` configuration as debriefd
// makes them; a configuration that does not make them stops the fuzzer at once (a broken
// harness, not a finding).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "debrief/spi/adapter_factory.h"
#include "outbound/curl_http_client.h"
#include "register.h"

namespace debrief::fuzz {

struct Helpdesks {
  std::unique_ptr<spi::HttpClient> http = outbound::NewCurlHttpClient();
  spi::AdapterRegistry registry;
  std::vector<std::unique_ptr<spi::HelpdeskAdapter>> adapters;
};

inline Helpdesks* MakeHelpdesks(const char* fuzzer, const std::string& yaml) {
  auto* h = new Helpdesks;
  adapters::RegisterBuiltinAdapters(h->registry);
  auto config = config::ParseConfig(yaml, "/tmp");
  if (!config.ok()) {
    fprintf(stderr, "%s: %s\n", fuzzer, std::string(config.status().message()).c_str());
    abort();
  }
  spi::AdapterContext ctx{*h->http, spi::SystemClock::Get(), "/tmp"};
  for (const auto& c : config->helpdesks()) {
    auto made = h->registry.helpdesk(c.type())->Create(c, ctx);
    if (!made.ok()) {
      fprintf(stderr, "%s: %s: %s\n", fuzzer, c.id().c_str(),
              std::string(made.status().message()).c_str());
      abort();
    }
    h->adapters.push_back(std::move(*made));
  }
  return h;
}

}  // namespace debrief::fuzz
