#include "policy/link_policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/time_util.h"
#include "config/config.h"
#include "settings/settings.h"

namespace debrief::policy {

LinkPolicy::LinkPolicy(const v1::Config& config, const spi::Clock& clock)
    : clock_(clock),
      config_(config.link_policy()),
      loop_(config.loop()),
      default_tracker_(config.default_tracker()) {
  for (const auto& c : config.taxonomy().categories()) categories_[c.id()] = c;
  counts_as_ = config::CountsAs(std::vector<v1::Category>(config.taxonomy().categories().begin(),
                                                          config.taxonomy().categories().end()));
}

std::vector<v1::Category> LinkPolicy::Categories() const {
  std::shared_lock<std::shared_mutex> l(categories_mu_);
  std::vector<v1::Category> out;
  out.reserve(categories_.size());
  for (const auto& [id, c] : categories_) out.push_back(c);
  return out;
}

const v1::Category* LinkPolicy::category(const std::string& id) const {
  std::shared_lock<std::shared_mutex> l(categories_mu_);
  auto it = categories_.find(id);
  return it == categories_.end() ? nullptr : &it->second;
}

void LinkPolicy::RemoveCategory(const std::string& id) {
  std::unique_lock<std::shared_mutex> l(categories_mu_);
  categories_.erase(id);
}

absl::Status LinkPolicy::AddCategory(const v1::Category& c) {
  std::unique_lock<std::shared_mutex> l(categories_mu_);
  if (!categories_.emplace(c.id(), c).second)
    return absl::AlreadyExistsError(absl::StrCat("category ", c.id(), " exists"));
  return absl::OkStatus();
}

std::string LinkPolicy::TrackerFor(const v1::Category& c) const {
  return c.routing().tracker_id().empty() ? default_tracker_ : c.routing().tracker_id();
}

std::vector<v1::Category> LinkPolicy::CategoriesOf(const std::string& tracker_id) const {
  std::shared_lock<std::shared_mutex> l(categories_mu_);
  std::vector<v1::Category> out;
  for (const auto& [id, c] : categories_)
    if (TrackerFor(c) == tracker_id) out.push_back(c);
  return out;
}

std::string LinkPolicy::TaskTitle(const v1::Category& c) {
  switch (c.kind()) {
    case v1::PRAISE:
      return absl::StrCat("Keep doing this: ", c.name());
    case v1::SUGGESTION:
      return absl::StrCat("Customer suggestion: ", c.name());
    case v1::QUESTION:
      return absl::StrCat("Answer it for good: ", c.name());
    default:
      return absl::StrCat("Root cause: ", c.name());
  }
}

absl::Status LinkPolicy::EnqueueWriteBack(spi::StoreTransaction& tx, const v1::Ticket& ticket,
                                          const v1::Classification& c, int64_t task_id) {
  v1::OutboxAction a;
  auto* wb = a.mutable_write_back();
  wb->set_helpdesk_id(ticket.helpdesk_id());
  wb->set_ticket_id(ticket.ticket_id());
  *wb->mutable_classification() = c;
  wb->set_task_id(task_id);
  // Keyed by what is written: a new category or task writes again, a replay does not.
  std::string key =
      absl::StrCat("writeback:", ticket.helpdesk_id(), ":", ticket.ticket_id(), ":",
                   c.category_id(), ":", c.needs_review() ? "review" : "tagged", ":", task_id);
  return tx.Enqueue(key, a, clock_.Now());
}

namespace {

absl::Status PutLink(spi::StoreTransaction& tx, const v1::Ticket& ticket, int64_t task_id,
                     v1::LinkOrigin origin) {
  v1::TaskLink link;
  link.set_task_id(task_id);
  link.set_helpdesk_id(ticket.helpdesk_id());
  link.set_ticket_id(ticket.ticket_id());
  link.set_origin(origin);
  return tx.PutLink(link);
}

}  // namespace

absl::Status LinkPolicy::Link(spi::StoreTransaction& tx, const v1::Ticket& ticket,
                              const v1::ImprovementTask& task, v1::LinkOrigin origin) {
  if (absl::Status s = PutLink(tx, ticket, task.id(), origin); !s.ok()) return s;
  // An agent's decision shows on the task at the next interval; the policy's links wait for
  // the impact to grow enough to be worth an edit.
  return EnqueueSync(tx, task.id(), /*force=*/origin == v1::LINK_AGENT);
}

absl::Status LinkPolicy::EnqueueSync(spi::StoreTransaction& tx, int64_t task_id, bool force) {
  // Debounced: every change within one interval shares one key and runs once, at the end of
  // the interval (the tracker sees one update per task per interval, not one per ticket).
  const absl::Duration every = settings::ToDuration(loop_.impact_interval(), absl::ZeroDuration());
  const absl::Time now = clock_.Now();
  v1::OutboxAction a;
  a.mutable_sync_task()->set_task_id(task_id);
  a.mutable_sync_task()->set_force(force);
  const char* kind = force ? ":force" : "";
  if (every <= absl::ZeroDuration())
    return tx.Enqueue(absl::StrCat("sync:", task_id, ":", absl::ToUnixMicros(now), kind), a, now);
  const int64_t bucket =
      absl::ToInt64Microseconds(now - absl::UnixEpoch()) / absl::ToInt64Microseconds(every);
  return tx.Enqueue(absl::StrCat("sync:", task_id, ":b", bucket, kind), a,
                    absl::UnixEpoch() + every * (bucket + 1));
}

absl::StatusOr<v1::ImprovementTask> LinkPolicy::OpenTask(spi::StoreTransaction& tx,
                                                         const v1::Category& cat,
                                                         const std::vector<v1::Ticket>& tickets,
                                                         v1::LinkOrigin origin,
                                                         const std::string& title) {
  auto last = tx.LastDoneTask(cat.id());
  if (!last.ok()) return last.status();
  v1::ImprovementTask task;
  task.set_category_id(cat.id());
  task.set_tracker_id(TrackerFor(cat));
  task.set_title(title.empty() ? TaskTitle(cat) : title);
  task.set_status(v1::TASK_PENDING_CREATE);
  if (*last) {
    // The cause came back after its task was done: a new task that points at the old one,
    // rather than reopening it silently.
    task.set_regression_of((*last)->id());
    task.set_title(absl::StrCat(task.title(), " (came back)"));
  }
  auto id = tx.InsertTask(task);
  if (!id.ok()) return id.status();
  task.set_id(*id);
  v1::TaskStatusChange change;
  change.set_task_id(*id);
  change.set_status(v1::TASK_PENDING_CREATE);
  base::SetTimestamp(change.mutable_at(), clock_.Now());
  change.set_source(origin == v1::LINK_AGENT ? "agent" : "policy");
  if (absl::Status s = tx.RecordStatusChange(change); !s.ok()) return s;
  v1::OutboxAction create;
  create.mutable_create_task()->set_task_id(*id);
  if (absl::Status s = tx.Enqueue(absl::StrCat("create:", *id), create, clock_.Now()); !s.ok())
    return s;
  for (const v1::Ticket& t : tickets) {
    // Linked before the task exists in the tracker: CreateTask carries them, no sync needed.
    if (absl::Status s = PutLink(tx, t, *id, origin); !s.ok()) return s;
    auto rec = tx.GetTicket(t.helpdesk_id(), t.ticket_id());
    if (!rec.ok()) return rec.status();
    if (*rec && (*rec)->classification) {
      if (absl::Status s = EnqueueWriteBack(tx, t, *(*rec)->classification, *id); !s.ok()) return s;
    }
  }
  return task;
}

absl::Status LinkPolicy::Apply(spi::StoreTransaction& tx, const v1::Ticket& ticket,
                               const v1::Classification& c) {
  auto existing = tx.GetLink(ticket.helpdesk_id(), ticket.ticket_id());
  if (!existing.ok()) return existing.status();
  const v1::Category* cat = category(c.category_id());
  // A retired category takes no new tickets (the classifier never picks one; an old ticket
  // classified again may still carry it): nothing links to it.
  const bool linkable =
      cat != nullptr && !cat->retired() && (!c.needs_review() || config_.link_needs_review());
  if (*existing || !linkable) {
    return EnqueueWriteBack(tx, ticket, c, *existing ? (*existing)->task_id() : 0);
  }

  auto active = tx.ActiveTask(cat->id());
  if (!active.ok()) return active.status();
  if (*active) {
    if (absl::Status s = Link(tx, ticket, **active, v1::LINK_POLICY); !s.ok()) return s;
    return EnqueueWriteBack(tx, ticket, c, (*active)->id());
  }

  auto last = tx.LastDoneTask(cat->id());
  if (!last.ok()) return last.status();
  if (*last && (*last)->status() == v1::TASK_DONE) {
    // Fixed, not yet shipped: the customers still meet the cause, and hear with the others
    // when the release is out.
    if (absl::Status s = Link(tx, ticket, **last, v1::LINK_POLICY); !s.ok()) return s;
    return EnqueueWriteBack(tx, ticket, c, (*last)->id());
  }
  absl::Time since = clock_.Now() - settings::ToDuration(config_.window(), absl::Hours(168));
  // After a task shipped, only tickets that came after it count towards the next one.
  if (*last && (*last)->has_shipped_at())
    since = std::max(since, base::FromTimestamp((*last)->shipped_at()));
  else if (*last && (*last)->has_done_at())
    since = std::max(since, base::FromTimestamp((*last)->done_at()));
  auto waiting = tx.UnlinkedTickets(cat->id(), since);
  if (!waiting.ok()) return waiting.status();
  const uint32_t threshold = cat->open_immediately()         ? 1
                             : cat->open_after_tickets() > 0 ? cat->open_after_tickets()
                                                             : config_.open_after_tickets();
  if (waiting->size() < threshold) return EnqueueWriteBack(tx, ticket, c, 0);
  auto task = OpenTask(tx, *cat, *waiting, v1::LINK_POLICY);
  return task.status();
}

absl::StatusOr<int> LinkPolicy::MoveLinks(spi::StoreTransaction& tx, int64_t from_task,
                                          int64_t to_task) {
  auto links = tx.LinksOfTask(from_task);
  if (!links.ok()) return links.status();
  int moved = 0;
  for (const v1::TaskLink& link : *links) {
    auto rec = tx.GetTicket(link.helpdesk_id(), link.ticket_id());
    if (!rec.ok()) return rec.status();
    if (!*rec) continue;
    v1::TaskLink relinked = link;  // when and how it was linked stay
    relinked.set_task_id(to_task);
    if (absl::Status s = tx.PutLink(relinked); !s.ok()) return s;
    if ((*rec)->classification) {
      if (absl::Status s = EnqueueWriteBack(tx, (*rec)->ticket, *(*rec)->classification, to_task);
          !s.ok())
        return s;
    }
    ++moved;
  }
  if (moved == 0) return 0;
  if (absl::Status s = EnqueueSync(tx, from_task, /*force=*/true); !s.ok()) return s;
  if (absl::Status s = EnqueueSync(tx, to_task, /*force=*/true); !s.ok()) return s;
  return moved;
}

absl::StatusOr<LinkPolicy::Requested> LinkPolicy::RequestTask(spi::StoreTransaction& tx,
                                                              const std::string& helpdesk_id,
                                                              const std::string& ticket_id,
                                                              const std::string& category_id,
                                                              const std::string& title) {
  auto rec = tx.GetTicket(helpdesk_id, ticket_id);
  if (!rec.ok()) return rec.status();
  if (!*rec) return absl::NotFoundError(absl::StrCat("no ticket ", helpdesk_id, "/", ticket_id));
  std::string cid = category_id;
  if (cid.empty() && (*rec)->classification) cid = (*rec)->classification->category_id();
  if (cid.empty())
    return absl::InvalidArgumentError(
        "the ticket has no category yet: name the category the task is for");
  const v1::Category* cat = category(cid);
  if (cat == nullptr) return absl::NotFoundError(absl::StrCat("no category ", cid));
  if (cat->retired())
    return absl::FailedPreconditionError(absl::StrCat(
        "category ", cid, " is retired",
        cat->merged_into().empty() ? "" : absl::StrCat(" (merged into ", counts_as_(cid), ")"),
        ": choose one that takes tickets"));
  auto active = tx.ActiveTask(cid);
  if (!active.ok()) return active.status();
  if (*active) {
    auto link = LinkByAgent(tx, helpdesk_id, ticket_id, (*active)->id());
    if (!link.ok()) return link.status();
    return Requested{**active, false};
  }
  // Fixed and waiting for its release: the ticket joins it.
  auto unshipped = tx.LastDoneTask(cid);
  if (!unshipped.ok()) return unshipped.status();
  if (*unshipped && (*unshipped)->status() == v1::TASK_DONE) {
    auto link = LinkByAgent(tx, helpdesk_id, ticket_id, (*unshipped)->id());
    if (!link.ok()) return link.status();
    return Requested{**unshipped, false};
  }
  auto old = tx.GetLink(helpdesk_id, ticket_id);
  if (!old.ok()) return old.status();
  if (*old) {
    if (absl::Status s = Unlink(tx, helpdesk_id, ticket_id); !s.ok()) return s;
  }
  auto task = OpenTask(tx, *cat, {(*rec)->ticket}, v1::LINK_AGENT, title);
  if (!task.ok()) return task.status();
  return Requested{*task, true};
}

absl::StatusOr<v1::TaskLink> LinkPolicy::LinkByAgent(spi::StoreTransaction& tx,
                                                     const std::string& helpdesk_id,
                                                     const std::string& ticket_id,
                                                     int64_t task_id) {
  auto rec = tx.GetTicket(helpdesk_id, ticket_id);
  if (!rec.ok()) return rec.status();
  if (!*rec) return absl::NotFoundError(absl::StrCat("no ticket ", helpdesk_id, "/", ticket_id));
  auto task = tx.GetTask(task_id);
  if (!task.ok()) return task.status();
  if (!*task) return absl::NotFoundError(absl::StrCat("no task ", task_id));
  // A task done but not shipped still takes tickets: they are told when it ships.
  if ((*task)->status() == v1::TASK_SHIPPED || (*task)->status() == v1::TASK_WONT_DO)
    return absl::FailedPreconditionError(absl::StrCat("task ", task_id, " is closed"));
  auto old = tx.GetLink(helpdesk_id, ticket_id);
  if (!old.ok()) return old.status();
  if (*old && (*old)->task_id() != task_id) {
    if (absl::Status s = Unlink(tx, helpdesk_id, ticket_id); !s.ok()) return s;
  }
  if (absl::Status s = Link(tx, (*rec)->ticket, **task, v1::LINK_AGENT); !s.ok()) return s;
  if ((*rec)->classification) {
    if (absl::Status s = EnqueueWriteBack(tx, (*rec)->ticket, *(*rec)->classification, task_id);
        !s.ok())
      return s;
  }
  auto link = tx.GetLink(helpdesk_id, ticket_id);
  if (!link.ok()) return link.status();
  return **link;
}

absl::Status LinkPolicy::Unlink(spi::StoreTransaction& tx, const std::string& helpdesk_id,
                                const std::string& ticket_id) {
  auto old = tx.GetLink(helpdesk_id, ticket_id);
  if (!old.ok()) return old.status();
  if (!*old)
    return absl::NotFoundError(absl::StrCat(helpdesk_id, "/", ticket_id, " is not linked"));
  if (absl::Status s = tx.DeleteLink(helpdesk_id, ticket_id); !s.ok()) return s;
  return EnqueueSync(tx, (*old)->task_id(), /*force=*/true);
}

}  // namespace debrief::policy
