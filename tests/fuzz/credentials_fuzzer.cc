// Credentials from outside: a session token as the panel sends it (auth::Sessions::Verify), a
// Zendesk app's signed JWT and a Request Tracker sidebar proof (HelpdeskAdapter::VerifyAgent).
// Each must refuse what it cannot verify with a status, never crash, and never accept a
// forgery: anything accepted here must have been signed with the fuzzer's own keys, which
// the fuzzer never does, so an acceptance aborts.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "auth/auth.h"
#include "helpdesks.h"

namespace {

using namespace debrief;

// A new RSA key's public half, PEM.
std::string NewPublicKeyPem() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio, &p);
  std::string pem(p, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

struct Verifiers {
  fuzz::Helpdesks* helpdesks = nullptr;
  auth::Sessions sessions{std::string(48, 'k'), spi::SystemClock::Get(), absl::Minutes(15)};
};

Verifiers* Make() {
  auto* v = new Verifiers;
  setenv("DEBRIEF_FUZZ_SECRET", "fuzz-secret-of-some-length-and-more-than-32-bytes", 1);
  setenv("DEBRIEF_FUZZ_PUBKEY", NewPublicKeyPem().c_str(), 1);
  v->helpdesks = fuzz::MakeHelpdesks("credentials_fuzzer", R"(
helpdesks:
  - id: zendesk
    type: zendesk
    settings: {subdomain: acme, email: a@acme.test, api_token: {env: DEBRIEF_FUZZ_SECRET},
               signing_secret: {env: DEBRIEF_FUZZ_SECRET},
               app_public_key: {env: DEBRIEF_FUZZ_PUBKEY}, app_installation_id: 42}
  - id: rt
    type: rt
    settings: {url: "https://rt.test", token: {env: DEBRIEF_FUZZ_SECRET},
               webhook_secret: {env: DEBRIEF_FUZZ_SECRET},
               sidebar_key: {env: DEBRIEF_FUZZ_SECRET}}
)");
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Verifiers* v = Make();
  const std::string input(reinterpret_cast<const char*>(data), size);
  if (v->sessions.Verify(input).ok()) abort();  // a forged session token
  spi::AgentProof proof;
  proof.now = absl::Now();
  proof.fields["token"] = input;  // Zendesk: the app's JWT
  // Request Tracker: user, ticket, expires, signature, one per line.
  std::vector<std::string> lines = absl::StrSplit(input, '\n');
  const char* names[] = {"user", "ticket", "expires", "signature"};
  for (size_t i = 0; i < lines.size() && i < 4; ++i) proof.fields[names[i]] = lines[i];
  for (const auto& h : v->helpdesks->adapters)
    if (h->VerifyAgent(proof).ok()) abort();  // a forged sign-in
  return 0;
}
