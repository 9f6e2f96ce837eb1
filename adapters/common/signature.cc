#include "common/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"

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

}  // namespace debrief::adapters
