// Improvements and tickets: tasks listed and shown, an agent's links, a task asked for now, and
// one ticket with its classification and task.
#include "absl/strings/str_cat.h"
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
    for (auto& t : *tasks) *res.add_tasks() = std::move(t);
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
                                   req.category_id());
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
      if (*task) *res.mutable_task() = **task;
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return res;
}

}  // namespace debrief::service
