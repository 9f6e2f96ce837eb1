#pragma once

#include "debrief/spi/adapter_factory.h"

namespace debrief::adapters::github {

// Registers the `github` tracker type (GitHub Issues).
void RegisterGitHub(spi::AdapterRegistry& registry);

}  // namespace debrief::adapters::github
