// The configuration loader on any bytes: YAML parsing, the mapping to the Config message,
// defaults and validation. It must answer with a status, never crash or hang.
#include <cstdint>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  auto c = debrief::config::ParseConfig(yaml, "/tmp/debrief-fuzz");
  if (c.ok()) (void)debrief::config::ValidateConfig(*c);
  return 0;
}
