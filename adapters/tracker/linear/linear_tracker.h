#pragma once

#include "debrief/spi/adapter_factory.h"

namespace debrief::adapters::linear {

// Registers the `linear` tracker type (Linear, GraphQL).
void RegisterLinear(spi::AdapterRegistry& registry);

}  // namespace debrief::adapters::linear
