// Webhook bodies from outside through every helpdesk adapter's parsing: Normalize (as for a
// webhook and as for a listed ticket) and the fast JSON path that acknowledges deliveries,
// which must agree with the full parser.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "base/utf8.h"
#include "common/json_util.h"
#include "helpdesks.h"

namespace {

using namespace debrief;

fuzz::Helpdesks* Make() {
  setenv("DEBRIEF_FUZZ_SECRET", "fuzz-secret-of-some-length", 1);
  return fuzz::MakeHelpdesks("webhook_fuzzer", R"(
helpdesks:
  - {id: generic, type: generic, settings: {secret: {env: DEBRIEF_FUZZ_SECRET}}}
  - id: zendesk
    type: zendesk
    settings: {subdomain: acme, email: a@acme.test, api_token: {env: DEBRIEF_FUZZ_SECRET},
               signing_secret: {env: DEBRIEF_FUZZ_SECRET}}
  - id: freshdesk
    type: freshdesk
    settings: {domain: acme, api_key: {env: DEBRIEF_FUZZ_SECRET},
               webhook_secret: {env: DEBRIEF_FUZZ_SECRET}}
  - id: zammad
    type: zammad
    settings: {url: "https://zammad.test", token: {env: DEBRIEF_FUZZ_SECRET},
               hmac_secret: {env: DEBRIEF_FUZZ_SECRET}}
  - id: rt
    type: rt
    settings: {url: "https://rt.test", token: {env: DEBRIEF_FUZZ_SECRET},
               webhook_secret: {env: DEBRIEF_FUZZ_SECRET}}
)");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::Helpdesks* adapters = Make();
  const std::string body(reinterpret_cast<const char*>(data), size);
  for (const auto& h : adapters->adapters) {
    for (bool listed : {false, true}) {
      spi::InboundDelivery d;
      d.body = body;
      d.received_at = absl::Now();
      if (listed) d.headers[spi::kListedHeader] = "1";
      auto r = h->Normalize(d);
      if (r.ok() && r->event) (void)r->event->ticket().ticket_id();
    }
  }
  // The fast path's verdict and texts are the full parser's.
  auto fast =
      debrief::adapters::ObjectTexts(body, {"/ticket/id", "/detail/id", "/a/b"}, "the body");
  auto full = debrief::adapters::ParseObject(body, "the body");
  if (fast.ok() != full.ok()) abort();
  return 0;
}
