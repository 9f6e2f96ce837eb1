// Improvements and tickets: tasks listed and shown, an agent's links, a task asked for now, and
// one ticket with its classification and task.
#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "base/time_util.h"
#include "service/service.h"

namespace debrief::service {

absl::Status RequireTicketRef(const v1::TicketRef& ref) {
  if (ref.helpdesk_id().empty() || ref.ticket_id().empty())
    return absl::InvalidArgumentError("ticket.helpdesk_id and ticket.ticket_id are required");
  return absl::OkStatus();
}

Service::Service(Deps deps) : d_(std::move(deps)) {}

absl::StatusOr<v1::ListTasksResponse> Service::ListTasks(const v1::ListTasksRequest& req) {
  v1::ListTasksResponse res;
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto tasks = tx.ListTasks({req.category_id(), req.status()});
    if (!tasks.ok()) return tasks.status();
    for (auto& t : *tasks) {
      v1::ImprovementTask* out = res.add_tasks();
      *out = std::move(t);
      // Each task's weeks, for its trend (one indexed read per task).
      if (auto st = Decorate(tx, out); !st.ok()) return st;
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return res;
}

absl::StatusOr<v1::GetTaskResponse> Service::GetTask(const v1::GetTaskRequest& req) {
  v1::GetTaskResponse res;
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto t = tx.GetTask(req.task_id());
    if (!t.ok()) return t.status();
    if (!*t) return absl::NotFoundError(absl::StrCat("no task ", req.task_id()));
    *res.mutable_task() = **t;
    if (auto st = Decorate(tx, res.mutable_task()); !st.ok()) return st;
    auto links = tx.LinksOfTask(req.task_id());
    if (!links.ok()) return links.status();
    for (auto& l : *links) *res.add_links() = std::move(l);
    auto history = tx.StatusHistory(req.task_id());
    if (!history.ok()) return history.status();
    for (auto& h : *history) *res.add_history() = std::move(h);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return res;
}

absl::StatusOr<v1::LinkTicketResponse> Service::LinkTicket(const v1::LinkTicketRequest& req) {
  if (auto s = RequireTicketRef(req.ticket()); !s.ok()) return s;
  v1::LinkTicketResponse res;
  absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    auto link = d_.policy.LinkByAgent(tx, req.ticket().helpdesk_id(), req.ticket().ticket_id(),
                                      req.task_id());
    if (!link.ok()) return link.status();
    *res.mutable_link() = *link;
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  d_.outbox_changed();
  return res;
}

absl::StatusOr<v1::UnlinkTicketResponse> Service::UnlinkTicket(const v1::UnlinkTicketRequest& req) {
  if (auto s = RequireTicketRef(req.ticket()); !s.ok()) return s;
  absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) {
    return d_.policy.Unlink(tx, req.ticket().helpdesk_id(), req.ticket().ticket_id());
  });
  if (!s.ok()) return s;
  d_.outbox_changed();
  return v1::UnlinkTicketResponse();
}

absl::StatusOr<v1::RequestTaskResponse> Service::RequestTask(const v1::RequestTaskRequest& req) {
  if (auto s = RequireTicketRef(req.ticket()); !s.ok()) return s;
  v1::RequestTaskResponse res;
  absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    auto r = d_.policy.RequestTask(tx, req.ticket().helpdesk_id(), req.ticket().ticket_id(),
                                   req.category_id(), req.title());
    if (!r.ok()) return r.status();
    *res.mutable_task() = r->task;
    res.set_created(r->created);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  d_.outbox_changed();
  return res;
}

absl::StatusOr<v1::GetTicketResponse> Service::GetTicket(const v1::GetTicketRequest& req) {
  if (auto s = RequireTicketRef(req.ticket()); !s.ok()) return s;
  v1::GetTicketResponse res;
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto rec = tx.GetTicket(req.ticket().helpdesk_id(), req.ticket().ticket_id());
    if (!rec.ok()) return rec.status();
    if (!*rec)
      return absl::NotFoundError(
          absl::StrCat("no ticket ", req.ticket().helpdesk_id(), "/", req.ticket().ticket_id()));
    *res.mutable_ticket() = (*rec)->ticket;
    if ((*rec)->classification) *res.mutable_classification() = *(*rec)->classification;
    auto link = tx.GetLink(req.ticket().helpdesk_id(), req.ticket().ticket_id());
    if (!link.ok()) return link.status();
    if (*link) {
      *res.mutable_link() = **link;
      auto task = tx.GetTask((*link)->task_id());
      if (!task.ok()) return task.status();
      if (*task) {
        *res.mutable_task() = **task;
        if (auto st = Decorate(tx, res.mutable_task()); !st.ok()) return st;
      }
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return res;
}

absl::Status Service::Decorate(spi::StoreTransaction& tx, v1::ImprovementTask* task) const {
  constexpr int kWeeks = 8;
  if (d_.status_read_at) {
    if (auto at = d_.status_read_at(task->id()))
      base::SetTimestamp(task->mutable_status_read_at(), *at);
  }
  auto weekly = tx.WeeklyTicketsOfTask(task->id(), d_.clock.Now(), kWeeks);
  if (!weekly.ok()) return weekly.status();
  task->clear_weekly_tickets();
  for (int64_t n : *weekly) task->add_weekly_tickets(n);
  return absl::OkStatus();
}

absl::StatusOr<v1::JourneyEntry> Service::Entry(spi::StoreTransaction& tx,
                                                const spi::TicketRecord& r) const {
  v1::JourneyEntry e;
  *e.mutable_ticket() = r.ticket;
  // A helpdesk that sends no creation time: when Debrief first saw the ticket.
  if (!e.ticket().has_created_at() && r.first_seen > absl::UnixEpoch())
    base::SetTimestamp(e.mutable_ticket()->mutable_created_at(), r.first_seen);
  if (r.classification) *e.mutable_classification() = *r.classification;
  auto link = tx.GetLink(r.ticket.helpdesk_id(), r.ticket.ticket_id());
  if (!link.ok()) return link.status();
  if (*link) {
    auto task = tx.PeekTask((*link)->task_id());
    if (!task.ok()) return task.status();
    if (*task) {
      *e.mutable_task() = **task;
      e.set_told_fixed((*task)->status() == v1::TASK_SHIPPED);
    }
  }
  return e;
}

absl::StatusOr<v1::SearchTasksResponse> Service::SearchTasks(const v1::SearchTasksRequest& req) {
  v1::SearchTasksResponse res;
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto tasks = tx.SearchTasks(req.query(), req.category_id(),
                                req.limit() > 0 ? std::min(req.limit(), 200) : 20);
    if (!tasks.ok()) return tasks.status();
    for (auto& t : *tasks) *res.add_tasks() = std::move(t);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return res;
}

absl::StatusOr<v1::RefreshTaskResponse> Service::RefreshTask(const v1::RefreshTaskRequest& req) {
  if (!d_.refresh_task) return absl::UnimplementedError("tasks cannot be read back here");
  if (absl::Status s = d_.refresh_task(req.task_id()); !s.ok()) return s;
  v1::GetTaskRequest get;
  get.set_task_id(req.task_id());
  auto task = GetTask(get);
  if (!task.ok()) return task.status();
  v1::RefreshTaskResponse res;
  *res.mutable_task() = std::move(*task->mutable_task());
  return res;
}

absl::StatusOr<v1::GetJourneyResponse> Service::GetJourney(const v1::GetJourneyRequest& req) {
  if (auto s = RequireTicketRef(req.ticket()); !s.ok()) return s;
  v1::GetJourneyResponse res;
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto tickets = tx.TicketsOfSamePerson(req.ticket().helpdesk_id(), req.ticket().ticket_id(),
                                          req.limit() > 0 ? std::min(req.limit(), 500) : 50);
    if (!tickets.ok()) return tickets.status();
    if (tickets->empty())
      return absl::NotFoundError(
          absl::StrCat("no ticket ", req.ticket().helpdesk_id(), "/", req.ticket().ticket_id()));
    // Newest first; a repeat contact is one whose cause an older ticket of theirs had.
    std::map<std::string, int> causes;
    for (const auto& r : *tickets)
      if (r.classification && !r.classification->category_id().empty())
        ++causes[r.classification->category_id()];
    for (const spi::TicketRecord& r : *tickets) {
      auto e = Entry(tx, r);
      if (!e.ok()) return e.status();
      const std::string cause = r.classification ? r.classification->category_id() : "";
      if (!cause.empty()) e->set_repeat_contact(--causes[cause] > 0);
      *res.add_entries() = std::move(*e);
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return res;
}

absl::StatusOr<v1::SimilarTicketsResponse> Service::SimilarTickets(
    const v1::SimilarTicketsRequest& req) {
  if (auto s = RequireTicketRef(req.ticket()); !s.ok()) return s;
  const int limit = req.limit() > 0 ? std::min(req.limit(), 100) : 10;
  v1::SimilarTicketsResponse res;
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto rec = tx.GetTicket(req.ticket().helpdesk_id(), req.ticket().ticket_id());
    if (!rec.ok()) return rec.status();
    if (!*rec)
      return absl::NotFoundError(
          absl::StrCat("no ticket ", req.ticket().helpdesk_id(), "/", req.ticket().ticket_id()));
    if (!(*rec)->classification || (*rec)->classification->category_id().empty())
      return absl::OkStatus();
    auto open = tx.OpenTicketsOfCategory((*rec)->classification->category_id(), limit + 1);
    if (!open.ok()) return open.status();
    for (const spi::TicketRecord& r : *open) {
      if (r.ticket.helpdesk_id() == req.ticket().helpdesk_id() &&
          r.ticket.ticket_id() == req.ticket().ticket_id())
        continue;
      if (res.tickets_size() >= limit) break;
      auto e = Entry(tx, r);
      if (!e.ok()) return e.status();
      *res.add_tickets() = std::move(*e);
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return res;
}

}  // namespace debrief::service
