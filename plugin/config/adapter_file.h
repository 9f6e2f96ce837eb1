#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "debrief/v1/config.pb.h"
#include "google/protobuf/struct.pb.h"

// One adapter's own file in conf_dir (config.proto's Config.conf_dir), written by the admin
// console and `debriefctl adapters add`: the YAML a person would write by hand.
namespace debrief::config {

// `helpdesks:` or `trackers:` (by kind) with the one adapter, its settings as nested YAML,
// after `note` as comment lines.
std::string AdapterFileYaml(const std::string& kind, const v1::AdapterConfig& adapter,
                            const std::string& note);

// Puts `value` at a dotted path of an adapter's settings ("write_back.bearer_token"), making
// the groups on the way (a group that is not a mapping becomes one).
void SetSetting(google::protobuf::Struct& settings, const std::string& path,
                google::protobuf::Value value);

// Writes `data` to `path` through a temporary file in the same folder, flushed, then renamed
// over it: a reader sees the old file or the new one, never half of one. The file gets `mode`.
absl::Status WriteFileAtomically(const std::string& path, const std::string& data, mode_t mode);

}  // namespace debrief::config
