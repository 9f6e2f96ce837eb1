#include "auth/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace debrief::auth {
namespace {

// The least role that may call each operation. Operations not here are refused to everyone.
const std::map<std::string, Role, std::less<>>& Rules() {
  static const auto* rules = new std::map<std::string, Role, std::less<>>{
      {"Tagging.Classify", Role::kAgent},
      {"Tagging.Feedback", Role::kAgent},
      {"Tagging.ListCategories", Role::kAgent},
      {"Tagging.ListEmerging", Role::kAgent},
      {"Tagging.PromoteEmerging", Role::kLead},
      {"Improvements.ListTasks", Role::kAgent},
      {"Improvements.GetTask", Role::kAgent},
      {"Improvements.SearchTasks", Role::kAgent},
      {"Improvements.LinkTicket", Role::kAgent},
      {"Improvements.UnlinkTicket", Role::kAgent},
      {"Improvements.RequestTask", Role::kAgent},
      {"Improvements.RefreshTask", Role::kAgent},
      {"Tickets.GetTicket", Role::kAgent},
      {"Tickets.GetJourney", Role::kAgent},
      {"Tickets.SimilarTickets", Role::kAgent},
      {"Admin.GetConfig", Role::kAdmin},
      {"Admin.Reload", Role::kAdmin},
      {"Admin.ListAdapters", Role::kAdmin},
      {"Admin.CheckAdapter", Role::kAdmin},
      {"Admin.ListAdapterTypes", Role::kAdmin},
      {"Admin.SaveAdapter", Role::kAdmin},
      {"Admin.RemoveAdapter", Role::kAdmin},
      {"Admin.GetAdapterSetup", Role::kAdmin},
      {"Admin.DiffTaxonomy", Role::kAdmin},
      {"Admin.ApplyTaxonomy", Role::kAdmin},
      {"Admin.TaxonomyHistory", Role::kAdmin},
      {"Admin.ListDeadLetters", Role::kAdmin},
      {"Admin.ReplayDelivery", Role::kAdmin},
      {"Admin.ShowTrackerTask", Role::kLead},
      {"Admin.SetTrackerTaskStatus", Role::kLead},
      {"Admin.CreateApiToken", Role::kAdmin},
      {"Admin.ListApiTokens", Role::kAdmin},
      {"Admin.RevokeApiToken", Role::kAdmin},
      {"Admin.Backfill", Role::kAdmin},
      {"Admin.MergePeople", Role::kAdmin},
      {"Admin.SplitPerson", Role::kAdmin},
      {"Insights.CausesOverTime", Role::kLead},
      {"Insights.TasksByImpact", Role::kLead},
      {"Insights.FixOutcomes", Role::kLead},
      {"Insights.CustomersVoice", Role::kLead},
      {"Admin.DiscardDelivery", Role::kAdmin},
      {"Admin.ListDeadActions", Role::kAdmin},
      {"Admin.RetryDeadAction", Role::kAdmin},
      {"Admin.DiscardDeadAction", Role::kAdmin},
      {"Admin.ListAudit", Role::kAdmin},
      {"Tagging.ListReview", Role::kAgent},
  };
  return *rules;
}

// What a caller that proves only a helpdesk installation may not do.
bool InstallationMayNot(absl::string_view method) {
  return method == "Improvements.RequestTask" || method == "Improvements.RefreshTask";
}

std::string Base64Url(absl::string_view bytes) {
  std::string out;
  absl::WebSafeBase64Escape(bytes, &out);
  return out;
}

std::string Mac(absl::string_view key, absl::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

}  // namespace

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  if (name == "agent") return Role::kAgent;
  if (name == "lead") return Role::kLead;
  if (name == "admin") return Role::kAdmin;
  return absl::InvalidArgumentError(
      absl::StrCat("role \"", name, "\" is not one of agent, lead, admin"));
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kAgent:
      return "agent";
    case Role::kLead:
      return "lead";
    case Role::kAdmin:
      return "admin";
  }
  return "agent";
}

bool Allowed(absl::string_view method, const Caller& caller) {
  auto it = Rules().find(method);
  if (it == Rules().end()) return false;
  if (caller.installation_only && InstallationMayNot(method)) return false;
  return static_cast<int>(caller.role) >= static_cast<int>(it->second);
}

std::string Refusal(absl::string_view method, const Caller& caller) {
  return absl::StrCat(caller.installation_only
                          ? std::string("a helpdesk installation's token")
                          : absl::StrCat(caller.role == Role::kAdmin ? "an " : "a ",
                                         RoleName(caller.role), " (", caller.name, ")"),
                      " may not call ", method);
}

std::vector<std::string> RuledMethods() {
  std::vector<std::string> out;
  for (const auto& [m, r] : Rules()) out.push_back(m);
  return out;
}

std::string NewTokenSecret() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) std::abort();  // no randomness: no tokens
  return absl::StrCat("dbt_", Base64Url(absl::string_view(reinterpret_cast<char*>(raw), 32)));
}

std::string HashTokenSecret(absl::string_view secret) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), sizeof digest));
}

Sessions::Sessions(std::string key, const spi::Clock& clock, absl::Duration ttl)
    : key_(std::move(key)), clock_(clock), ttl_(ttl) {}

std::string Sessions::Mint(const Caller& caller) const {
  const nlohmann::json claims = {{"n", caller.name},
                                 {"r", RoleName(caller.role)},
                                 {"h", caller.helpdesk_id},
                                 {"i", caller.installation_only},
                                 {"e", absl::ToUnixSeconds(clock_.Now() + ttl_)}};
  const std::string body =
      Base64Url(claims.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  const std::string signed_part = absl::StrCat("ds1.", body);
  return absl::StrCat(signed_part, ".", Base64Url(Mac(key_, signed_part)));
}

absl::StatusOr<Caller> Sessions::Verify(absl::string_view token) const {
  const std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3 || parts[0] != "ds1")
    return absl::UnauthenticatedError("not a Debrief session token");
  std::string mac;
  if (!absl::WebSafeBase64Unescape(parts[2], &mac))
    return absl::UnauthenticatedError("malformed session token");
  const std::string want = Mac(key_, absl::StrCat(parts[0], ".", parts[1]));
  if (mac.size() != want.size() || CRYPTO_memcmp(mac.data(), want.data(), want.size()) != 0)
    return absl::UnauthenticatedError("the session token's signature does not match");
  std::string json;
  if (!absl::WebSafeBase64Unescape(parts[1], &json))
    return absl::UnauthenticatedError("malformed session token");
  const nlohmann::json claims = nlohmann::json::parse(json, nullptr, false);
  if (!claims.is_object() || !claims.contains("e") || !claims["e"].is_number_integer())
    return absl::UnauthenticatedError("malformed session token");
  if (absl::FromUnixSeconds(claims["e"].get<int64_t>()) <= clock_.Now())
    return absl::UnauthenticatedError("the session has expired; sign in again");
  if (!claims.value("n", nlohmann::json()).is_string() ||
      !claims.value("r", nlohmann::json()).is_string() ||
      !claims.value("h", nlohmann::json()).is_string() ||
      !claims.value("i", nlohmann::json()).is_boolean())
    return absl::UnauthenticatedError("malformed session token");
  Caller c;
  c.name = claims.value("n", "");
  auto role = ParseRole(claims.value("r", ""));
  if (!role.ok()) return absl::UnauthenticatedError("malformed session token");
  c.role = *role;
  c.helpdesk_id = claims.value("h", "");
  c.installation_only = claims.value("i", false);
  return c;
}

}  // namespace debrief::auth
