#include "common/jwt.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace debrief::adapters {
namespace {

absl::Status Refused(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("the helpdesk's token is refused: ", why));
}

// base64url without padding, as JWTs use it; nothing else.
bool Base64UrlDecode(absl::string_view in, std::string* out) {
  if (in.find_first_of("=+/") != absl::string_view::npos) return false;
  return absl::WebSafeBase64Unescape(in, out);
}

// A NumericDate claim, if present; an error if present and not a number.
absl::StatusOr<std::optional<absl::Time>> DateClaim(const nlohmann::json& claims,
                                                    const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  if (!it->is_number()) return Refused(absl::StrCat(name, " is not a number"));
  const double v = it->get<double>();
  if (!(v > -1e11 && v < 1e11)) return Refused(absl::StrCat(name, " is out of range"));
  return absl::FromUnixSeconds(static_cast<int64_t>(v));
}

}  // namespace

absl::StatusOr<RsaPublicKey> RsaPublicKey::FromPem(absl::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (bio == nullptr) return absl::ResourceExhaustedError("out of memory reading a public key");
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    // PKCS#1 ("BEGIN RSA PUBLIC KEY"), as some consoles show it.
    BIO_reset(bio.get());
    RSA* rsa = PEM_read_bio_RSAPublicKey(bio.get(), nullptr, nullptr, nullptr);
    if (rsa != nullptr) {
      key = EVP_PKEY_new();
      if (key == nullptr || EVP_PKEY_assign_RSA(key, rsa) != 1) {
        RSA_free(rsa);
        EVP_PKEY_free(key);
        key = nullptr;
      }
    }
  }
  if (key == nullptr) return absl::InvalidArgumentError("not a PEM public key (BEGIN PUBLIC KEY)");
  std::shared_ptr<EVP_PKEY> owned(key, EVP_PKEY_free);
  if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA)
    return absl::InvalidArgumentError("the public key is not an RSA key (RS256 needs one)");
  if (EVP_PKEY_bits(key) < 2048)
    return absl::InvalidArgumentError("the RSA public key is shorter than 2048 bits");
  return RsaPublicKey(std::move(owned));
}

absl::StatusOr<nlohmann::json> VerifyRs256Jwt(absl::string_view token, const RsaPublicKey& key,
                                              absl::Time now, absl::Duration leeway) {
  if (token.empty()) return Refused("there is none");
  if (token.size() > 16 * 1024) return Refused("it is longer than 16 KiB");
  const std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return Refused("it is not a JWT (three dot-separated parts)");
  std::string header_json, claims_json, signature;
  if (!Base64UrlDecode(parts[0], &header_json) || !Base64UrlDecode(parts[1], &claims_json) ||
      !Base64UrlDecode(parts[2], &signature))
    return Refused("a part is not base64url");
  const nlohmann::json header = nlohmann::json::parse(header_json, nullptr, false);
  if (!header.is_object()) return Refused("its header is not a JSON object");
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get<std::string>() != "RS256")
    return Refused("only RS256 is accepted");
  if (header.contains("crit")) return Refused("it names critical extensions");

  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  const std::string signed_part = absl::StrCat(parts[0], ".", parts[1]);
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size()) != 1)
    return Refused("its signature does not match the installation's public key");

  nlohmann::json claims = nlohmann::json::parse(claims_json, nullptr, false);
  if (!claims.is_object()) return Refused("its claims are not a JSON object");
  auto exp = DateClaim(claims, "exp");
  if (!exp.ok()) return exp.status();
  if (!exp->has_value()) return Refused("it has no expiry (exp)");
  if (now >= **exp + leeway) return Refused("it has expired");
  for (const char* name : {"nbf", "iat"}) {
    auto t = DateClaim(claims, name);
    if (!t.ok()) return t.status();
    if (t->has_value() && now + leeway < **t)
      return Refused(absl::StrCat("it is not valid yet (", name, ")"));
  }
  return claims;
}

bool JwtAudienceHas(const nlohmann::json& claims, absl::string_view audience) {
  auto aud = claims.find("aud");
  if (aud == claims.end()) return false;
  if (aud->is_string()) return aud->get<std::string>() == audience;
  if (aud->is_array())
    for (const auto& a : *aud)
      if (a.is_string() && a.get<std::string>() == audience) return true;
  return false;
}

}  // namespace debrief::adapters
