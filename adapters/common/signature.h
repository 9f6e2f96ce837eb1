#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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

}  // namespace debrief::adapters
