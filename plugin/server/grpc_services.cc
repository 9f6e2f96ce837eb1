#include "server/grpc_services.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/thread_name.h"
#include "debrief/v1/services.grpc.pb.h"

namespace debrief::server {
namespace {

// Runs the service's operation and finishes the unary call with its answer or status.
template <typename Res>
grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* ctx, absl::StatusOr<Res> r,
                                 Res* res) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (r.ok()) *res = std::move(*r);
  reactor->Finish(ToGrpc(r.status()));
  return reactor;
}

// What the client says it is (debriefctl sends the user it runs as), at most 64 bytes.
std::string ClaimedName(const grpc::CallbackServerContext& ctx) {
  const auto& md = ctx.client_metadata();
  if (auto it = md.find("debrief-actor"); it != md.end())
    return std::string(it->second.data(), std::min<size_t>(it->second.size(), 64));
  return "";
}

// The audit's name for a caller: who signed in, and from where.
std::string ActorOf(const grpc::CallbackServerContext& ctx, const auth::Caller& caller) {
  return absl::StrCat(caller.name, " (gRPC ", ctx.peer(), ")");
}

}  // namespace

absl::StatusOr<auth::Caller> Authenticate(service::Service& svc,
                                          const grpc::CallbackServerContext& ctx,
                                          const ClientRoles& client_roles) {
  // A client certificate the listener verified (grpc.tls.client_ca_file), named in
  // client_roles.
  if (!client_roles.empty()) {
    std::shared_ptr<const grpc::AuthContext> ac = ctx.auth_context();
    if (ac && ac->IsPeerAuthenticated()) {
      for (const grpc::string_ref& cn : ac->FindPropertyValues("x509_common_name")) {
        auto it = client_roles.find(std::string(cn.data(), cn.size()));
        if (it == client_roles.end()) continue;
        auth::Caller c;
        c.name = absl::StrCat("cert:", it->first);
        c.role = it->second;
        return c;
      }
    }
  }
  const auto& md = ctx.client_metadata();
  absl::string_view bearer;
  if (auto it = md.find("authorization"); it != md.end()) {
    bearer = absl::string_view(it->second.data(), it->second.size());
    if (!absl::ConsumePrefix(&bearer, "Bearer ") && !absl::ConsumePrefix(&bearer, "bearer "))
      return absl::UnauthenticatedError("the authorization metadata is not \"Bearer <token>\"");
    bearer = absl::StripAsciiWhitespace(bearer);
  }
  if (bearer.empty())
    return absl::UnauthenticatedError(
        "sign in: send an API token as \"authorization: Bearer <token>\" (debriefctl reads "
        "--token-file, DEBRIEF_TOKEN, or the local token debriefd writes to "
        "data_dir/debriefctl.token)");
  return svc.Authenticate(bearer, ClaimedName(ctx), /*local_token=*/true);
}

namespace {

// One unary RPC: the caller signs in and is checked against the role table, then the request
// goes to the service method of the same name; calls that change something are audited.
template <typename Req, typename Res>
grpc::ServerUnaryReactor* Serve(service::Service& svc, const ClientRoles& roles,
                                grpc::CallbackServerContext* ctx, const Req& req, Res* res,
                                const std::string& method,
                                absl::StatusOr<Res> (service::Service::*fn)(const Req&)) {
  absl::StatusOr<auth::Caller> caller = Authenticate(svc, *ctx, roles);
  if (!caller.ok()) return Answer(ctx, absl::StatusOr<Res>(caller.status()), res);
  Req checked = req;
  if (absl::Status s = svc.Authorize(method, *caller, checked); !s.ok()) {
    if (service::Service::IsAudited(method)) svc.Audit(ActorOf(*ctx, *caller), method, req, s);
    return Answer(ctx, absl::StatusOr<Res>(s), res);
  }
  absl::StatusOr<Res> r = (svc.*fn)(checked);
  if (service::Service::IsAudited(method))
    svc.Audit(ActorOf(*ctx, *caller), method, checked, r.status());
  return Answer(ctx, std::move(r), res);
}

#define DEBRIEF_UNARY(Method)                                                                 \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx,                          \
                                   const v1::Method##Request* req, v1::Method##Response* res) \
      override {                                                                              \
    return Serve(*svc_(), roles_, ctx, *req, res, absl::StrCat(kName, "." #Method),           \
                 &service::Service::Method);                                                  \
  }

class TaggingService final : public v1::Tagging::CallbackService {
 public:
  static constexpr const char* kName = "Tagging";
  TaggingService(ServiceSource svc, const ClientRoles& roles)
      : svc_(std::move(svc)), roles_(roles) {}
  DEBRIEF_UNARY(Classify)
  DEBRIEF_UNARY(ListCategories)
  DEBRIEF_UNARY(Feedback)
  DEBRIEF_UNARY(ListEmerging)
  DEBRIEF_UNARY(ListReview)
  DEBRIEF_UNARY(PromoteEmerging)

 private:
  ServiceSource svc_;
  const ClientRoles& roles_;
};

class ImprovementsService final : public v1::Improvements::CallbackService {
 public:
  static constexpr const char* kName = "Improvements";
  ImprovementsService(ServiceSource svc, const ClientRoles& roles)
      : svc_(std::move(svc)), roles_(roles) {}
  DEBRIEF_UNARY(ListTasks)
  DEBRIEF_UNARY(GetTask)
  DEBRIEF_UNARY(LinkTicket)
  DEBRIEF_UNARY(UnlinkTicket)
  DEBRIEF_UNARY(RequestTask)
  DEBRIEF_UNARY(SearchTasks)
  DEBRIEF_UNARY(RefreshTask)

 private:
  ServiceSource svc_;
  const ClientRoles& roles_;
};

class TicketsService final : public v1::Tickets::CallbackService {
 public:
  static constexpr const char* kName = "Tickets";
  TicketsService(ServiceSource svc, const ClientRoles& roles)
      : svc_(std::move(svc)), roles_(roles) {}
  DEBRIEF_UNARY(GetTicket)
  DEBRIEF_UNARY(GetJourney)
  DEBRIEF_UNARY(SimilarTickets)

 private:
  ServiceSource svc_;
  const ClientRoles& roles_;
};

// Admin.Backfill: the service lists on a thread of its own; progress is streamed, the newest
// replacing any not yet sent (one write in flight at a time). A cancelled call stops the
// listing after its current page, with the cursor kept for the next run.
class BackfillReactor final : public grpc::ServerWriteReactor<v1::BackfillProgress> {
 public:
  // `svc` is held until the listing ends (a reload meanwhile does not pull it away).
  BackfillReactor(std::shared_ptr<service::Service> svc, v1::BackfillRequest req) {
    std::thread([this, svc = std::move(svc), req = std::move(req)] {
      base::NameThisThread("backfill");
      auto last = svc->Backfill(req, [this](const v1::BackfillProgress& p) {
        Send(p);
        return !cancelled_.load();
      });
      if (last.ok()) Send(*last);
      bool finish_now = false;
      {
        std::lock_guard<std::mutex> l(mu_);
        finish_ = ToGrpc(last.status());
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
  void Send(const v1::BackfillProgress& m) {
    std::lock_guard<std::mutex> l(mu_);
    if (writing_) {
      pending_ = m;
      return;
    }
    current_ = m;
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

// A stream refused before it started.
class RefusedStream final : public grpc::ServerWriteReactor<v1::BackfillProgress> {
 public:
  void OnDone() override { delete this; }
};

class InsightsService final : public v1::Insights::CallbackService {
 public:
  static constexpr const char* kName = "Insights";
  InsightsService(ServiceSource svc, const ClientRoles& roles)
      : svc_(std::move(svc)), roles_(roles) {}
  DEBRIEF_UNARY(CausesOverTime)
  DEBRIEF_UNARY(TasksByImpact)
  DEBRIEF_UNARY(FixOutcomes)
  DEBRIEF_UNARY(CustomersVoice)

 private:
  ServiceSource svc_;
  const ClientRoles& roles_;
};

class AdminService final : public v1::Admin::CallbackService {
 public:
  static constexpr const char* kName = "Admin";
  AdminService(ServiceSource svc, const ClientRoles& roles) : svc_(std::move(svc)), roles_(roles) {}
  DEBRIEF_UNARY(GetConfig)
  DEBRIEF_UNARY(Reload)
  DEBRIEF_UNARY(ListAdapters)
  DEBRIEF_UNARY(CheckAdapter)
  DEBRIEF_UNARY(ListAdapterTypes)
  DEBRIEF_UNARY(SaveAdapter)
  DEBRIEF_UNARY(RemoveAdapter)
  DEBRIEF_UNARY(GetAdapterSetup)
  DEBRIEF_UNARY(DiffTaxonomy)
  DEBRIEF_UNARY(ApplyTaxonomy)
  DEBRIEF_UNARY(TaxonomyHistory)
  DEBRIEF_UNARY(ListDeadLetters)
  DEBRIEF_UNARY(ReplayDelivery)
  DEBRIEF_UNARY(DiscardDelivery)
  DEBRIEF_UNARY(ListDeadActions)
  DEBRIEF_UNARY(RetryDeadAction)
  DEBRIEF_UNARY(DiscardDeadAction)
  DEBRIEF_UNARY(ListAudit)
  DEBRIEF_UNARY(CreateApiToken)
  DEBRIEF_UNARY(ListApiTokens)
  DEBRIEF_UNARY(RevokeApiToken)
  DEBRIEF_UNARY(MergePeople)
  DEBRIEF_UNARY(SplitPerson)
  DEBRIEF_UNARY(ShowTrackerTask)
  DEBRIEF_UNARY(SetTrackerTaskStatus)

  grpc::ServerWriteReactor<v1::BackfillProgress>* Backfill(
      grpc::CallbackServerContext* ctx, const v1::BackfillRequest* req) override {
    std::shared_ptr<service::Service> svc = svc_();
    absl::StatusOr<auth::Caller> caller = Authenticate(*svc, *ctx, roles_);
    v1::BackfillRequest checked = *req;
    absl::Status s =
        caller.ok() ? svc->Authorize("Admin.Backfill", *caller, checked) : caller.status();
    if (caller.ok()) svc->Audit(ActorOf(*ctx, *caller), "Admin.Backfill", checked, s);  // started
    if (!s.ok()) {
      auto* refused = new RefusedStream();
      refused->Finish(ToGrpc(s));
      return refused;
    }
    return new BackfillReactor(std::move(svc), std::move(checked));
  }

 private:
  ServiceSource svc_;
  const ClientRoles& roles_;
};

#undef DEBRIEF_UNARY

}  // namespace

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

struct GrpcServices::Impl {
  Impl(const ServiceSource& svc, ClientRoles client_roles)
      : roles(std::move(client_roles)),
        tagging(svc, roles),
        improvements(svc, roles),
        tickets(svc, roles),
        insights(svc, roles),
        admin(svc, roles) {}
  const ClientRoles roles;
  TaggingService tagging;
  ImprovementsService improvements;
  TicketsService tickets;
  InsightsService insights;
  AdminService admin;
};

GrpcServices::GrpcServices(ServiceSource source, ClientRoles client_roles)
    : impl_(std::make_unique<Impl>(source, std::move(client_roles))) {}
GrpcServices::~GrpcServices() = default;

void GrpcServices::Register(grpc::ServerBuilder& builder) {
  builder.RegisterService(&impl_->tagging);
  builder.RegisterService(&impl_->improvements);
  builder.RegisterService(&impl_->tickets);
  builder.RegisterService(&impl_->insights);
  builder.RegisterService(&impl_->admin);
}

}  // namespace debrief::server
