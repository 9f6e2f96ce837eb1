// Admin: the running config, the adapters and their checks, dead letters, backfills.
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "auth/auth.h"
#include "base/thread_name.h"
#include "base/time_util.h"
#include "ingress/reconciler.h"
#include "service/service.h"

namespace debrief::service {

absl::StatusOr<v1::GetConfigResponse> Service::GetConfig(const v1::GetConfigRequest&) {
  // Secrets are SecretRefs (env or file names), never values, so the config is safe to show.
  v1::GetConfigResponse res;
  *res.mutable_config() = d_.config;
  return res;
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
  }
  for (const auto& t : d_.config.trackers()) {
    v1::AdapterInfo* a = res.add_adapters();
    a->set_id(t.id());
    a->set_type(t.type());
    a->set_kind("tracker");
    if (d_.trackers.contains(t.id()) && d_.trackers.at(t.id())->sends_webhooks()) {
      a->set_webhook_path(absl::StrCat("/webhooks/", t.id()));
      if (!public_url.empty()) a->set_webhook_url(absl::StrCat(public_url, a->webhook_path()));
    }
  }
  return res;
}

absl::StatusOr<v1::CheckAdapterResponse> Service::CheckAdapter(const v1::CheckAdapterRequest& req) {
  absl::Status s;
  if (auto h = d_.helpdesks.find(req.id()); h != d_.helpdesks.end()) {
    s = h->second->Check();
  } else if (auto t = d_.trackers.find(req.id()); t != d_.trackers.end()) {
    s = t->second->Check(d_.policy.CategoriesOf(req.id()));
  } else {
    return absl::NotFoundError(absl::StrCat("no adapter \"", req.id(), "\""));
  }
  v1::CheckAdapterResponse res;
  res.set_ok(s.ok());
  res.set_message(s.ok() ? "ok" : s.ToString());
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
  if (req.status() == v1::TASK_STATUS_UNSPECIFIED || req.status() == v1::TASK_PENDING_CREATE)
    return absl::InvalidArgumentError("status: open, in progress, done or won't do");
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
