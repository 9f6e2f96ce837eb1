#pragma once

#include "debrief/spi/adapter_factory.h"

namespace debrief::adapters::zendesk {

// Registers the `zendesk` helpdesk type: Zendesk Support (API v2) with event-subscribed
// webhooks signed by X-Zendesk-Webhook-Signature.
void RegisterZendesk(spi::AdapterRegistry& registry);

}  // namespace debrief::adapters::zendesk
