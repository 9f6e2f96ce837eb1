#pragma once

#include <string>
#include <vector>

#include "debrief/v1/config.pb.h"

namespace debrief::config {

// One setting that differs between two configurations.
struct ConfigChange {
  std::string path;    // "loop.stall_window", "helpdesks[zendesk].settings.subdomain"
  std::string before;  // empty when added
  std::string after;   // empty when removed
};

// What changed from `before` to `after`, setting by setting, in the .proto's order. Adapters
// and categories are matched by id ("trackers[jira]"), so reordering them is no change; one
// added or removed is a single change. Durations read as written ("30s"), an adapter's settings
// as JSON; a setting whose name says it holds a secret shows "(changed)", never its value
// (secrets are references to environment variables or files, but a value typed in by mistake
// must not reach a log or the console).
std::vector<ConfigChange> DiffConfigs(const v1::Config& before, const v1::Config& after);

// The changes a running debriefd cannot apply (listener addresses and their limits, the store,
// data_dir, the session key), each as "http.listen: 127.0.0.1:8080 -> 0.0.0.0:8080".
std::vector<std::string> NeedRestart(const std::vector<ConfigChange>& changes);

}  // namespace debrief::config
