// Who is calling and what they may do: one place for every door (gRPC, the JSON API).
#include <openssl/crypto.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "auth/auth.h"
#include "base/log.h"
#include "service/service.h"

namespace debrief::service {

absl::StatusOr<auth::Caller> Service::Authenticate(absl::string_view bearer,
                                                   absl::string_view claimed_name,
                                                   bool local_token) {
  if (bearer.empty())
    return absl::UnauthenticatedError(
        "sign in: send an API token or a session token as a bearer credential "
        "(Authorization: Bearer ...)");
  if (absl::StartsWith(bearer, "ds1.")) {
    if (d_.sessions == nullptr)
      return absl::UnauthenticatedError("session tokens are not accepted here");
    return d_.sessions->Verify(bearer);
  }
  if (!absl::StartsWith(bearer, "dbt_"))
    return absl::UnauthenticatedError("the bearer token is neither an API nor a session token");
  const std::string hash = auth::HashTokenSecret(bearer);
  if (!d_.local_token_hash.empty() && hash.size() == d_.local_token_hash.size() &&
      CRYPTO_memcmp(hash.data(), d_.local_token_hash.data(), hash.size()) == 0) {
    if (!local_token)
      return absl::UnauthenticatedError(
          "the local administrator's token signs in to gRPC on this host only; use an API token");
    // Whoever can read the file debriefd wrote is this host's administrator; the audit names
    // them as the tool says (debriefctl sends the user it runs as), marked as such.
    auth::Caller c;
    c.name = absl::StrCat(
        "local:", claimed_name.empty() ? absl::string_view("admin") : claimed_name.substr(0, 64));
    c.role = auth::Role::kAdmin;
    return c;
  }
  std::optional<v1::ApiToken> token;
  if (auto s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
        auto t = tx.ApiTokenByHash(hash);
        if (!t.ok()) return t.status();
        token = std::move(*t);
        return absl::OkStatus();
      });
      !s.ok())
    return absl::UnavailableError("the store is busy; retry");
  if (!token) return absl::UnauthenticatedError("the API token is not known here");
  if (token->revoked()) return absl::UnauthenticatedError("the API token was revoked");
  auto role = auth::ParseRole(token->role());
  if (!role.ok()) return absl::UnauthenticatedError("the API token has no valid role");
  // When it was last used: written at most once a minute a token.
  const absl::Time now = d_.clock.Now();
  bool touch = false;
  {
    std::lock_guard<std::mutex> l(touched_mu_);
    absl::Time& at = touched_[token->id()];
    if (now - at >= absl::Minutes(1)) {
      at = now;
      touch = true;
    }
  }
  if (touch) {
    const int64_t id = token->id();
    absl::Status s =
        d_.store.Transact([&](spi::StoreTransaction& tx) { return tx.TouchApiToken(id, now); });
    if (!s.ok())
      base::log::Warning("auth", "could not record a token's use", {{"error", s.ToString()}});
  }
  auth::Caller c;
  c.name = token->name();
  c.role = *role;
  c.helpdesk_id = token->helpdesk_id();
  c.installation_only = token->installation();
  return c;
}

absl::Status Service::Authorize(absl::string_view method, const auth::Caller& caller,
                                google::protobuf::Message& req) const {
  if (!auth::Allowed(method, caller))
    return absl::PermissionDeniedError(auth::Refusal(method, caller));
  // A caller bound to one helpdesk names only that helpdesk's tickets.
  const auto* d = req.GetDescriptor();
  const auto* r = req.GetReflection();
  if (!caller.helpdesk_id.empty()) {
    const auto* field = d->FindFieldByName("ticket");
    if (field != nullptr && field->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE &&
        !field->is_repeated()) {
      const auto& ticket = r->GetMessage(req, field);
      const auto* helpdesk = ticket.GetDescriptor()->FindFieldByName("helpdesk_id");
      if (helpdesk != nullptr &&
          helpdesk->type() == google::protobuf::FieldDescriptor::TYPE_STRING) {
        const std::string named = ticket.GetReflection()->GetString(ticket, helpdesk);
        if (!named.empty() && named != caller.helpdesk_id)
          return absl::PermissionDeniedError(absl::StrCat(
              "this sign-in reaches the tickets of helpdesk ", caller.helpdesk_id, " only"));
      }
    }
  }
  // ... and lists only that helpdesk's (a request's own helpdesk_id: empty becomes it).
  if (!caller.helpdesk_id.empty()) {
    const auto* field = d->FindFieldByName("helpdesk_id");
    if (field != nullptr && field->type() == google::protobuf::FieldDescriptor::TYPE_STRING &&
        !field->is_repeated()) {
      const std::string named = r->GetString(req, field);
      if (!named.empty() && named != caller.helpdesk_id)
        return absl::PermissionDeniedError(absl::StrCat(
            "this sign-in reaches the tickets of helpdesk ", caller.helpdesk_id, " only"));
      r->SetString(&req, field, caller.helpdesk_id);
    }
  }
  // Who made a change is who signed in; an administrator may record one for someone else.
  const auto* agent = d->FindFieldByName("agent");
  if (agent != nullptr && agent->type() == google::protobuf::FieldDescriptor::TYPE_STRING &&
      !agent->is_repeated() &&
      (caller.role != auth::Role::kAdmin || r->GetString(req, agent).empty()))
    r->SetString(&req, agent, caller.name);
  return absl::OkStatus();
}

}  // namespace debrief::service
