#pragma once

#include "debrief/spi/adapter_factory.h"

namespace debrief::adapters::gitlab {

// Registers the `gitlab` tracker type (GitLab issues).
void RegisterGitLab(spi::AdapterRegistry& registry);

}  // namespace debrief::adapters::gitlab
