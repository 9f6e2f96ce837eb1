#include "server/grpc_services.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
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

// gRPC calls carry no sign-in yet (the listener is for the host and its tools): the audit
// names the client as it names itself (debriefctl sends the user it runs as) and its peer.
std::string ActorOf(const grpc::CallbackServerContext& ctx) {
  std::string name;
  const auto& md = ctx.client_metadata();
  if (auto it = md.find("debrief-actor"); it != md.end())
    name = std::string(it->second.data(), std::min<size_t>(it->second.size(), 64));
  return absl::StrCat(name.empty() ? "gRPC client" : name, " (gRPC ", ctx.peer(), ")");
}

// One unary RPC: the request goes to the service method of the same name; calls that change
// something are audited.
template <typename Req, typename Res>
grpc::ServerUnaryReactor* Serve(service::Service& svc, grpc::CallbackServerContext* ctx,
                                const Req& req, Res* res, const std::string& method,
                                absl::StatusOr<Res> (service::Service::*fn)(const Req&)) {
  absl::StatusOr<Res> r = (svc.*fn)(req);
  if (service::Service::IsAudited(method)) svc.Audit(ActorOf(*ctx), method, req, r.status());
  return Answer(ctx, std::move(r), res);
}

#define DEBRIEF_UNARY(Method)                                                                 \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx,                          \
                                   const v1::Method##Request* req, v1::Method##Response* res) \
      override {                                                                              \
    return Serve(*svc_(), ctx, *req, res, absl::StrCat(kName, "." #Method),                   \
                 &service::Service::Method);                                                  \
  }

class TaggingService final : public v1::Tagging::CallbackService {
 public:
  static constexpr const char* kName = "Tagging";
  explicit TaggingService(ServiceSource svc) : svc_(std::move(svc)) {}
  DEBRIEF_UNARY(Classify)
  DEBRIEF_UNARY(ListCategories)
  DEBRIEF_UNARY(Feedback)
  DEBRIEF_UNARY(ListEmerging)
  DEBRIEF_UNARY(ListReview)
  DEBRIEF_UNARY(PromoteEmerging)

 private:
  ServiceSource svc_;
};

class ImprovementsService final : public v1::Improvements::CallbackService {
 public:
  static constexpr const char* kName = "Improvements";
  explicit ImprovementsService(ServiceSource svc) : svc_(std::move(svc)) {}
  DEBRIEF_UNARY(ListTasks)
  DEBRIEF_UNARY(GetTask)
  DEBRIEF_UNARY(LinkTicket)
  DEBRIEF_UNARY(UnlinkTicket)
  DEBRIEF_UNARY(RequestTask)
  DEBRIEF_UNARY(SearchTasks)
  DEBRIEF_UNARY(RefreshTask)

 private:
  ServiceSource svc_;
};

class TicketsService final : public v1::Tickets::CallbackService {
 public:
  static constexpr const char* kName = "Tickets";
  explicit TicketsService(ServiceSource svc) : svc_(std::move(svc)) {}
  DEBRIEF_UNARY(GetTicket)
  DEBRIEF_UNARY(GetJourney)
  DEBRIEF_UNARY(SimilarTickets)

 private:
  ServiceSource svc_;
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

class InsightsService final : public v1::Insights::CallbackService {
 public:
  static constexpr const char* kName = "Insights";
  explicit InsightsService(ServiceSource svc) : svc_(std::move(svc)) {}
  DEBRIEF_UNARY(CausesOverTime)
  DEBRIEF_UNARY(TasksByImpact)
  DEBRIEF_UNARY(FixOutcomes)
  DEBRIEF_UNARY(CustomersVoice)

 private:
  ServiceSource svc_;
};

class AdminService final : public v1::Admin::CallbackService {
 public:
  static constexpr const char* kName = "Admin";
  explicit AdminService(ServiceSource svc) : svc_(std::move(svc)) {}
  DEBRIEF_UNARY(GetConfig)
  DEBRIEF_UNARY(Reload)
  DEBRIEF_UNARY(ListAdapters)
  DEBRIEF_UNARY(CheckAdapter)
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
    svc->Audit(ActorOf(*ctx), "Admin.Backfill", *req, absl::OkStatus());  // started
    return new BackfillReactor(std::move(svc), *req);
  }

 private:
  ServiceSource svc_;
};

#undef DEBRIEF_UNARY

}  // namespace

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

struct GrpcServices::Impl {
  explicit Impl(const ServiceSource& svc)
      : tagging(svc), improvements(svc), tickets(svc), insights(svc), admin(svc) {}
  TaggingService tagging;
  ImprovementsService improvements;
  TicketsService tickets;
  InsightsService insights;
  AdminService admin;
};

GrpcServices::GrpcServices(service::Service& service)
    : GrpcServices(ServiceSource([&service] {
        return std::shared_ptr<service::Service>(std::shared_ptr<void>(), &service);
      })) {}
GrpcServices::GrpcServices(ServiceSource source) : impl_(std::make_unique<Impl>(source)) {}
GrpcServices::~GrpcServices() = default;

void GrpcServices::Register(grpc::ServerBuilder& builder) {
  builder.RegisterService(&impl_->tagging);
  builder.RegisterService(&impl_->improvements);
  builder.RegisterService(&impl_->tickets);
  builder.RegisterService(&impl_->insights);
  builder.RegisterService(&impl_->admin);
}

}  // namespace debrief::server
