#include "server/grpc_services.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/thread_name.h"
#include "common/time_util.h"
#include "debrief/v1/services.grpc.pb.h"
#include "ingress/reconciler.h"

namespace debrief::server {
namespace {

// Runs fn and finishes the unary call with its status.
template <typename Fn>
grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx, Fn&& fn) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  r->Finish(ToGrpc(fn()));
  return r;
}

absl::Status RequireRef(const v1::TicketRef& ref) {
  if (ref.helpdesk_id().empty() || ref.ticket_id().empty())
    return absl::InvalidArgumentError("ticket.helpdesk_id and ticket.ticket_id are required");
  return absl::OkStatus();
}

class TaggingService final : public v1::Tagging::CallbackService {
 public:
  explicit TaggingService(ServiceDeps& d) : d_(d) {}

  grpc::ServerUnaryReactor* Classify(grpc::CallbackServerContext* ctx,
                                     const v1::ClassifyRequest* req,
                                     v1::ClassifyResponse* res) override {
    return Unary(ctx, [&]() -> absl::Status {
      v1::Ticket t = req->ticket();
      if (!req->text().empty()) t.set_body(req->text());
      if (t.subject().empty() && t.body().empty())
        return absl::InvalidArgumentError("give a ticket or some text to classify");
      *res->mutable_classification() = d_.classifier.Classify(t);
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* Feedback(grpc::CallbackServerContext* ctx,
                                     const v1::FeedbackRequest* req,
                                     v1::FeedbackResponse* res) override {
    return Unary(ctx, [&]() -> absl::Status {
      if (auto s = RequireRef(req->ticket()); !s.ok()) return s;
      const v1::Category* cat = d_.policy.category(req->category_id());
      if (cat == nullptr)
        return absl::InvalidArgumentError(
            absl::StrCat("unknown category \"", req->category_id(), "\""));
      v1::Ticket ticket;
      absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
        auto rec = tx.GetTicket(req->ticket().helpdesk_id(), req->ticket().ticket_id());
        if (!rec.ok()) return rec.status();
        if (!*rec)
          return absl::NotFoundError(absl::StrCat("no ticket ", req->ticket().helpdesk_id(), "/",
                                                  req->ticket().ticket_id()));
        spi::TicketRecord& r = **rec;
        std::string old = r.classification ? r.classification->category_id() : "";
        v1::Classification c;
        c.set_category_id(cat->id());
        c.set_confidence(1.0);
        c.set_model("agent");
        SetTimestamp(c.mutable_classified_at(), d_.clock.Now());
        v1::Reason* why = c.add_reasons();
        why->set_feature(absl::StrCat("corrected by ",
                                      req->agent().empty() ? "an agent" : req->agent(),
                                      old.empty() ? "" : absl::StrCat(" (was ", old, ")")));
        why->set_weight(1.0);
        r.classification = c;
        r.agent_corrected = true;
        if (auto st = tx.PutTicket(r); !st.ok()) return st;
        if (auto st = tx.RecordFeedback(r.ticket.helpdesk_id(), r.ticket.ticket_id(), old,
                                        cat->id(), req->agent(), d_.clock.Now());
            !st.ok())
          return st;
        // A link the policy made for the old category no longer holds; an agent's link stays.
        auto link = tx.GetLink(r.ticket.helpdesk_id(), r.ticket.ticket_id());
        if (!link.ok()) return link.status();
        if (*link && (*link)->origin() == v1::LINK_POLICY && old != cat->id()) {
          if (auto st = d_.policy.Unlink(tx, r.ticket.helpdesk_id(), r.ticket.ticket_id());
              !st.ok())
            return st;
        }
        if (auto st = d_.policy.Apply(tx, r.ticket, c); !st.ok()) return st;
        *res->mutable_classification() = c;
        ticket = r.ticket;
        return absl::OkStatus();
      });
      if (!s.ok()) return s;
      d_.outbox_changed();
      d_.emerging.Remove(ticket.helpdesk_id(), ticket.ticket_id());
      return d_.classifier.Learn(ticket, cat->id());
    });
  }

  grpc::ServerUnaryReactor* ListEmerging(grpc::CallbackServerContext* ctx,
                                         const v1::ListEmergingRequest* req,
                                         v1::ListEmergingResponse* res) override {
    return Unary(ctx, [&]() -> absl::Status {
      for (auto& e : d_.emerging.List(req->min_size() > 0 ? req->min_size() : 2))
        *res->add_issues() = std::move(e);
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* PromoteEmerging(grpc::CallbackServerContext* ctx,
                                            const v1::PromoteEmergingRequest* req,
                                            v1::PromoteEmergingResponse* res) override {
    return Unary(ctx, [&]() -> absl::Status {
      v1::EmergingIssue issue;
      if (!d_.emerging.Get(req->emerging_id(), &issue))
        return absl::NotFoundError(absl::StrCat("no emerging issue ", req->emerging_id()));
      if (req->category_id().empty() || req->name().empty())
        return absl::InvalidArgumentError("category_id and name are required");
      if (d_.policy.category(req->category_id()) != nullptr)
        return absl::AlreadyExistsError(
            absl::StrCat("category ", req->category_id(), " exists already"));
      v1::PromotedCategory promoted;
      v1::Category& cat = *promoted.mutable_category();
      cat.set_id(req->category_id());
      cat.set_name(req->name());
      cat.set_kind(req->kind() == v1::CATEGORY_KIND_UNSPECIFIED ? v1::COMPLAINT : req->kind());
      cat.set_description(!req->description().empty()
                              ? req->description()
                              : absl::StrCat("Promoted from emerging issue ", issue.id(), ": ",
                                             absl::StrJoin(issue.top_terms(), ", ")));
      for (const auto& ex : issue.examples()) cat.add_seed_phrases(ex);
      promoted.set_emerging_id(issue.id());
      if (auto s = d_.policy.AddCategory(cat); !s.ok()) return s;
      int64_t tagged = 0;
      absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
        tagged = 0;
        std::vector<spi::TicketRecord> members;
        for (const auto& m : issue.members()) {
          auto rec = tx.GetTicket(m.helpdesk_id(), m.ticket_id());
          if (!rec.ok()) return rec.status();
          if (!*rec || (*rec)->agent_corrected) continue;
          promoted.add_examples(
              absl::StrCat((*rec)->ticket.subject(), "\n", (*rec)->ticket.body()));
          members.push_back(std::move(**rec));
        }
        if (auto st = tx.PutPromotedCategory(promoted); !st.ok()) return st;
        for (spi::TicketRecord& r : members) {
          v1::Classification c;
          c.set_category_id(cat.id());
          c.set_confidence(1.0);
          c.set_model("promoted");
          SetTimestamp(c.mutable_classified_at(), d_.clock.Now());
          v1::Reason* why = c.add_reasons();
          why->set_feature(absl::StrCat("emerging issue ", issue.id(), " promoted to ", cat.id()));
          why->set_weight(1.0);
          r.classification = c;
          r.agent_corrected = true;  // an admin decided: the model does not override it
          if (auto st = tx.PutTicket(r); !st.ok()) return st;
          if (auto st = d_.policy.Apply(tx, r.ticket, c); !st.ok()) return st;
          ++tagged;
        }
        return absl::OkStatus();
      });
      if (!s.ok()) {
        d_.policy.RemoveCategory(cat.id());
        return s;
      }
      d_.emerging.Drop(issue.id());
      d_.outbox_changed();
      std::vector<std::string> examples(promoted.examples().begin(), promoted.examples().end());
      if (auto st = d_.classifier.AddCategory(cat, examples); !st.ok()) return st;
      *res->mutable_category() = cat;
      res->set_tickets(tagged);
      return absl::OkStatus();
    });
  }

 private:
  ServiceDeps& d_;
};

class ImprovementsService final : public v1::Improvements::CallbackService {
 public:
  explicit ImprovementsService(ServiceDeps& d) : d_(d) {}

  grpc::ServerUnaryReactor* ListTasks(grpc::CallbackServerContext* ctx,
                                      const v1::ListTasksRequest* req,
                                      v1::ListTasksResponse* res) override {
    return Unary(ctx, [&]() -> absl::Status {
      return d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
        auto tasks = tx.ListTasks({req->category_id(), req->status()});
        if (!tasks.ok()) return tasks.status();
        for (auto& t : *tasks) *res->add_tasks() = std::move(t);
        return absl::OkStatus();
      });
    });
  }

  grpc::ServerUnaryReactor* GetTask(grpc::CallbackServerContext* ctx, const v1::GetTaskRequest* req,
                                    v1::GetTaskResponse* res) override {
    return Unary(ctx, [&]() -> absl::Status {
      return d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
        auto t = tx.GetTask(req->task_id());
        if (!t.ok()) return t.status();
        if (!*t) return absl::NotFoundError(absl::StrCat("no task ", req->task_id()));
        *res->mutable_task() = **t;
        auto links = tx.LinksOfTask(req->task_id());
        if (!links.ok()) return links.status();
        for (auto& l : *links) *res->add_links() = std::move(l);
        auto history = tx.StatusHistory(req->task_id());
        if (!history.ok()) return history.status();
        for (auto& h : *history) *res->add_history() = std::move(h);
        return absl::OkStatus();
      });
    });
  }

  grpc::ServerUnaryReactor* LinkTicket(grpc::CallbackServerContext* ctx,
                                       const v1::LinkTicketRequest* req,
                                       v1::LinkTicketResponse* res) override {
    return Unary(ctx, [&]() -> absl::Status {
      if (auto s = RequireRef(req->ticket()); !s.ok()) return s;
      absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
        auto link = d_.policy.LinkByAgent(tx, req->ticket().helpdesk_id(),
                                          req->ticket().ticket_id(), req->task_id());
        if (!link.ok()) return link.status();
        *res->mutable_link() = *link;
        return absl::OkStatus();
      });
      if (s.ok()) d_.outbox_changed();
      return s;
    });
  }

  grpc::ServerUnaryReactor* UnlinkTicket(grpc::CallbackServerContext* ctx,
                                         const v1::UnlinkTicketRequest* req,
                                         v1::UnlinkTicketResponse*) override {
    return Unary(ctx, [&]() -> absl::Status {
      if (auto s = RequireRef(req->ticket()); !s.ok()) return s;
      absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) {
        return d_.policy.Unlink(tx, req->ticket().helpdesk_id(), req->ticket().ticket_id());
      });
      if (s.ok()) d_.outbox_changed();
      return s;
    });
  }

  grpc::ServerUnaryReactor* RequestTask(grpc::CallbackServerContext* ctx,
                                        const v1::RequestTaskRequest* req,
                                        v1::RequestTaskResponse* res) override {
    return Unary(ctx, [&]() -> absl::Status {
      if (auto s = RequireRef(req->ticket()); !s.ok()) return s;
      absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
        auto r = d_.policy.RequestTask(tx, req->ticket().helpdesk_id(), req->ticket().ticket_id(),
                                       req->category_id());
        if (!r.ok()) return r.status();
        *res->mutable_task() = r->task;
        res->set_created(r->created);
        return absl::OkStatus();
      });
      if (s.ok()) d_.outbox_changed();
      return s;
    });
  }

 private:
  ServiceDeps& d_;
};

class TicketsService final : public v1::Tickets::CallbackService {
 public:
  explicit TicketsService(ServiceDeps& d) : d_(d) {}

  grpc::ServerUnaryReactor* GetTicket(grpc::CallbackServerContext* ctx,
                                      const v1::GetTicketRequest* req,
                                      v1::GetTicketResponse* res) override {
    return Unary(ctx, [&]() -> absl::Status {
      if (auto s = RequireRef(req->ticket()); !s.ok()) return s;
      return d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
        auto rec = tx.GetTicket(req->ticket().helpdesk_id(), req->ticket().ticket_id());
        if (!rec.ok()) return rec.status();
        if (!*rec)
          return absl::NotFoundError(absl::StrCat("no ticket ", req->ticket().helpdesk_id(), "/",
                                                  req->ticket().ticket_id()));
        *res->mutable_ticket() = (*rec)->ticket;
        if ((*rec)->classification) *res->mutable_classification() = *(*rec)->classification;
        auto link = tx.GetLink(req->ticket().helpdesk_id(), req->ticket().ticket_id());
        if (!link.ok()) return link.status();
        if (*link) {
          *res->mutable_link() = **link;
          auto task = tx.GetTask((*link)->task_id());
          if (!task.ok()) return task.status();
          if (*task) *res->mutable_task() = **task;
        }
        return absl::OkStatus();
      });
    });
  }

 private:
  ServiceDeps& d_;
};

// Running backfills, so shutdown can stop them (after their current page) before the store
// closes.
class BackfillGate {
 public:
  void Enter() {
    std::lock_guard<std::mutex> l(mu_);
    ++running_;
  }
  void Leave() {
    std::lock_guard<std::mutex> l(mu_);
    --running_;
    cv_.notify_all();
  }
  bool stopping() {
    std::lock_guard<std::mutex> l(mu_);
    return stopping_;
  }
  void StopAndWait() {
    std::unique_lock<std::mutex> l(mu_);
    stopping_ = true;
    cv_.wait(l, [&] { return running_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int running_ = 0;
  bool stopping_ = false;
};

// Admin.Backfill: the listing runs on its own thread; progress is streamed, the newest
// replacing any not yet sent (one write in flight at a time). A cancelled call stops the
// listing after its current page, with the cursor kept for the next run.
class BackfillReactor final : public grpc::ServerWriteReactor<v1::BackfillProgress> {
 public:
  BackfillReactor(ServiceDeps& d, spi::HelpdeskAdapter& helpdesk, absl::Time since,
                  std::shared_ptr<BackfillGate> gate) {
    gate->Enter();
    std::thread([this, &d, &helpdesk, since, gate] {
      NameThisThread("backfill");
      auto p =
          ingress::ListIntoInbox(d.store, helpdesk, ingress::BackfillCursor(helpdesk.id(), since),
                                 since, d.clock, [this, &gate](const ingress::ListingProgress& p) {
                                   Send(p, false);
                                   return !cancelled_.load() && !gate->stopping();
                                 });
      gate->Leave();
      if (p.ok()) Send(*p, true);
      bool finish_now = false;
      {
        std::lock_guard<std::mutex> l(mu_);
        finish_ = p.ok() ? grpc::Status::OK : ToGrpc(p.status());
        finish_now = !writing_;
      }
      // After Finish, OnDone may delete this: nothing here touches it afterwards.
      if (finish_now) Finish(*finish_);
    }).detach();
  }

  void OnWriteDone(bool ok) override {
    bool finish_now = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      writing_ = false;
      if (!ok) cancelled_ = true;
      if (pending_ && ok) {
        current_ = *std::exchange(pending_, std::nullopt);
        writing_ = true;
        StartWrite(&current_);
      } else {
        finish_now = finish_.has_value();
      }
    }
    if (finish_now) Finish(*finish_);
  }
  void OnCancel() override { cancelled_ = true; }
  void OnDone() override { delete this; }

 private:
  void Send(const ingress::ListingProgress& p, bool done) {
    v1::BackfillProgress m;
    m.set_pages(p.pages);
    m.set_listed(p.listed);
    m.set_stored(p.stored);
    m.set_total(p.total);
    m.set_done(done && p.caught_up);
    std::lock_guard<std::mutex> l(mu_);
    if (writing_) {
      pending_ = std::move(m);
      return;
    }
    current_ = std::move(m);
    writing_ = true;
    StartWrite(&current_);
  }

  std::mutex mu_;
  v1::BackfillProgress current_;
  std::optional<v1::BackfillProgress> pending_;
  bool writing_ = false;
  std::optional<grpc::Status> finish_;
  std::atomic<bool> cancelled_{false};
};

class AdminService final : public v1::Admin::CallbackService {
 public:
  explicit AdminService(ServiceDeps& d) : d_(d) {}
  void StopBackfills() { gate_->StopAndWait(); }

  grpc::ServerUnaryReactor* GetConfig(grpc::CallbackServerContext* ctx, const v1::GetConfigRequest*,
                                      v1::GetConfigResponse* res) override {
    return Unary(ctx, [&]() -> absl::Status {
      // Secrets are SecretRefs (env or file names), never values, so the config is safe to show.
      *res->mutable_config() = d_.config;
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* ListAdapters(grpc::CallbackServerContext* ctx,
                                         const v1::ListAdaptersRequest*,
                                         v1::ListAdaptersResponse* res) override {
    return Unary(ctx, [&]() -> absl::Status {
      for (const auto& h : d_.config.helpdesks()) {
        v1::AdapterInfo* a = res->add_adapters();
        a->set_id(h.id());
        a->set_type(h.type());
        a->set_kind("helpdesk");
        a->set_webhook_path(absl::StrCat("/webhooks/", h.id()));
      }
      for (const auto& t : d_.config.trackers()) {
        v1::AdapterInfo* a = res->add_adapters();
        a->set_id(t.id());
        a->set_type(t.type());
        a->set_kind("tracker");
      }
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* CheckAdapter(grpc::CallbackServerContext* ctx,
                                         const v1::CheckAdapterRequest* req,
                                         v1::CheckAdapterResponse* res) override {
    return Unary(ctx, [&]() -> absl::Status {
      absl::Status s;
      if (auto h = d_.helpdesks.find(req->id()); h != d_.helpdesks.end()) {
        s = h->second->Check();
      } else if (auto t = d_.trackers.find(req->id()); t != d_.trackers.end()) {
        s = t->second->Check(d_.policy.CategoriesOf(req->id()));
      } else {
        return absl::NotFoundError(absl::StrCat("no adapter \"", req->id(), "\""));
      }
      res->set_ok(s.ok());
      res->set_message(s.ok() ? "ok" : s.ToString());
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* ListDeadLetters(grpc::CallbackServerContext* ctx,
                                            const v1::ListDeadLettersRequest* req,
                                            v1::ListDeadLettersResponse* res) override {
    return Unary(ctx, [&]() -> absl::Status {
      auto letters = d_.store.ListDeadLetters(req->limit() > 0 ? req->limit() : 100);
      if (!letters.ok()) return letters.status();
      for (const spi::DeadLetter& l : *letters) {
        v1::DeadLetter* out = res->add_dead_letters();
        out->set_seq(l.seq);
        out->set_adapter_id(l.adapter_id);
        out->set_delivery_key(l.delivery_key);
        if (l.received_at != absl::Time()) SetTimestamp(out->mutable_received_at(), l.received_at);
        SetTimestamp(out->mutable_failed_at(), l.failed_at);
        out->set_attempts(l.attempts);
        out->set_error(l.error);
      }
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* ReplayDelivery(grpc::CallbackServerContext* ctx,
                                           const v1::ReplayDeliveryRequest* req,
                                           v1::ReplayDeliveryResponse* res) override {
    return Unary(ctx, [&]() -> absl::Status {
      auto state = d_.replay_delivery(req->seq());
      if (!state.ok()) return state.status();
      if (*state == spi::DeliveryState::kFailed)
        return absl::FailedPreconditionError(
            absl::StrCat("delivery ", req->seq(), " failed again; see deliveries list"));
      res->set_outcome(*state == spi::DeliveryState::kProcessed ? "processed" : "ignored");
      d_.outbox_changed();
      return absl::OkStatus();
    });
  }

  grpc::ServerWriteReactor<v1::BackfillProgress>* Backfill(
      grpc::CallbackServerContext*, const v1::BackfillRequest* req) override {
    auto h = d_.helpdesks.find(req->helpdesk_id());
    if (h == d_.helpdesks.end() || !req->has_since()) {
      struct Refuse final : grpc::ServerWriteReactor<v1::BackfillProgress> {
        explicit Refuse(grpc::Status s) { Finish(s); }
        void OnDone() override { delete this; }
      };
      return new Refuse(grpc::Status(h == d_.helpdesks.end() ? grpc::StatusCode::NOT_FOUND
                                                             : grpc::StatusCode::INVALID_ARGUMENT,
                                     h == d_.helpdesks.end()
                                         ? absl::StrCat("no helpdesk \"", req->helpdesk_id(), "\"")
                                         : "since is required (the first date to import)"));
    }
    return new BackfillReactor(d_, *h->second, FromTimestamp(req->since()), gate_);
  }

 private:
  ServiceDeps& d_;
  std::shared_ptr<BackfillGate> gate_ = std::make_shared<BackfillGate>();
};

}  // namespace

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

struct Services::Impl {
  explicit Impl(ServiceDeps d)
      : deps(std::move(d)), tagging(deps), improvements(deps), tickets(deps), admin(deps) {}
  ServiceDeps deps;
  TaggingService tagging;
  ImprovementsService improvements;
  TicketsService tickets;
  AdminService admin;
};

Services::Services(ServiceDeps deps) : impl_(std::make_unique<Impl>(std::move(deps))) {}
Services::~Services() = default;

void Services::StopBackfills() { impl_->admin.StopBackfills(); }

void Services::Register(grpc::ServerBuilder& builder) {
  builder.RegisterService(&impl_->tagging);
  builder.RegisterService(&impl_->improvements);
  builder.RegisterService(&impl_->tickets);
  builder.RegisterService(&impl_->admin);
}

}  // namespace debrief::server
