#pragma once

#include "debrief/spi/adapter_factory.h"

namespace debrief::adapters::rt {

// Registers the `rt` helpdesk type: Request Tracker 5 through REST2, webhooks from the
// scrip in deploy/apps/rt/ (HMAC-SHA256 over timestamp and body).
void RegisterRequestTracker(spi::AdapterRegistry& registry);

}  // namespace debrief::adapters::rt
