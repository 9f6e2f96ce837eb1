#pragma once

#include <memory>

#include "debrief/spi/adapter_factory.h"

namespace debrief::adapters::generic {

// Registers the `generic` helpdesk type: any JSON webhook, HMAC-SHA256 signed.
void RegisterGenericHelpdesk(spi::AdapterRegistry& registry);

}  // namespace debrief::adapters::generic
