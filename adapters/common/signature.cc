#include "common/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace debrief::adapters {

std::string Hmac(Digest digest, absl::string_view key, absl::string_view message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const EVP_MD* md = digest == Digest::kSha1 ? EVP_sha1() : EVP_sha256();
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Sha256(absl::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof(out));
}

std::string HexEncode(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

std::string Base64Encode(absl::string_view bytes) { return absl::Base64Escape(bytes); }

absl::StatusOr<std::string> HexDecode(absl::string_view hex) {
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError("odd-length hex");
  for (char c : hex)
    if (!absl::ascii_isxdigit(c)) return absl::InvalidArgumentError("not hex");
  return absl::HexStringToBytes(hex);
}

absl::StatusOr<std::string> Base64Decode(absl::string_view b64) {
  std::string out;
  if (!absl::Base64Unescape(b64, &out)) return absl::InvalidArgumentError("not base64");
  return out;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string SignHmac(const HmacScheme& scheme, absl::string_view secret,
                     absl::string_view message) {
  std::string mac = Hmac(scheme.digest, secret, message);
  return absl::StrCat(scheme.prefix, scheme.base64 ? Base64Encode(mac) : HexEncode(mac));
}

absl::Status VerifyHmac(const HmacScheme& scheme, absl::string_view secret,
                        absl::string_view message, absl::string_view given) {
  given = absl::StripAsciiWhitespace(given);
  if (given.empty()) return absl::UnauthenticatedError("the signature is empty");
  if (!scheme.prefix.empty() && !absl::ConsumePrefix(&given, scheme.prefix))
    return absl::UnauthenticatedError(
        absl::StrCat("the signature does not start with ", scheme.prefix));
  auto raw = scheme.base64 ? Base64Decode(given) : HexDecode(given);
  if (!raw.ok() || !ConstantTimeEquals(*raw, Hmac(scheme.digest, secret, message)))
    return absl::UnauthenticatedError("the signature does not match");
  return absl::OkStatus();
}

absl::Status CheckFreshness(absl::Time signed_at, absl::Time now, absl::Duration window) {
  if (absl::AbsDuration(now - signed_at) > window)
    return absl::UnauthenticatedError(
        absl::StrCat("the signed timestamp is outside the replay "
                     "window of ",
                     absl::FormatDuration(window)));
  return absl::OkStatus();
}

std::string ReplayKey(absl::string_view signed_message) {
  return HexEncode(Sha256(signed_message));
}

std::string WhereKept(const v1::SecretRef& ref) {
  if (ref.has_env()) return absl::StrCat(" (environment variable ", ref.env(), ")");
  if (ref.has_file()) return absl::StrCat(" (file ", ref.file(), ")");
  return "";
}

}  // namespace debrief::adapters
