#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "debrief/v1/config.pb.h"

// Webhook signature primitives shared by helpdesk and tracker adapters (OpenSSL).
namespace debrief::adapters {

enum class Digest { kSha1, kSha256 };

// Raw HMAC bytes.
std::string Hmac(Digest digest, absl::string_view key, absl::string_view message);
std::string Sha256(absl::string_view data);

std::string HexEncode(absl::string_view bytes);
std::string Base64Encode(absl::string_view bytes);
// Accepts upper or lower case; fails on odd length or non-hex characters.
absl::StatusOr<std::string> HexDecode(absl::string_view hex);
absl::StatusOr<std::string> Base64Decode(absl::string_view b64);

// Compares in time that depends only on the lengths (CRYPTO_memcmp).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// How a vendor encodes an HMAC in a header: "sha1=<hex>", "<base64>", ...
struct HmacScheme {
  Digest digest = Digest::kSha256;
  bool base64 = false;
  std::string prefix;  // stripped before decoding, e.g. "sha256="
};

// The header value a vendor would send for `message`.
std::string SignHmac(const HmacScheme& scheme, absl::string_view secret, absl::string_view message);
// UNAUTHENTICATED unless `given` is the HMAC of `message` (compared in constant time).
absl::Status VerifyHmac(const HmacScheme& scheme, absl::string_view secret,
                        absl::string_view message, absl::string_view given);
// UNAUTHENTICATED when a signed timestamp is further than `window` from `now` (replays).
absl::Status CheckFreshness(absl::Time signed_at, absl::Time now, absl::Duration window);

// spi::AcceptedDelivery::replay_key for a signature over `signed_message` (a timestamp and
// the body): the same message sent again is the same sending, however its signature is
// spelled (hex case, prefix) and whatever delivery id comes with it.
std::string ReplayKey(absl::string_view signed_message);

// Where a webhook secret is kept, as a setup step names it: " (environment variable NAME)" or
// " (file PATH)"; "" when unset. Never the secret itself.
std::string WhereKept(const v1::SecretRef& ref);

}  // namespace debrief::adapters
