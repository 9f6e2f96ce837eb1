#pragma once

#include <string>

#include "debrief/spi/adapter_factory.h"

namespace debrief::adapters {

// Registers every adapter built into this binary. Called from main only; the core never
// names a vendor. Also hands the registry the settings messages' comments (SettingsDocs()).
void RegisterBuiltinAdapters(spi::AdapterRegistry& registry);

// Every built-in adapter's settings proto as a serialized FileDescriptorSet with source info
// (their comments), made at build time.
std::string SettingsDocs();

}  // namespace debrief::adapters
