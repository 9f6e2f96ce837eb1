#pragma once

#include "debrief/spi/adapter_factory.h"

namespace debrief::adapters::freshdesk {

// Registers the `freshdesk` helpdesk type: Freshdesk (API v2) with automation-rule webhooks
// that carry a shared secret (Freshdesk does not sign them).
void RegisterFreshdesk(spi::AdapterRegistry& registry);

}  // namespace debrief::adapters::freshdesk
