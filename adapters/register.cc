#include "register.h"

#include "helpdesk/generic/generic_adapter.h"
#include "tracker/builtin/builtin_tracker.h"

namespace debrief::adapters {

void RegisterBuiltinAdapters(spi::AdapterRegistry& registry) {
  generic::RegisterGenericHelpdesk(registry);
  builtin::RegisterBuiltinTracker(registry);
}

}  // namespace debrief::adapters
