// Tracker webhooks from outside through every tracker adapter that takes them (AcceptWebhook:
// the signature check, then the parsing). The first byte picks the tracker; then header lines
// ("Name: value"), an empty line and the body. Unless the first byte's high bit is set, the
// fuzzer signs the body as the tracker would, with the secret the adapters are given, so the
// parser is reached; with it set, the headers stay as given, and an acceptance is a forgery
// and aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/signature.h"
#include "config/config.h"
#include "debrief/spi/adapter_factory.h"
#include "outbound/curl_http_client.h"
#include "register.h"

namespace {

using namespace debrief;

constexpr char kSecret[] = "fuzz-tracker-webhook-secret";
// When every delivery arrives: the recorded Linear example's webhookTimestamp, so that example
// passes Linear's replay check and its mutations test it.
constexpr int64_t kReceivedAtMs = 1741944413589;

struct Trackers {
  std::unique_ptr<spi::HttpClient> http = outbound::NewCurlHttpClient();
  spi::AdapterRegistry registry;
  std::vector<std::unique_ptr<spi::TrackerAdapter>> adapters;  // github, gitlab, jira, linear
};

Trackers* Make() {
  auto* t = new Trackers;
  adapters::RegisterBuiltinAdapters(t->registry);
  setenv("DEBRIEF_FUZZ_TOKEN", "token", 1);
  setenv("DEBRIEF_FUZZ_SECRET", kSecret, 1);
  auto config = config::ParseConfig(R"(
trackers:
  - id: github
    type: github
    settings: {api_url: "http://github.test", repository: acme/support,
               token: {env: DEBRIEF_FUZZ_TOKEN}, webhook_secret: {env: DEBRIEF_FUZZ_SECRET}}
  - id: gitlab
    type: gitlab
    settings: {url: "http://gitlab.test", project: acme/support, token: {env: DEBRIEF_FUZZ_TOKEN},
               webhook_secret: {env: DEBRIEF_FUZZ_SECRET}}
  - id: jira
    type: jira
    settings: {url: "http://jira.test", email: bot@acme.test, api_token: {env: DEBRIEF_FUZZ_TOKEN},
               webhook_secret: {env: DEBRIEF_FUZZ_SECRET}, project: SUP}
  - id: linear
    type: linear
    settings: {api_url: "http://linear.test/graphql", api_key: {env: DEBRIEF_FUZZ_TOKEN},
               webhook_secret: {env: DEBRIEF_FUZZ_SECRET}, team_id: team-support}
)",
                                    "/tmp");
  if (!config.ok()) {
    fprintf(stderr, "tracker_webhook_fuzzer: %s\n", std::string(config.status().message()).c_str());
    abort();
  }
  spi::AdapterContext ctx{*t->http, spi::SystemClock::Get(), "/tmp"};
  for (const auto& c : config->trackers()) {
    auto made = t->registry.tracker(c.type())->Create(c, ctx);
    if (!made.ok() || !(*made)->sends_webhooks()) {
      fprintf(stderr, "tracker_webhook_fuzzer: %s: %s\n", c.id().c_str(),
              made.ok() ? "sends no webhooks" : std::string(made.status().message()).c_str());
      abort();
    }
    t->adapters.push_back(std::move(*made));
  }
  return t;
}

// The header each tracker signs its deliveries with, as it would send it for `body`.
std::pair<std::string, std::string> Signature(size_t tracker, absl::string_view body) {
  const adapters::HmacScheme hex{adapters::Digest::kSha256, /*base64=*/false, ""};
  const adapters::HmacScheme prefixed{adapters::Digest::kSha256, /*base64=*/false, "sha256="};
  switch (tracker) {
    case 0:
      return {"x-hub-signature-256", adapters::SignHmac(prefixed, kSecret, body)};
    case 1:
      return {"x-gitlab-token", kSecret};
    case 2:
      return {"x-hub-signature", adapters::SignHmac(prefixed, kSecret, body)};
    default:
      return {"linear-signature", adapters::SignHmac(hex, kSecret, body)};
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Trackers* trackers = Make();
  if (size == 0) return 0;
  const size_t tracker = data[0] % trackers->adapters.size();
  const bool forged = (data[0] & 0x80) != 0;
  absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  // Header lines up to the first empty line, the body after it; no empty line: all body.
  spi::InboundDelivery d;
  std::map<std::string, std::string> headers;
  for (absl::string_view in = rest;;) {
    const size_t nl = in.find('\n');
    if (nl == absl::string_view::npos) break;
    const absl::string_view line = in.substr(0, nl);
    in.remove_prefix(nl + 1);
    if (line.empty()) {
      d.headers = std::move(headers);
      rest = in;
      break;
    }
    if (const size_t colon = line.find(':'); colon != absl::string_view::npos)
      headers[absl::AsciiStrToLower(line.substr(0, colon))] =
          std::string(absl::StripLeadingAsciiWhitespace(line.substr(colon + 1)));
  }
  // The body is the fuzzer's own buffer, so ASan sees a read past its end.
  d.body = rest;
  d.received_at = absl::FromUnixMillis(kReceivedAtMs);
  if (!forged) {
    auto [name, value] = Signature(tracker, d.body);
    d.headers[name] = std::move(value);
  }
  auto events = trackers->adapters[tracker]->AcceptWebhook(d);
  if (forged && events.ok()) abort();  // accepted without the secret
  return 0;
}
