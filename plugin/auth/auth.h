#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "debrief/spi/clock.h"

// Who may do what through Debrief's APIs. Every caller is a person or a tool with a role:
//   agent  reads tickets and tasks, corrects a root cause, links, asks for a task
//   lead   an agent's rights, and the leads' views (insights, promoting an emerging issue)
//   admin  everything (adapters, dead letters, tokens)
// A caller comes from an API token (stored hashed), from a session token debriefd minted, or
// from a helpdesk's proof of its signed-in agent (spi::HelpdeskAdapter::VerifyAgent). What each
// role may call is one table (Allowed), for every door.
namespace debrief::auth {

enum class Role { kAgent = 0, kLead = 1, kAdmin = 2 };

absl::StatusOr<Role> ParseRole(absl::string_view name);  // "agent", "lead", "admin"
const char* RoleName(Role role);

struct Caller {
  std::string name;  // the token's name, or the helpdesk's agent
  Role role = Role::kAgent;
  std::string helpdesk_id;  // set: this helpdesk's tickets only
  // A helpdesk that signs no agent identity (only its installation): reading, correcting and
  // linking, but not opening tasks.
  bool installation_only = false;
};

// Whether the caller may call the operation ("Tickets.GetTicket"): false for an operation the
// table does not name, so a new RPC is refused until it gets a rule.
bool Allowed(absl::string_view method, const Caller& caller);
// Why Allowed said no, for the caller to read ("a lead (lee) may not call Admin.Reload").
std::string Refusal(absl::string_view method, const Caller& caller);
// Every operation the table names (tests hold it to the services' methods).
std::vector<std::string> RuledMethods();

// A new API token's secret ("dbt_" and 43 random base64url characters) and the hash the store
// keeps of it (SHA-256, hex).
std::string NewTokenSecret();
std::string HashTokenSecret(absl::string_view secret);

// Session tokens: what a browser page holds (in memory, sent as Authorization: Bearer) after
// signing in, for `ttl`. Signed with HMAC-SHA256 under a key only debriefd knows, and bound to
// the caller; nothing is stored, so a restart with the same key keeps sessions valid.
class Sessions {
 public:
  Sessions(std::string key, const spi::Clock& clock, absl::Duration ttl);
  // "ds1.<claims>.<mac>", base64url.
  std::string Mint(const Caller& caller) const;
  // UNAUTHENTICATED with the reason (malformed, bad signature, expired).
  absl::StatusOr<Caller> Verify(absl::string_view token) const;
  absl::Duration ttl() const { return ttl_; }

 private:
  std::string key_;
  const spi::Clock& clock_;
  absl::Duration ttl_;
};

}  // namespace debrief::auth
