// The public reply a customer gets when the fix ships, and whether they get one.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/time_util.h"
#include "loop/internal.h"
#include "loop/loop.h"
#include "loop/report.h"
#include "loop/verification.h"
#include "settings/settings.h"

namespace debrief::loop {

using internal::Active;
using internal::NotReady;
using internal::TaskRef;
using settings::ToDuration;

bool Loop::ShouldReply(const v1::Category* cat, const spi::TicketRecord& r) const {
  if (!config_.public_replies() || cat == nullptr || !cat->public_reply()) return false;
  const v1::Ticket& t = r.ticket;
  const std::string& st = t.status();
  if (st == "solved" || st == "closed") {
    // Recently solved tickets only: an old conversation is not reopened.
    absl::Time last = t.has_updated_at()   ? base::FromTimestamp(t.updated_at())
                      : t.has_created_at() ? base::FromTimestamp(t.created_at())
                                           : r.first_seen;
    return clock_.Now() - last <= ToDuration(config_.reply_solved_within(), absl::Hours(24 * 30));
  }
  return true;
}

std::string Loop::ReplyText(const v1::Category* cat, const v1::ImprovementTask& task,
                            const v1::Ticket& t) {
  std::string tmpl = cat ? cat->reply_template() : "";
  if (tmpl.empty()) {
    switch (cat ? cat->kind() : v1::COMPLAINT) {
      case v1::SUGGESTION:
        tmpl =
            "Hi {name},\n\nYou suggested {category}, and it has shipped. Thank you for the idea: "
            "you are credited in the work that made it happen.";
        break;
      case v1::PRAISE:
        tmpl =
            "Hi {name},\n\nThank you again for your kind words about {category}. We shared them "
            "with the team, and we are making sure to keep doing it.";
        break;
      default:
        tmpl =
            "Hi {name},\n\nYou told us about {category}. We have changed it, so it should not "
            "happen again. Thank you for telling us: it helped us fix it for everyone.";
    }
  }
  std::string first;
  for (absl::string_view part : absl::StrSplit(t.requester().name(), ' ', absl::SkipEmpty())) {
    first = std::string(part);
    break;
  }
  if (first.empty()) first = "there";
  return absl::StrReplaceAll(tmpl, {{"{name}", first},
                                    {"{category}", cat ? cat->name() : task.category_id()},
                                    {"{task_title}", task.title()},
                                    {"{release}", task.release()},
                                    {"{ticket_id}", t.ticket_id()}});
}

}  // namespace debrief::loop
