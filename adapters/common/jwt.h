#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

typedef struct evp_pkey_st EVP_PKEY;

// JSON Web Tokens signed with RS256, as helpdesks sign the agent who opens an app (Zendesk's
// signed URLs). Only RS256: a token naming any other algorithm ("none", HS256 keyed with the
// public key: the classic confusion) is refused before its signature is looked at.
namespace debrief::adapters {

// An RSA public key (PEM: "PUBLIC KEY" or "RSA PUBLIC KEY"), at least 2048 bits.
class RsaPublicKey {
 public:
  static absl::StatusOr<RsaPublicKey> FromPem(absl::string_view pem);
  EVP_PKEY* get() const { return key_.get(); }

 private:
  explicit RsaPublicKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;
};

// The token's claims once its signature holds and `now` is within [nbf, exp) (and not before
// iat), each with `leeway` for clocks apart. UNAUTHENTICATED with the reason otherwise. The
// caller checks iss, aud and its own claims.
absl::StatusOr<nlohmann::json> VerifyRs256Jwt(absl::string_view token, const RsaPublicKey& key,
                                              absl::Time now,
                                              absl::Duration leeway = absl::Minutes(1));

// Whether the token's `aud` (a string or an array of strings) names `audience`.
bool JwtAudienceHas(const nlohmann::json& claims, absl::string_view audience);

}  // namespace debrief::adapters
