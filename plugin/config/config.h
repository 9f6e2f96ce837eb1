#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "debrief/v1/config.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/struct.pb.h"

namespace debrief::config {

// Reads debrief.yaml into debrief.v1.Config. Keys are checked against the schema: an unknown
// key is INVALID_ARGUMENT naming its path ("trackers[0].setings"). Durations may be written
// "500ms", "30s", "15m", "2h", "7d". A taxonomy file named in taxonomy.file is merged in,
// relative paths resolve against the config file's folder, and defaults are filled in.
absl::StatusOr<v1::Config> LoadConfig(const std::string& path);

// The same, from YAML text (base_dir resolves relative paths).
absl::StatusOr<v1::Config> ParseConfig(const std::string& yaml, const std::string& base_dir);

// Validates cross-references (ids unique, default tracker exists, categories route to a
// configured tracker, keywords compile). Adapters check their own settings when created.
absl::Status ValidateConfig(const v1::Config& config);

// Reads the secret a SecretRef names; a relative file path resolves against `data_dir`. With
// `create` (debriefd only), a file ref with create: true that does not exist yet is made with a
// random secret (0600). The error names the variable or file, never a value.
absl::StatusOr<std::string> ResolveSecret(const v1::SecretRef& ref,
                                          const std::string& data_dir = "", bool create = false);

// Parses an adapter's `settings` into its own config message; unknown keys are errors.
absl::Status ParseSettings(const google::protobuf::Struct& settings, google::protobuf::Message* out,
                           const std::string& adapter_id);

absl::Duration ToDuration(const google::protobuf::Duration& d, absl::Duration fallback);

// Parses "500ms", "30s", "15m", "2h", "7d" (and combinations such as "1h30m").
absl::StatusOr<absl::Duration> ParseHumanDuration(const std::string& text);

}  // namespace debrief::config
