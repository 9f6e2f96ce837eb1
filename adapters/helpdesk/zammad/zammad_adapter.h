#pragma once

#include "debrief/spi/adapter_factory.h"

namespace debrief::adapters::zammad {

// Registers the `zammad` helpdesk type: Zammad (REST API v1) with trigger webhooks signed by
// X-Hub-Signature (HMAC-SHA1).
void RegisterZammad(spi::AdapterRegistry& registry);

}  // namespace debrief::adapters::zammad
