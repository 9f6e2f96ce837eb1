#include "register.h"

#include "helpdesk/freshdesk/freshdesk_adapter.h"
#include "helpdesk/generic/generic_adapter.h"
#include "helpdesk/rt/rt_adapter.h"
#include "helpdesk/zammad/zammad_adapter.h"
#include "helpdesk/zendesk/zendesk_adapter.h"
#include "tracker/builtin/builtin_tracker.h"
#include "tracker/github/github_tracker.h"
#include "tracker/gitlab/gitlab_tracker.h"
#include "tracker/jira/jira_tracker.h"
#include "tracker/linear/linear_tracker.h"
#include "tracker/redmine/redmine_tracker.h"

namespace debrief::adapters {

void RegisterBuiltinAdapters(spi::AdapterRegistry& registry) {
  generic::RegisterGenericHelpdesk(registry);
  zendesk::RegisterZendesk(registry);
  freshdesk::RegisterFreshdesk(registry);
  zammad::RegisterZammad(registry);
  rt::RegisterRequestTracker(registry);
  builtin::RegisterBuiltinTracker(registry);
  redmine::RegisterRedmine(registry);
  github::RegisterGitHub(registry);
  jira::RegisterJira(registry);
  gitlab::RegisterGitLab(registry);
  linear::RegisterLinear(registry);
  registry.set_settings_docs(SettingsDocs());
}

}  // namespace debrief::adapters
