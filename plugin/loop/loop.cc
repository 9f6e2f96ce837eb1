// The loop: its adapters, the keys of its effects, and writing a task.
#include "loop/loop.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/purpose.h"
#include "base/time_util.h"
#include "loop/internal.h"
#include "loop/report.h"
#include "loop/verification.h"
#include "settings/settings.h"

namespace debrief::loop {

using internal::Active;
using internal::NotReady;
using internal::TaskRef;
using settings::ToDuration;

Loop::Loop(const v1::Config& config, spi::Store& store,
           std::map<std::string, spi::HelpdeskAdapter*> helpdesks,
           std::map<std::string, spi::TrackerAdapter*> trackers, policy::LinkPolicy& policy,
           const spi::Clock& clock)
    : config_(config.loop()),
      store_(store),
      helpdesks_(std::move(helpdesks)),
      trackers_(std::move(trackers)),
      policy_(policy),
      clock_(clock),
      poll_interval_(ToDuration(config.loop().status_poll_interval(), absl::Minutes(5))),
      follower_(
          "task-follower",
          [this] {
            base::ScopedPurpose purpose("status_poll");
            return Follow();
          },
          poll_interval_,
          /*drain_on_stop=*/false) {}

Loop::~Loop() { Stop(); }

void Loop::Start(std::function<bool()> active) {
  active_ = std::move(active);
  follower_.Start();
}
void Loop::Stop() { follower_.Stop(); }

absl::StatusOr<spi::TrackerAdapter*> Loop::Tracker(const std::string& id) {
  auto it = trackers_.find(id);
  if (it == trackers_.end())
    return absl::FailedPreconditionError(absl::StrCat("no tracker ", id, " is configured"));
  return it->second;
}

absl::StatusOr<spi::HelpdeskAdapter*> Loop::Helpdesk(const std::string& id) {
  auto it = helpdesks_.find(id);
  if (it == helpdesks_.end())
    return absl::FailedPreconditionError(absl::StrCat("no helpdesk ", id, " is configured"));
  return it->second;
}

absl::StatusOr<std::string> Loop::EffectKey(absl::string_view kind, absl::string_view rest) {
  std::lock_guard<std::mutex> l(installation_mu_);
  if (!installation_) {
    std::optional<std::string> id;
    absl::Status s = store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
      auto v = tx.GetCursor(spi::kInstallationCursor);
      if (!v.ok()) return v.status();
      id = *v;
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    if (!id || id->empty())
      return absl::FailedPreconditionError("the store has no installation id (schema too old?)");
    installation_ = *id;
  }
  return absl::StrCat("debrief-", kind, "-", *installation_, "-", rest);
}

absl::Status Loop::ReadTaskAndTicket(int64_t task_id, const std::string& helpdesk_id,
                                     const std::string& ticket_id, v1::ImprovementTask* task,
                                     spi::TicketRecord* ticket) {
  return store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto t = tx.GetTask(task_id);
    if (!t.ok()) return t.status();
    if (!*t) return absl::NotFoundError(absl::StrCat("task ", task_id, " is gone"));
    *task = std::move(**t);
    if (ticket_id.empty()) return absl::OkStatus();
    auto r = tx.GetTicket(helpdesk_id, ticket_id);
    if (!r.ok()) return r.status();
    if (!*r)
      return absl::NotFoundError(absl::StrCat("ticket ", helpdesk_id, "/", ticket_id, " is gone"));
    *ticket = std::move(**r);
    return absl::OkStatus();
  });
}

absl::Status Loop::WriteTask(const v1::ImprovementTask& task, const spi::TaskUpdate& u,
                             absl::Time at) {
  auto tracker = Tracker(task.tracker_id());
  if (!tracker.ok()) return tracker.status();
  if (absl::Status s = (*tracker)->UpdateTask(task.external_id(), u); !s.ok()) return s;
  // What the tracker now shows, for deciding when the next edit is worth it.
  return store_.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    auto t = tx.GetTask(task.id());
    if (!t.ok()) return t.status();
    if (!*t) return absl::OkStatus();
    (*t)->set_synced_ticket_count(static_cast<int64_t>(u.tickets.size()));
    base::SetTimestamp((*t)->mutable_synced_at(), at);
    return tx.UpdateTask(**t);
  });
}

}  // namespace debrief::loop
