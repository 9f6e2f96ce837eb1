#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "debrief/spi/adapter_factory.h"
#include "debrief/v1/config.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"

// Settings as people write them, into Protobuf messages: the machinery under debrief.yaml and
// under every adapter's `settings`, below the core so that adapters use it without reaching
// into it. Every key is checked against the message's schema (an unknown or misspelt key is an
// error naming its path), scalars may be written as text ("yes", "30"), and durations as
// people write them ("500ms", "30s", "15m", "2h", "7d").
//
//   v1::GenericHelpdeskConfig cfg;
//   if (auto s = settings::ParseSettings(config.settings(), &cfg, config.id()); !s.ok()) ...
//   auto secret = settings::ResolveSecret(cfg.secret(), ctx);
namespace debrief::settings {

// Fills `out` from `j` (Protobuf's JSON mapping after the checks above). `where` prefixes every
// error's path ("" for the whole config).
absl::Status FromJson(nlohmann::json j, google::protobuf::Message* out, const std::string& where);

// An adapter's `settings` into its own config message; unknown keys are errors.
absl::Status ParseSettings(const google::protobuf::Struct& settings, google::protobuf::Message* out,
                           const std::string& adapter_id);

// Reads the secret a SecretRef names; a relative file path resolves against `data_dir`. With
// `create` (debriefd only), a file ref with create: true that does not exist yet is made with a
// random secret (0600). The error names the variable or file, never a value.
absl::StatusOr<std::string> ResolveSecret(const v1::SecretRef& ref,
                                          const std::string& data_dir = "", bool create = false);

// The same for an adapter: relative to its data_dir, a missing `create` file as its context's
// secret_files says.
absl::StatusOr<std::string> ResolveSecret(const v1::SecretRef& ref, const spi::AdapterContext& ctx);

// The duration, or `fallback` when it is zero (unset).
absl::Duration ToDuration(const google::protobuf::Duration& d, absl::Duration fallback);

// Parses "500ms", "30s", "15m", "2h", "7d" (and combinations such as "1h30m").
absl::StatusOr<absl::Duration> ParseHumanDuration(const std::string& text);

// `p` against `base` unless it is absolute (or empty).
std::string ResolvePath(const std::string& base, const std::string& p);

absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace debrief::settings
