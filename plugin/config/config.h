#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "debrief/v1/config.pb.h"

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

}  // namespace debrief::config
