#include "server/app.h"

#include <atomic>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "api/api.h"
#include "base/log.h"
#include "classify/emerging.h"
#include "classify/factory.h"
#include "config/config.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "ingress/http_server.h"
#include "ingress/reconciler.h"
#include "loop/loop.h"
#include "metrics/adapter_health.h"
#include "metrics/metrics.h"
#include "metrics/process_metrics.h"
#include "outbound/curl_http_client.h"
#include "outbound/recording_http_client.h"
#include "outbox/executor.h"
#include "pipeline/pipeline.h"
#include "policy/link_policy.h"
#include "server/grpc_services.h"
#include "service/service.h"
#include "settings/settings.h"
#include "store/sqlite_store.h"

namespace debrief::server {
namespace {

using settings::ToDuration;

class AppImpl final : public App {
 public:
  AppImpl(const v1::Config& config, const spi::Clock& clock) : config_(config), clock_(clock) {}

  ~AppImpl() override { Shutdown(absl::Seconds(5)); }

  absl::Status Init(const spi::AdapterRegistry& registry) {
    auto level = base::log::ParseLevel(config_.log().level());
    if (!level.ok()) return level.status();
    base::log::SetLevel(*level);
    std::error_code ec;
    std::filesystem::create_directories(config_.data_dir(), ec);
    const auto& sq = config_.store().sqlite();
    store::SqliteOptions so;
    so.path = sq.path();
    // Zero is meaningful here (commit as soon as the previous commit is done).
    so.commit_delay =
        absl::Seconds(sq.commit_delay().seconds()) + absl::Nanoseconds(sq.commit_delay().nanos());
    so.max_batch = static_cast<int>(sq.max_batch());
    so.read_connections = static_cast<int>(sq.read_connections());
    auto store = store::OpenSqliteStore(so, clock_);
    if (!store.ok()) return store.status();
    store_ = std::move(*store);

    http_ = outbound::NewCurlHttpClient();
    // Each adapter calls through its own recorder, so its health shows its own calls.
    auto context_of = [&](const std::string& id) {
      health_.Add(id);
      adapter_http_.push_back(outbound::NewRecordingHttpClient(*http_, health_, id, clock_));
      return spi::AdapterContext{*adapter_http_.back(), clock_, config_.data_dir(),
                                 spi::AdapterContext::SecretFiles::kCreate};
    };
    for (const auto& h : config_.helpdesks()) {
      spi::AdapterContext ctx = context_of(h.id());
      const spi::HelpdeskAdapterFactory* f = registry.helpdesk(h.type());
      if (f == nullptr)
        return absl::InvalidArgumentError(
            absl::StrCat("helpdesk ", h.id(), ": unknown type \"", h.type(), "\""));
      auto a = f->Create(h, ctx);
      if (!a.ok())
        return absl::Status(a.status().code(),
                            absl::StrCat("helpdesk ", h.id(), ": ", a.status().message()));
      helpdesk_ptrs_[h.id()] = a->get();
      helpdesks_.push_back(std::move(*a));
    }
    for (const auto& t : config_.trackers()) {
      spi::AdapterContext ctx = context_of(t.id());
      const spi::TrackerAdapterFactory* f = registry.tracker(t.type());
      if (f == nullptr)
        return absl::InvalidArgumentError(
            absl::StrCat("tracker ", t.id(), ": unknown type \"", t.type(), "\""));
      auto a = f->Create(t, ctx);
      if (!a.ok())
        return absl::Status(a.status().code(),
                            absl::StrCat("tracker ", t.id(), ": ", a.status().message()));
      tracker_ptrs_[t.id()] = a->get();
      trackers_.push_back(std::move(*a));
    }
    if (trackers_.empty())
      std::cerr << "debriefd: no tracker configured: tasks are decided but not created\n";

    policy_ = std::make_unique<policy::LinkPolicy>(config_, clock_);
    auto classifier = classify::MakeClassifier(config_, clock_);
    if (!classifier.ok()) return classifier.status();
    if (absl::Status s = RestorePromotedCategories(**classifier, /*policy_too=*/true); !s.ok())
      return s;
    if (absl::Status s = TeachFromFeedback(**classifier); !s.ok()) return s;
    classifier_ = std::make_unique<classify::ReloadableClassifier>(std::move(*classifier));

    if (absl::Status s = RebuildEmergingIssues(); !s.ok()) return s;
    pipeline_ = std::make_unique<pipeline::Pipeline>(
        *store_, helpdesk_ptrs_, *classifier_, *policy_, clock_, config_.pipeline().batch(),
        ToDuration(config_.pipeline().poll_interval(), absl::Milliseconds(50)), &emerging_,
        config_.pipeline().max_attempts() > 0 ? static_cast<int>(config_.pipeline().max_attempts())
                                              : 5);
    outbox::ExecutorOptions eo;
    eo.initial_backoff = ToDuration(config_.outbox().initial_backoff(), absl::Seconds(1));
    eo.max_backoff = ToDuration(config_.outbox().max_backoff(), absl::Minutes(10));
    loop_ = std::make_unique<loop::Loop>(config_, *store_, helpdesk_ptrs_, tracker_ptrs_, *policy_,
                                         clock_);
    executor_ = std::make_unique<outbox::Executor>(*store_, helpdesk_ptrs_, *loop_, clock_, eo);
    ingress::ReconcilerOptions ro;
    const auto& rc = config_.reconcile();
    if (rc.has_interval())  // 0s turns reconciliation off
      ro.interval =
          absl::Seconds(rc.interval().seconds()) + absl::Nanoseconds(rc.interval().nanos());
    ro.initial_lookback = ToDuration(rc.initial_lookback(), ro.initial_lookback);
    if (rc.max_pages() > 0) ro.max_pages = static_cast<int>(rc.max_pages());
    ro.health = &health_;
    reconciler_ = std::make_unique<ingress::Reconciler>(*store_, helpdesk_ptrs_, clock_, ro);
    store_->SetDeliveryListener([this] { pipeline_->Notify(); });
    service_ = std::make_unique<service::Service>(
        service::Deps{config_, *store_, *classifier_, *policy_, clock_, helpdesk_ptrs_,
                      tracker_ptrs_, [this] { executor_->Notify(); }, emerging_,
                      [this](int64_t seq) { return pipeline_->Replay(seq); },
                      [this](int64_t task_id) { return loop_->RefreshTask(task_id); },
                      [this](int64_t task_id) { return loop_->StatusReadAt(task_id); }, &health_});
    RegisterOutboxDepth();
    RegisterInboxBacklog();
    metrics::RegisterProcessMetrics(metrics_, DEBRIEF_VERSION, DEBRIEF_COMMIT);
    // The JSON API and the agents' panel; its session key is made on first start.
    api::ApiOptions ao;
    v1::SecretRef key = config_.api().session_key();
    if (key.source_case() == v1::SecretRef::SOURCE_NOT_SET) {
      key.set_file("session-key");
      key.set_create(true);
    }
    auto session_key = settings::ResolveSecret(key, config_.data_dir(), /*create=*/true);
    if (!session_key.ok())
      return absl::Status(session_key.status().code(),
                          absl::StrCat("api.session_key: ", session_key.status().message()));
    if (session_key->size() < 32)
      return absl::InvalidArgumentError("api.session_key must be at least 32 bytes");
    ao.session_key = std::move(*session_key);
    ao.session_ttl = ToDuration(config_.api().session_ttl(), ao.session_ttl);
    ao.frame_ancestors.assign(config_.api().frame_ancestors().begin(),
                              config_.api().frame_ancestors().end());
    api_ = std::make_unique<api::Api>(*service_, *store_, helpdesk_ptrs_, clock_, metrics_,
                                      std::move(ao));
    return absl::OkStatus();
  }

  absl::Status Start() override {
    // gRPC first, NOT_SERVING until everything is up.
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    services_ = std::make_unique<GrpcServices>(*service_);
    grpc::ServerBuilder builder;
    auto hp = ingress::SplitHostPort(config_.grpc().listen());
    if (!hp.ok()) return absl::InvalidArgumentError(absl::StrCat("grpc.", hp.status().message()));
    builder.AddListeningPort(config_.grpc().listen(), grpc::InsecureServerCredentials(),
                             &ports_.grpc);
    services_->Register(builder);
    grpc_ = builder.BuildAndStart();
    if (!grpc_ || ports_.grpc == 0)
      return absl::UnavailableError(
          absl::StrCat("grpc.listen: cannot listen on ", config_.grpc().listen()));
    grpc_->GetHealthCheckService()->SetServingStatus(false);

    pipeline_->Start();
    executor_->Start();
    loop_->Start();
    reconciler_->Start();

    ingress::HttpOptions ho;
    ho.listen = config_.http().listen();
    ho.max_body_bytes = config_.http().max_body_bytes();
    ho.idle_timeout = absl::ToChronoNanoseconds(
        ToDuration(config_.http().idle_timeout(), absl::FromChrono(ho.idle_timeout)));
    ho.request_timeout = absl::ToChronoNanoseconds(
        ToDuration(config_.http().request_timeout(), absl::FromChrono(ho.request_timeout)));
    ho.threads = config_.http().threads() > 0 ? static_cast<int>(config_.http().threads())
                                              : std::max(2u, std::thread::hardware_concurrency());
    ho.max_connections = static_cast<int>(config_.http().max_connections());
    ho.routes = api_->Routes();
    ho.health = &health_;
    if (config_.api().threads() > 0) ho.route_threads = static_cast<int>(config_.api().threads());
    auto scraped = [this](const char* name, const char* help, const std::atomic<int64_t>& v) {
      metrics_.ScrapedCounter(name, help, [&v] { return static_cast<double>(v.load()); });
    };
    const pipeline::PipelineStats& ps = pipeline_->stats();
    scraped("debrief_pipeline_processed_total", "Deliveries that became ticket events.",
            ps.processed);
    scraped("debrief_pipeline_ignored_total",
            "Deliveries about nothing Debrief follows (an event type it does not handle).",
            ps.ignored);
    scraped("debrief_pipeline_failed_total",
            "Deliveries given up on: dead letters (debriefctl deliveries list).", ps.failed);
    scraped("debrief_pipeline_attempts_failed_total",
            "Failed attempts at processing a delivery, retried or not.", ps.attempts_failed);
    const outbox::ExecutorStats& es = executor_->stats();
    scraped("debrief_outbox_done_total", "Outbox actions carried out.", es.done);
    scraped("debrief_outbox_retried_total", "Outbox actions retried after a passing failure.",
            es.retried);
    scraped("debrief_outbox_dead_total", "Outbox actions that failed for good.", es.dead);
    ingress::TrackerWebhooks tracker_hooks{
        tracker_ptrs_, [this](const std::string& tracker, const std::vector<std::string>& ids) {
          loop_->Nudge(tracker, ids);
        }};
    auto http = ingress::HttpServer::Start(ho, *store_, helpdesk_ptrs_, std::move(tracker_hooks),
                                           clock_, metrics_, [this] { return ready_.load(); });
    if (!http.ok()) return http.status();
    http_server_ = std::move(*http);
    ports_.http = http_server_->port();

    ready_ = true;
    grpc_->GetHealthCheckService()->SetServingStatus(true);
    return absl::OkStatus();
  }

  AppPorts ports() const override { return ports_; }
  std::string classifier_name() const override { return classifier_->name(); }

  bool TrackerSendsWebhooks(const std::string& tracker_id) const override {
    auto it = tracker_ptrs_.find(tracker_id);
    return it != tracker_ptrs_.end() && it->second->sends_webhooks();
  }

  void Shutdown(absl::Duration grace) override {
    if (shut_down_.exchange(true)) return;
    ready_ = false;
    if (grpc_) grpc_->GetHealthCheckService()->SetServingStatus(false);
    // Stop taking webhooks; answer those in flight (they are already durable or refused).
    if (http_server_) http_server_->Stop(grace);
    if (reconciler_) reconciler_->Stop();
    if (service_) service_->StopBackfills();
    if (store_) store_->Close();       // flush the last group commit
    if (pipeline_) pipeline_->Stop();  // process everything acknowledged
    if (loop_) loop_->Stop();
    if (executor_) executor_->Stop();  // what is left stays in the outbox for next start
    // gRPC calls here are short unary ones; a client that merely keeps its channel open would
    // otherwise hold Shutdown for seconds (measured: 5 s), so calls get at most 1 s to finish.
    if (grpc_)
      grpc_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoMilliseconds(std::min(grace, absl::Seconds(1))));
  }

  absl::Status ReloadClassifier() override {
    auto next = classify::MakeClassifier(config_, clock_);
    if (!next.ok()) return next.status();
    if (absl::Status s = RestorePromotedCategories(**next, /*policy_too=*/false); !s.ok()) return s;
    if (absl::Status s = TeachFromFeedback(**next); !s.ok()) return s;
    classifier_->Replace(std::move(*next));
    return absl::OkStatus();
  }

 private:
  // debrief_outbox_pending / _dead{adapter}: read from the store at most every 5 s.
  void RegisterOutboxDepth() {
    auto& pending = metrics_.Gauges("debrief_outbox_pending",
                                    "Outbox actions waiting to be carried out, by adapter.");
    auto& dead = metrics_.Gauges("debrief_outbox_dead",
                                 "Outbox actions that failed for good (dead letters), by adapter.");
    std::map<std::string, std::pair<prometheus::Gauge*, prometheus::Gauge*>> gauges;
    for (const std::string& id : AdapterIds())
      gauges[id] = {&pending.Add({{"adapter", id}}), &dead.Add({{"adapter", id}})};
    metrics_.BeforeScrape([this, gauges, last = std::make_shared<std::atomic<int64_t>>(0)] {
      const int64_t now = absl::ToUnixSeconds(clock_.Now());
      int64_t prev = last->load();
      if (now - prev < 5 || !last->compare_exchange_strong(prev, now)) return;
      auto depths = service_->OutboxDepths();
      if (!depths.ok()) return;  // the figures stay as last read
      for (const auto& [id, g] : gauges) {
        auto d = depths->find(id);
        g.first->Set(d == depths->end() ? 0 : static_cast<double>(d->second.pending));
        g.second->Set(d == depths->end() ? 0 : static_cast<double>(d->second.dead));
      }
    });
  }

  // debrief_inbox_pending / _oldest_pending_age_seconds: the pipeline's lag, at most every 5 s.
  void RegisterInboxBacklog() {
    auto& pending = metrics_
                        .Gauges("debrief_inbox_pending",
                                "Deliveries stored and acknowledged, waiting for the pipeline.")
                        .Add({});
    auto& age = metrics_
                    .Gauges("debrief_inbox_oldest_pending_age_seconds",
                            "How long the oldest waiting delivery has waited (0: none waits).")
                    .Add({});
    metrics_.BeforeScrape([this, &pending, &age, last = std::make_shared<std::atomic<int64_t>>(0)] {
      const absl::Time now = clock_.Now();
      int64_t prev = last->load();
      if (absl::ToUnixSeconds(now) - prev < 5 ||
          !last->compare_exchange_strong(prev, absl::ToUnixSeconds(now)))
        return;
      auto b = store_->Backlog();
      if (!b.ok()) return;  // the figures stay as last read
      pending.Set(static_cast<double>(b->pending));
      age.Set(b->pending > 0 ? std::max(0.0, absl::ToDoubleSeconds(now - b->oldest)) : 0);
    });
  }

  std::vector<std::string> AdapterIds() const {
    std::vector<std::string> ids;
    for (const auto& h : config_.helpdesks()) ids.push_back(h.id());
    for (const auto& t : config_.trackers()) ids.push_back(t.id());
    return ids;
  }

  // Categories promoted from emerging issues outlive restarts and model reloads.
  absl::Status RestorePromotedCategories(classify::Classifier& classifier, bool policy_too) {
    std::vector<v1::PromotedCategory> promoted;
    absl::Status s = store_->Read([&](spi::StoreTransaction& tx) -> absl::Status {
      auto p = tx.PromotedCategories();
      if (!p.ok()) return p.status();
      promoted = std::move(*p);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    for (const auto& p : promoted) {
      std::vector<std::string> examples(p.examples().begin(), p.examples().end());
      absl::Status a = classifier.AddCategory(p.category(), examples);
      if (!a.ok() && !absl::IsAlreadyExists(a)) return a;
      if (policy_too) {
        absl::Status b = policy_->AddCategory(p.category());
        if (!b.ok() && !absl::IsAlreadyExists(b)) return b;
      }
    }
    return absl::OkStatus();
  }

  // Emerging issues are rebuilt from the tickets that still need review (last 30 days).
  absl::Status RebuildEmergingIssues() {
    return store_->Read([&](spi::StoreTransaction& tx) -> absl::Status {
      auto recs = tx.NeedsReviewTickets(clock_.Now() - absl::Hours(24 * 30), 100000);
      if (!recs.ok()) return recs.status();
      for (const auto& r : *recs) emerging_.Add(r.ticket, r.first_seen);
      return absl::OkStatus();
    });
  }

  // Corrections made so far teach the classifier (again): they outlive restarts and models.
  absl::Status TeachFromFeedback(classify::Classifier& classifier) {
    return store_->Read([&](spi::StoreTransaction& tx) -> absl::Status {
      auto fb = tx.ListFeedback(5000);
      if (!fb.ok()) return fb.status();
      for (auto it = fb->rbegin(); it != fb->rend(); ++it) {
        auto rec = tx.GetTicket(it->helpdesk_id, it->ticket_id);
        if (!rec.ok()) return rec.status();
        if (*rec) classifier.Learn((*rec)->ticket, it->category_id).IgnoreError();
      }
      return absl::OkStatus();
    });
  }

  v1::Config config_;
  const spi::Clock& clock_;
  metrics::Metrics metrics_;
  metrics::AdapterHealth health_{metrics_};
  std::unique_ptr<spi::Store> store_;
  std::unique_ptr<spi::HttpClient> http_;
  std::vector<std::unique_ptr<spi::HttpClient>> adapter_http_;  // one recorder per adapter
  std::vector<std::unique_ptr<spi::HelpdeskAdapter>> helpdesks_;
  std::vector<std::unique_ptr<spi::TrackerAdapter>> trackers_;
  std::map<std::string, spi::HelpdeskAdapter*> helpdesk_ptrs_;
  std::map<std::string, spi::TrackerAdapter*> tracker_ptrs_;
  std::unique_ptr<classify::ReloadableClassifier> classifier_;
  classify::EmergingIssues emerging_;
  std::unique_ptr<policy::LinkPolicy> policy_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  std::unique_ptr<loop::Loop> loop_;
  std::unique_ptr<ingress::Reconciler> reconciler_;
  std::unique_ptr<outbox::Executor> executor_;
  std::unique_ptr<service::Service> service_;
  std::unique_ptr<api::Api> api_;
  std::unique_ptr<GrpcServices> services_;
  std::unique_ptr<grpc::Server> grpc_;
  std::unique_ptr<ingress::HttpServer> http_server_;
  AppPorts ports_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> shut_down_{false};
};

}  // namespace

absl::StatusOr<std::unique_ptr<App>> App::Create(const v1::Config& config,
                                                 const spi::AdapterRegistry& registry,
                                                 const spi::Clock& clock) {
  if (!registry.status().ok()) return registry.status();
  auto app = std::make_unique<AppImpl>(config, clock);
  if (absl::Status s = app->Init(registry); !s.ok()) return s;
  return app;
}

}  // namespace debrief::server
