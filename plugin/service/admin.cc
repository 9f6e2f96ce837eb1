// Admin: the running config, the adapters and their checks, dead letters, backfills.
#include <iostream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "auth/auth.h"
#include "base/log.h"
#include "base/thread_name.h"
#include "base/time_util.h"
#include "google/protobuf/text_format.h"
#include "ingress/reconciler.h"
#include "service/service.h"

namespace debrief::service {

absl::StatusOr<v1::GetConfigResponse> Service::GetConfig(const v1::GetConfigRequest&) {
  // Secrets are SecretRefs (env or file names), never values, so the config is safe to show.
  v1::GetConfigResponse res;
  *res.mutable_config() = d_.config;
  res.set_file(d_.config_file);
  if (d_.config_loaded_at != absl::InfinitePast())
    base::SetTimestamp(res.mutable_loaded_at(), d_.config_loaded_at);
  return res;
}

absl::StatusOr<v1::ReloadResponse> Service::Reload(const v1::ReloadRequest& req) {
  if (!d_.reload)
    return absl::FailedPreconditionError("this process cannot reload its configuration");
  return d_.reload(req, "");
}

absl::StatusOr<v1::ListAdaptersResponse> Service::ListAdapters(const v1::ListAdaptersRequest&) {
  v1::ListAdaptersResponse res;
  const std::string public_url(absl::StripSuffix(d_.config.http().public_url(), "/"));
  for (const auto& h : d_.config.helpdesks()) {
    v1::AdapterInfo* a = res.add_adapters();
    a->set_id(h.id());
    a->set_type(h.type());
    a->set_kind("helpdesk");
    a->set_webhook_path(absl::StrCat("/webhooks/", h.id()));
    if (!public_url.empty()) a->set_webhook_url(absl::StrCat(public_url, a->webhook_path()));
    a->set_file(ManagedFile(h.id()));
  }
  for (const auto& t : d_.config.trackers()) {
    v1::AdapterInfo* a = res.add_adapters();
    a->set_id(t.id());
    a->set_type(t.type());
    a->set_kind("tracker");
    a->set_file(ManagedFile(t.id()));
    if (d_.trackers.contains(t.id()) && d_.trackers.at(t.id())->sends_webhooks()) {
      a->set_webhook_path(absl::StrCat("/webhooks/", t.id()));
      if (!public_url.empty()) a->set_webhook_url(absl::StrCat(public_url, a->webhook_path()));
    }
  }
  auto depths = OutboxDepths();
  if (!depths.ok()) return depths.status();
  const absl::Time now = d_.clock.Now();
  // Only what has happened: an unset time stays unset.
  auto stamp = [](v1::AdapterHealth& h, google::protobuf::Timestamp* (v1::AdapterHealth::*field)(),
                  absl::Time t) {
    if (t != absl::InfinitePast() && t != absl::InfiniteFuture())
      base::SetTimestamp((h.*field)(), t);
  };
  for (v1::AdapterInfo& a : *res.mutable_adapters()) {
    v1::AdapterHealth& h = *a.mutable_health();
    if (auto d = depths->find(a.id()); d != depths->end()) {
      h.set_outbox_pending(d->second.pending);
      h.set_outbox_dead(d->second.dead);
    }
    if (d_.health == nullptr) continue;
    const metrics::AdapterHealth::View v = d_.health->Of(a.id(), now);
    stamp(h, &v1::AdapterHealth::mutable_last_webhook, v.last_webhook);
    for (const auto& [reason, n] : v.refusals_last_hour)
      (*h.mutable_refusals_last_hour())[reason] = n;
    stamp(h, &v1::AdapterHealth::mutable_last_success, v.last_success);
    stamp(h, &v1::AdapterHealth::mutable_last_error_at, v.last_error_at);
    h.set_last_error(v.last_error);
    h.set_calls_ok(v.calls_ok);
    h.set_calls_failed(v.calls_failed);
    h.set_rate_limit_waits(v.rate_limit_waits);
    stamp(h, &v1::AdapterHealth::mutable_reconciled_to, v.reconciled_to);
    stamp(h, &v1::AdapterHealth::mutable_next_reconcile, v.next_reconcile);
  }
  return res;
}

absl::StatusOr<v1::ListDeadLettersResponse> Service::ListDeadLetters(
    const v1::ListDeadLettersRequest& req) {
  auto letters = d_.store.ListDeadLetters(req.limit() > 0 ? req.limit() : 100);
  if (!letters.ok()) return letters.status();
  v1::ListDeadLettersResponse res;
  for (const spi::DeadLetter& l : *letters) {
    v1::DeadLetter* out = res.add_dead_letters();
    out->set_seq(l.seq);
    out->set_adapter_id(l.adapter_id);
    out->set_delivery_key(l.delivery_key);
    if (l.received_at != absl::UnixEpoch())
      base::SetTimestamp(out->mutable_received_at(), l.received_at);
    base::SetTimestamp(out->mutable_failed_at(), l.failed_at);
    out->set_attempts(l.attempts);
    out->set_error(l.error);
  }
  return res;
}

absl::StatusOr<v1::ReplayDeliveryResponse> Service::ReplayDelivery(
    const v1::ReplayDeliveryRequest& req) {
  auto state = d_.replay_delivery(req.seq());
  if (!state.ok()) return state.status();
  v1::ReplayDeliveryResponse res;
  res.set_outcome(*state == spi::DeliveryState::kProcessed ? "processed" : "ignored");
  d_.outbox_changed();
  return res;
}

absl::StatusOr<v1::CreateApiTokenResponse> Service::CreateApiToken(
    const v1::CreateApiTokenRequest& req) {
  if (req.name().empty()) return absl::InvalidArgumentError("name the token's holder");
  if (auto role = auth::ParseRole(req.role()); !role.ok()) return role.status();
  if (!req.helpdesk_id().empty() && !d_.helpdesks.contains(req.helpdesk_id()))
    return absl::InvalidArgumentError(absl::StrCat("no helpdesk \"", req.helpdesk_id(), "\""));
  if (req.installation() && (req.helpdesk_id().empty() || req.role() != "agent"))
    return absl::InvalidArgumentError(
        "an installation's token is an agent token for one helpdesk (give helpdesk_id)");
  v1::CreateApiTokenResponse res;
  v1::ApiToken& t = *res.mutable_token();
  t.set_name(req.name());
  t.set_role(req.role());
  t.set_helpdesk_id(req.helpdesk_id());
  t.set_installation(req.installation());
  const std::string secret = auth::NewTokenSecret();
  absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    auto id = tx.PutApiToken(t, auth::HashTokenSecret(secret));
    if (!id.ok()) return id.status();
    t.set_id(*id);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  base::SetTimestamp(t.mutable_created_at(), d_.clock.Now());
  res.set_secret(secret);
  return res;
}

absl::StatusOr<v1::ListApiTokensResponse> Service::ListApiTokens(const v1::ListApiTokensRequest&) {
  v1::ListApiTokensResponse res;
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto tokens = tx.ListApiTokens();
    if (!tokens.ok()) return tokens.status();
    for (auto& t : *tokens) *res.add_tokens() = std::move(t);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return res;
}

absl::StatusOr<v1::RevokeApiTokenResponse> Service::RevokeApiToken(
    const v1::RevokeApiTokenRequest& req) {
  absl::Status s = d_.store.Transact(
      [&](spi::StoreTransaction& tx) { return tx.RevokeApiToken(req.id(), d_.clock.Now()); });
  if (!s.ok()) return s;
  return v1::RevokeApiTokenResponse();
}

namespace {

// The identity an admin names: a ticket's requester, or an e-mail address.
absl::StatusOr<std::string> IdentityOf(spi::StoreTransaction& tx, const v1::PersonRef& ref,
                                       absl::string_view which) {
  switch (ref.person_case()) {
    case v1::PersonRef::kTicket: {
      auto p = tx.PersonOfTicket(ref.ticket().helpdesk_id(), ref.ticket().ticket_id());
      if (!p.ok()) return p.status();
      if (p->empty())
        return absl::NotFoundError(absl::StrCat(which, ": ticket ", ref.ticket().helpdesk_id(), "/",
                                                ref.ticket().ticket_id(),
                                                " is unknown or names no requester"));
      return *p;
    }
    case v1::PersonRef::kEmail:
      if (ref.email().find('@') == std::string::npos)
        return absl::InvalidArgumentError(absl::StrCat(which, ": not an e-mail address"));
      return tx.PersonOfEmail(ref.email());
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(which, ": name a ticket or an e-mail address"));
  }
}

}  // namespace

absl::StatusOr<v1::MergePeopleResponse> Service::MergePeople(const v1::MergePeopleRequest& req) {
  v1::MergePeopleResponse res;
  absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    auto person = IdentityOf(tx, req.person(), "person");
    if (!person.ok()) return person.status();
    auto into = IdentityOf(tx, req.into(), "into");
    if (!into.ok()) return into.status();
    auto n = tx.MergePeople(*person, *into, d_.clock.Now());
    if (!n.ok()) return n.status();
    res.set_identities(*n);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return res;
}

absl::StatusOr<v1::SplitPersonResponse> Service::SplitPerson(const v1::SplitPersonRequest& req) {
  absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    auto person = IdentityOf(tx, req.person(), "person");
    if (!person.ok()) return person.status();
    return tx.SplitPerson(*person);
  });
  if (!s.ok()) return s;
  return v1::SplitPersonResponse();
}

absl::StatusOr<spi::TrackerAdapter*> Service::TrackerOf(const std::string& id) const {
  const std::string& want = id.empty() ? d_.config.default_tracker() : id;
  auto t = d_.trackers.find(want);
  if (t == d_.trackers.end()) return absl::NotFoundError(absl::StrCat("no tracker \"", want, "\""));
  return t->second;
}

absl::StatusOr<v1::TrackerTaskView> Service::ViewOf(spi::TrackerAdapter& tracker,
                                                    const std::string& external_id) const {
  if (external_id.empty()) return absl::InvalidArgumentError("external_id is required");
  auto view = tracker.ShowTask(external_id);
  if (!view.ok()) return view.status();
  v1::TrackerTaskView out;
  out.set_tracker_id(tracker.id());
  out.set_external_id(view->task.external_id);
  out.set_external_key(view->task.external_key);
  out.set_url(view->task.url);
  out.set_status(view->task.status);
  out.set_title(view->title);
  out.set_description(view->description);
  for (const auto& l : view->labels) out.add_labels(l);
  for (const auto& c : view->comments) out.add_comments(c);
  for (const auto& t : view->linked_tickets) out.add_linked_tickets(t);
  return out;
}

absl::StatusOr<v1::ShowTrackerTaskResponse> Service::ShowTrackerTask(
    const v1::ShowTrackerTaskRequest& req) {
  auto tracker = TrackerOf(req.tracker_id());
  if (!tracker.ok()) return tracker.status();
  auto view = ViewOf(**tracker, req.external_id());
  if (!view.ok()) return view.status();
  v1::ShowTrackerTaskResponse res;
  *res.mutable_task() = std::move(*view);
  return res;
}

absl::StatusOr<v1::SetTrackerTaskStatusResponse> Service::SetTrackerTaskStatus(
    const v1::SetTrackerTaskStatusRequest& req) {
  if (req.status() == v1::TASK_STATUS_UNSPECIFIED || req.status() == v1::TASK_PENDING_CREATE ||
      !v1::TaskStatus_IsValid(req.status()))
    return absl::InvalidArgumentError("status: open, in progress, done, shipped or won't do");
  auto tracker = TrackerOf(req.tracker_id());
  if (!tracker.ok()) return tracker.status();
  if (req.external_id().empty()) return absl::InvalidArgumentError("external_id is required");
  if (auto s = (*tracker)->SetTaskStatus(req.external_id(), req.status()); !s.ok()) return s;
  auto view = ViewOf(**tracker, req.external_id());
  if (!view.ok()) return view.status();
  v1::SetTrackerTaskStatusResponse res;
  *res.mutable_task() = std::move(*view);
  return res;
}

absl::StatusOr<v1::BackfillProgress> Service::Backfill(const v1::BackfillRequest& req,
                                                       const BackfillProgressFn& progress) {
  auto h = d_.helpdesks.find(req.helpdesk_id());
  if (h == d_.helpdesks.end())
    return absl::NotFoundError(absl::StrCat("no helpdesk \"", req.helpdesk_id(), "\""));
  if (!req.has_since())
    return absl::InvalidArgumentError("since is required (the first date to import)");
  {
    std::lock_guard<std::mutex> l(backfills_mu_);
    if (backfills_stopping_) return absl::UnavailableError("debriefd is stopping");
    ++backfills_running_;
  }
  auto as_message = [](const ingress::ListingProgress& p, bool done) {
    v1::BackfillProgress m;
    m.set_pages(p.pages);
    m.set_listed(p.listed);
    m.set_stored(p.stored);
    m.set_total(p.total);
    m.set_done(done && p.caught_up);
    return m;
  };
  const absl::Time since = base::FromTimestamp(req.since());
  spi::HelpdeskAdapter& helpdesk = *h->second;
  auto listed =
      ingress::ListIntoInbox(d_.store, helpdesk, ingress::BackfillCursor(helpdesk.id(), since),
                             since, d_.clock, [&](const ingress::ListingProgress& p) {
                               const bool go_on = progress(as_message(p, false));
                               std::lock_guard<std::mutex> l(backfills_mu_);
                               return go_on && !backfills_stopping_;
                             });
  {
    std::lock_guard<std::mutex> l(backfills_mu_);
    --backfills_running_;
    backfills_cv_.notify_all();
  }
  if (!listed.ok()) return listed.status();
  return as_message(*listed, true);
}

void Service::StopBackfills() {
  std::unique_lock<std::mutex> l(backfills_mu_);
  backfills_stopping_ = true;
  backfills_cv_.wait(l, [&] { return backfills_running_ == 0; });
}

}  // namespace debrief::service

namespace debrief::service {
namespace {

// The adapter an outbox action is for, and what it is about.
struct ActionSubject {
  std::string kind;
  std::string helpdesk_id, ticket_id;
  int64_t task_id = 0;
};

ActionSubject SubjectOf(const v1::OutboxAction& a) {
  ActionSubject s;
  const google::protobuf::OneofDescriptor* oneof = a.GetDescriptor()->FindOneofByName("action");
  if (const auto* f = a.GetReflection()->GetOneofFieldDescriptor(a, oneof)) s.kind = f->name();
  switch (a.action_case()) {
    case v1::OutboxAction::kCreateTask:
      s.task_id = a.create_task().task_id();
      break;
    case v1::OutboxAction::kLink:
      s.task_id = a.link().task_id();
      s.helpdesk_id = a.link().helpdesk_id();
      s.ticket_id = a.link().ticket_id();
      break;
    case v1::OutboxAction::kUnlink:
      s.task_id = a.unlink().task_id();
      s.helpdesk_id = a.unlink().helpdesk_id();
      s.ticket_id = a.unlink().ticket_id();
      break;
    case v1::OutboxAction::kWriteBack:
      s.helpdesk_id = a.write_back().helpdesk_id();
      s.ticket_id = a.write_back().ticket_id();
      s.task_id = a.write_back().task_id();
      break;
    case v1::OutboxAction::kSyncTask:
      s.task_id = a.sync_task().task_id();
      break;
    case v1::OutboxAction::kNotifyTicket:
      s.helpdesk_id = a.notify_ticket().helpdesk_id();
      s.ticket_id = a.notify_ticket().ticket_id();
      s.task_id = a.notify_ticket().task_id();
      break;
    case v1::OutboxAction::kReply:
      s.helpdesk_id = a.reply().helpdesk_id();
      s.ticket_id = a.reply().ticket_id();
      s.task_id = a.reply().task_id();
      break;
    case v1::OutboxAction::kVerifyFix:
      s.task_id = a.verify_fix().task_id();
      break;
    case v1::OutboxAction::kChaseStalled:
      s.task_id = a.chase_stalled().task_id();
      break;
    case v1::OutboxAction::kClearStall:
      s.task_id = a.clear_stall().task_id();
      break;
    case v1::OutboxAction::ACTION_NOT_SET:
      break;
  }
  return s;
}

// The helpdesk actions write to the helpdesk; the rest to the task's tracker.
bool IsHelpdeskAction(const v1::OutboxAction& a) {
  return a.has_write_back() || a.has_notify_ticket() || a.has_reply();
}

// Outbox entries with the adapter each is for (a task's tracker read once per task).
absl::StatusOr<std::vector<std::pair<spi::OutboxEntry, std::string>>> WithAdapters(
    spi::StoreTransaction& tx, std::vector<spi::OutboxEntry> entries) {
  std::map<int64_t, std::string> tracker_of;
  std::vector<std::pair<spi::OutboxEntry, std::string>> out;
  out.reserve(entries.size());
  for (spi::OutboxEntry& e : entries) {
    const ActionSubject s = SubjectOf(e.action);
    std::string adapter;
    if (IsHelpdeskAction(e.action)) {
      adapter = s.helpdesk_id;
    } else if (s.task_id != 0) {
      auto it = tracker_of.find(s.task_id);
      if (it == tracker_of.end()) {
        auto task = tx.PeekTask(s.task_id);
        if (!task.ok()) return task.status();
        it = tracker_of.emplace(s.task_id, *task ? (*task)->tracker_id() : "").first;
      }
      adapter = it->second;
    }
    out.emplace_back(std::move(e), std::move(adapter));
  }
  return out;
}

// The request as an audit target: one line, e-mail addresses and long texts left out.
void Mask(google::protobuf::Message& m) {
  const google::protobuf::Reflection* r = m.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const auto* f : fields) {
    if (f->is_map() && f->name() == "secrets") {  // typed secrets: their paths only
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        google::protobuf::Message* entry = r->MutableRepeatedMessage(&m, f, i);
        const auto* value = entry->GetDescriptor()->map_value();
        entry->GetReflection()->SetString(entry, value, "(secret)");
      }
      continue;
    }
    if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(m, f); ++i) Mask(*r->MutableRepeatedMessage(&m, f, i));
      } else {
        Mask(*r->MutableMessage(&m, f));
      }
    } else if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING &&
               !f->is_repeated() && absl::StrContains(r->GetString(m, f), "@")) {
      r->SetString(&m, f, "(an e-mail address)");
    }
  }
}

std::string TargetOf(const google::protobuf::Message& request) {
  std::unique_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  Mask(*copy);
  google::protobuf::TextFormat::Printer p;
  p.SetSingleLineMode(true);
  p.SetTruncateStringFieldLongerThan(80);
  std::string out;
  p.PrintToString(*copy, &out);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

absl::StatusOr<v1::DiscardDeliveryResponse> Service::DiscardDelivery(
    const v1::DiscardDeliveryRequest& req) {
  if (!req.all() && req.seq() <= 0)
    return absl::InvalidArgumentError("name a delivery (seq) or all");
  std::vector<int64_t> seqs;
  if (req.all()) {
    auto letters = d_.store.ListDeadLetters(100000);
    if (!letters.ok()) return letters.status();
    for (const auto& l : *letters) seqs.push_back(l.seq);
  } else {
    seqs.push_back(req.seq());
  }
  v1::DiscardDeliveryResponse res;
  absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    for (int64_t seq : seqs) {
      auto state = tx.GetDeliveryState(seq);
      if (!state.ok()) return state.status();
      if (*state != spi::DeliveryState::kFailed) {
        if (req.all()) continue;  // replayed meanwhile
        return absl::FailedPreconditionError(
            absl::StrCat("delivery ", seq, " is not a dead letter"));
      }
      if (absl::Status m = tx.MarkDelivery(seq, spi::DeliveryState::kDiscarded, "discarded");
          !m.ok())
        return m;
      res.set_discarded(res.discarded() + 1);
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return res;
}

absl::StatusOr<v1::ListDeadActionsResponse> Service::ListDeadActions(
    const v1::ListDeadActionsRequest& req) {
  v1::ListDeadActionsResponse res;
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto dead = tx.ListActions(spi::ActionState::kDead, req.limit() > 0 ? req.limit() : 100);
    if (!dead.ok()) return dead.status();
    auto with = WithAdapters(tx, std::move(*dead));
    if (!with.ok()) return with.status();
    for (const auto& [e, adapter] : *with) {
      const ActionSubject subject = SubjectOf(e.action);
      v1::DeadAction* a = res.add_dead_actions();
      a->set_id(e.id);
      a->set_adapter_id(adapter);
      a->set_kind(subject.kind);
      if (!subject.ticket_id.empty()) {
        a->mutable_ticket()->set_helpdesk_id(subject.helpdesk_id);
        a->mutable_ticket()->set_ticket_id(subject.ticket_id);
      }
      a->set_task_id(subject.task_id);
      a->set_attempts(e.attempts);
      a->set_error(e.last_error);
      base::SetTimestamp(a->mutable_created_at(), e.created_at);
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return res;
}

absl::StatusOr<v1::RetryDeadActionResponse> Service::RetryDeadAction(
    const v1::RetryDeadActionRequest& req) {
  if (!req.all() && req.id() <= 0) return absl::InvalidArgumentError("name an action (id) or all");
  v1::RetryDeadActionResponse res;
  absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    auto n = tx.ReviveDeadActions(req.all() ? 0 : req.id(), d_.clock.Now());
    if (!n.ok()) return n.status();
    res.set_retried(*n);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (res.retried() > 0) d_.outbox_changed();
  return res;
}

absl::StatusOr<v1::DiscardDeadActionResponse> Service::DiscardDeadAction(
    const v1::DiscardDeadActionRequest& req) {
  if (!req.all() && req.id() <= 0) return absl::InvalidArgumentError("name an action (id) or all");
  v1::DiscardDeadActionResponse res;
  absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    auto n = tx.DiscardDeadActions(req.all() ? 0 : req.id());
    if (!n.ok()) return n.status();
    res.set_discarded(*n);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return res;
}

absl::StatusOr<std::map<std::string, OutboxDepth>> Service::OutboxDepths() {
  std::map<std::string, OutboxDepth> out;
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    for (spi::ActionState state : {spi::ActionState::kPending, spi::ActionState::kDead}) {
      auto entries = tx.ListActions(state, 10000);
      if (!entries.ok()) return entries.status();
      auto with = WithAdapters(tx, std::move(*entries));
      if (!with.ok()) return with.status();
      for (const auto& [e, adapter] : *with) {
        OutboxDepth& d = out[adapter];
        ++(state == spi::ActionState::kPending ? d.pending : d.dead);
        if (state == spi::ActionState::kPending)
          d.oldest_pending = std::min(d.oldest_pending, e.created_at);
      }
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

bool Service::IsAudited(const std::string& method) {
  static const auto* const kAudited =
      new std::set<std::string>{"Tagging.Feedback",           "Tagging.PromoteEmerging",
                                "Improvements.LinkTicket",    "Improvements.UnlinkTicket",
                                "Improvements.RequestTask",   "Improvements.RefreshTask",
                                "Admin.CreateApiToken",       "Admin.RevokeApiToken",
                                "Admin.MergePeople",          "Admin.SplitPerson",
                                "Admin.ReplayDelivery",       "Admin.DiscardDelivery",
                                "Admin.RetryDeadAction",      "Admin.DiscardDeadAction",
                                "Admin.SetTrackerTaskStatus", "Admin.Backfill",
                                "Admin.SaveAdapter",          "Admin.RemoveAdapter",
                                "Admin.ApplyTaxonomy",        "Admin.Reload"};
  return kAudited->contains(method);
}

void Service::Audit(const std::string& actor, const std::string& method,
                    const google::protobuf::Message& request, const absl::Status& outcome) {
  if (!IsAudited(method)) return;
  spi::AuditRecord r;
  r.at = d_.clock.Now();
  r.actor = actor.empty() ? "(unnamed)" : actor;
  r.action = method;
  r.target = TargetOf(request);
  r.outcome = outcome.ok() ? "ok" : absl::StatusCodeToString(outcome.code());
  absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) { return tx.AppendAudit(r); });
  if (!s.ok())
    base::log::Error("audit", "could not record a change",
                     {{"action", method}, {"actor", r.actor}, {"error", s.ToString()}});
}

absl::StatusOr<v1::ListAuditResponse> Service::ListAudit(const v1::ListAuditRequest& req) {
  v1::ListAuditResponse res;
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto entries = tx.ListAudit(req.limit() > 0 ? std::min(req.limit(), 1000) : 100,
                                req.before_id(), req.actor());
    if (!entries.ok()) return entries.status();
    for (const spi::AuditRecord& r : *entries) {
      v1::AuditEntry* e = res.add_entries();
      e->set_id(r.id);
      base::SetTimestamp(e->mutable_at(), r.at);
      e->set_actor(r.actor);
      e->set_action(r.action);
      e->set_target(r.target);
      e->set_outcome(r.outcome);
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return res;
}

}  // namespace debrief::service
