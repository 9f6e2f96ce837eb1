#pragma once

#include "debrief/spi/adapter_factory.h"

namespace debrief::adapters {

// Registers every adapter built into this binary. Called from main only; the core never
// names a vendor.
void RegisterBuiltinAdapters(spi::AdapterRegistry& registry);

}  // namespace debrief::adapters
