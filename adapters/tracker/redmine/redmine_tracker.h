#pragma once

#include "debrief/spi/adapter_factory.h"

namespace debrief::adapters::redmine {

// Registers the `redmine` tracker type (Redmine REST API; followed by polling, since Redmine
// sends no webhooks).
void RegisterRedmine(spi::AdapterRegistry& registry);

}  // namespace debrief::adapters::redmine
