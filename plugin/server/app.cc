#include "server/app.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "api/api.h"
#include "auth/auth.h"
#include "base/log.h"
#include "base/thread_name.h"
#include "base/time_util.h"
#include "classify/emerging.h"
#include "classify/factory.h"
#include "config/config.h"
#include "config/config_diff.h"
#include "config/taxonomy.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "ingress/http_server.h"
#include "ingress/reconciler.h"
#include "ingress/tls.h"
#include "loop/loop.h"
#include "metrics/adapter_health.h"
#include "metrics/metrics.h"
#include "metrics/process_metrics.h"
#include "outbound/curl_http_client.h"
#include "outbound/recording_http_client.h"
#include "outbox/executor.h"
#include "pipeline/pipeline.h"
#include "policy/link_policy.h"
#include "server/feedback_follower.h"
#include "server/grpc_services.h"
#include "server/job_lease.h"
#include "service/service.h"
#include "settings/settings.h"
#include "store/pg_store.h"
#include "store/sqlite_store.h"

namespace debrief::server {
namespace {

// The local administrator's token, in data_dir: debriefctl on this host finds it there.
constexpr char kLocalTokenFile[] = "debriefctl.token";

// Writes a new administrator's token to `path` (0600; replaced whole, by rename, so a reader
// never sees half of one) and returns its hash: the token of the previous start stops working.
absl::StatusOr<std::string> WriteLocalToken(const std::string& path) {
  const std::string secret = auth::NewTokenSecret();
  const std::string tmp = absl::StrCat(path, ".new");
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return absl::FailedPreconditionError(
        absl::StrCat("grpc.local_token: cannot create ", tmp, ": ", std::strerror(errno),
                     " (set grpc.local_token: false to run without it)"));
  const std::string line = secret + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return absl::FailedPreconditionError(
        absl::StrCat("grpc.local_token: cannot write ", path, ": ", std::strerror(errno)));
  }
  return auth::HashTokenSecret(secret);
}

// The gRPC listener's certificate. gRPC's file watcher takes whatever pair it reads, so it
// watches copies that debriefd makes only of a pair that loads and belongs together:
// data_dir/grpc-tls/current/{cert,key}.pem, where `current` is a link replaced whole, so a
// renewal half written, or a key that is not the certificate's, never reaches gRPC.
class GrpcCertificate {
 public:
  GrpcCertificate(v1::TlsConfig tls, const std::string& data_dir)
      : tls_(std::move(tls)), dir_((std::filesystem::path(data_dir) / "grpc-tls").string()) {}

  std::string cert_path() const { return dir_ + "/current/cert.pem"; }
  std::string key_path() const { return dir_ + "/current/key.pem"; }

  // Copies the configured pair if its files changed since the last look (or `force`) and it
  // checks out; an error leaves the copies, and so gRPC, as they were.
  absl::Status Refresh(bool force) {
    std::lock_guard<std::mutex> l(mu_);
    const std::pair<ingress::FileStamp, ingress::FileStamp> now = {
        ingress::StampOf(tls_.cert_file()), ingress::StampOf(tls_.key_file())};
    if (!force && have_stamps_ && now == stamps_) return absl::OkStatus();
    have_stamps_ = true;
    stamps_ = now;
    if (absl::Status s = ingress::CheckTlsFiles(tls_.cert_file(), tls_.key_file()); !s.ok())
      return s;
    auto cert = settings::ReadFile(tls_.cert_file());
    auto key = settings::ReadFile(tls_.key_file());
    if (!cert.ok() || !key.ok())
      return absl::UnavailableError(
          absl::StrCat("cannot read ", tls_.cert_file(), " or ", tls_.key_file()));
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir_, ec);
    const std::string gen = absl::StrCat("gen-", absl::ToUnixNanos(absl::Now()));
    const std::string gen_dir = dir_ + "/" + gen;
    if (!fs::create_directory(gen_dir, ec) || ec)
      return absl::UnavailableError(absl::StrCat("cannot create ", gen_dir));
    if (absl::Status s = WriteFile(gen_dir + "/cert.pem", *cert, 0644); !s.ok()) return s;
    if (absl::Status s = WriteFile(gen_dir + "/key.pem", *key, 0600); !s.ok()) return s;
    const std::string link = dir_ + "/current.new";
    ::unlink(link.c_str());
    if (::symlink(gen.c_str(), link.c_str()) != 0 ||
        ::rename(link.c_str(), (dir_ + "/current").c_str()) != 0)
      return absl::UnavailableError(
          absl::StrCat("cannot switch ", dir_, "/current: ", std::strerror(errno)));
    // The generation before the previous one is no longer read by anyone.
    if (!previous_.empty()) fs::remove_all(dir_ + "/" + previous_, ec);
    previous_ = current_;
    current_ = gen;
    return absl::OkStatus();
  }

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials() {
    if (absl::Status s = Refresh(/*force=*/true); !s.ok()) return s;
    if (!tls_.client_ca_file().empty())
      if (absl::Status s = ingress::CheckTlsFiles(cert_path(), key_path(), tls_.client_ca_file());
          !s.ok())
        return s;
    auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        key_path(), cert_path(), tls_.client_ca_file(), /*refresh_interval_sec=*/10);
    grpc::experimental::TlsServerCredentialsOptions options(provider);
    options.watch_identity_key_cert_pairs();
    if (!tls_.client_ca_file().empty()) {
      options.watch_root_certs();
      options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    } else {
      options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    }
    return grpc::experimental::TlsServerCredentials(options);
  }

 private:
  static absl::Status WriteFile(const std::string& path, const std::string& bytes, mode_t mode) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
      return absl::UnavailableError(
          absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
    const bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) &&
                    ::fsync(fd) == 0;
    ::close(fd);
    return ok ? absl::OkStatus() : absl::UnavailableError(absl::StrCat("cannot write ", path));
  }

  const v1::TlsConfig tls_;
  const std::string dir_;
  std::mutex mu_;
  std::pair<ingress::FileStamp, ingress::FileStamp> stamps_;
  bool have_stamps_ = false;
  std::string current_, previous_;
};

using settings::ToDuration;

// What one configuration makes: its adapters, link policy, workers, service and JSON API. A
// reload builds the next engine beside the running one and swaps them; a request in flight
// keeps the engine it started with (a shared_ptr) until it is answered.
struct Engine {
  v1::Config config;
  absl::Time loaded_at;
  std::vector<std::unique_ptr<spi::HttpClient>> adapter_http;  // one recorder per adapter
  std::vector<std::unique_ptr<spi::HelpdeskAdapter>> helpdesks;
  std::vector<std::unique_ptr<spi::TrackerAdapter>> trackers;
  std::map<std::string, spi::HelpdeskAdapter*> helpdesk_ptrs;
  std::map<std::string, spi::TrackerAdapter*> tracker_ptrs;
  std::unique_ptr<policy::LinkPolicy> policy;
  std::unique_ptr<pipeline::Pipeline> pipeline;
  std::unique_ptr<loop::Loop> loop;
  std::unique_ptr<outbox::Executor> executor;
  std::unique_ptr<ingress::Reconciler> reconciler;
  std::function<bool()> jobs_active;         // the follower's (server/job_lease.h)
  std::unique_ptr<auth::Sessions> sessions;  // the JSON API's session tokens
  std::unique_ptr<service::Service> service;
  std::unique_ptr<api::Api> api;
  std::vector<ingress::Route> routes;  // the API's
  ingress::WebhookTargets targets;

  void Start() {
    pipeline->Start();
    executor->Start();
    loop->Start(jobs_active);
    reconciler->Start();
  }
  // Stops the workers; the pipeline processes everything acknowledged first.
  void Stop() {
    reconciler->Stop();
    pipeline->Stop();
    loop->Stop();
    executor->Stop();  // what is left stays in the outbox
  }
  // Stops the workers for the next engine: the pipeline processes `first` more deliveries
  // (0: none) and leaves the rest to the next one.
  void Handover(int64_t first) {
    reconciler->Stop();
    pipeline->HandoverAfter(first);
    loop->Stop();
    executor->Stop();
  }
};

class AppImpl final : public App {
 public:
  AppImpl(const v1::Config& config, const spi::Clock& clock, std::string config_path)
      : config_(config), clock_(clock), config_path_(std::move(config_path)) {}

  ~AppImpl() override { Shutdown(absl::Seconds(5)); }

  // The longest a replica sharing its database spends on the inbox when it stops (within
  // Kubernetes' 30 s grace, with the HTTP server's 10 s for the requests in flight).
  static constexpr absl::Duration kSharedDrain = absl::Seconds(15);

  absl::Status Init(const spi::AdapterRegistry& registry) {
    registry_ = &registry;
    auto level = base::log::ParseLevel(config_.log().level());
    if (!level.ok()) return level.status();
    auto format = base::log::ParseFormat(config_.log().format());
    if (!format.ok()) return format.status();
    base::log::SetLevel(*level);
    base::log::SetFormat(*format);
    std::error_code ec;
    std::filesystem::create_directories(config_.data_dir(), ec);
    prometheus::Histogram& commit_took =
        metrics_
            .Histograms("debrief_inbox_group_commit_duration_seconds",
                        "One group commit of the inbox, BEGIN to COMMIT with its fsync: what "
                        "every webhook's acknowledgement waits for.")
            .Add({}, metrics::Metrics::LatencyBuckets());
    prometheus::Histogram& commit_size =
        metrics_
            .Histograms("debrief_inbox_group_commit_deliveries",
                        "Deliveries made durable by one group commit (one fsync).")
            .Add({},
                 prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256, 512});
    auto on_group_commit = [&commit_took, &commit_size](absl::Duration took, size_t n) {
      commit_took.Observe(absl::ToDoubleSeconds(took));
      commit_size.Observe(static_cast<double>(n));
    };
    // Zero commit_delay is meaningful (commit as soon as the previous commit is done).
    auto duration = [](const google::protobuf::Duration& d) {
      return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
    };
    absl::StatusOr<std::unique_ptr<spi::Store>> store;
    if (config_.store().has_postgres()) {
      const auto& pc = config_.store().postgres();
      store::PostgresOptions po;
      po.conninfo = pc.conninfo();
      if (pc.password().source_case() != v1::SecretRef::SOURCE_NOT_SET) {
        auto password = settings::ResolveSecret(pc.password(), config_.data_dir(), false);
        if (!password.ok())
          return absl::Status(password.status().code(), absl::StrCat("store.postgres.password: ",
                                                                     password.status().message()));
        po.password = std::move(*password);
      }
      po.commit_delay = duration(pc.commit_delay());
      po.max_batch = static_cast<int>(pc.max_batch());
      po.read_connections = static_cast<int>(pc.read_connections());
      po.on_group_commit = on_group_commit;
      po.replica = store::ReplicaName(pc.replica());
      po.claim = duration(pc.lease());
      store = store::OpenPostgresStore(po, clock_);
      if (store.ok()) {
        lease_ = std::make_unique<JobLease>(**store, clock_, po.replica, po.claim);
        lease_->Start();
      }
    } else {
      const auto& sq = config_.store().sqlite();
      store::SqliteOptions so;
      so.path = sq.path();
      so.commit_delay = duration(sq.commit_delay());
      so.max_batch = static_cast<int>(sq.max_batch());
      so.read_connections = static_cast<int>(sq.read_connections());
      so.on_group_commit = on_group_commit;
      store = store::OpenSqliteStore(so, clock_);
    }
    if (!store.ok()) return store.status();
    store_ = std::move(*store);
    http_ = outbound::NewCurlHttpClient();

    auto running = WithTaxonomyHistory(config_);
    if (!running.ok()) return running.status();
    int64_t taught_through = 0;
    auto classifier = MakeClassifier(*running, &taught_through);
    if (!classifier.ok()) return classifier.status();
    classifier_ = std::make_unique<classify::ReloadableClassifier>(std::move(*classifier));
    if (lease_) {  // replicas may share the database: learn each other's corrections
      feedback_ = std::make_unique<FeedbackFollower>(*store_, *classifier_, absl::Seconds(2));
      feedback_->Start(taught_through);
    }
    if (absl::Status s = RebuildEmergingIssues(); !s.ok()) return s;

    // The JSON API's session key is made on first start and kept for the process's life.
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
    session_key_ = std::move(*session_key);
    if (config_.grpc().local_token()) {
      absl::StatusOr<std::string> hash =
          WriteLocalToken((std::filesystem::path(config_.data_dir()) / kLocalTokenFile).string());
      if (!hash.ok()) return hash.status();
      local_token_hash_ = std::move(*hash);
    }

    auto engine = BuildEngine(*running);
    if (!engine.ok()) return engine.status();
    // A version that cannot be recorded now (a busy store) is recorded at the next start or
    // reload, which compare the running taxonomy with the last version recorded.
    if (auto v = engine->get()->service->RecordTaxonomy(""); !v.ok())
      base::log::Error("debriefd", "the taxonomy version was not recorded; the next reload tries",
                       {{"error", v.status().ToString()}});
    if (engine->get()->trackers.empty())
      base::log::Warning("debriefd", "no tracker configured: tasks are decided but not created");
    std::atomic_store(&engine_, std::shared_ptr<Engine>(std::move(*engine)));
    store_->SetDeliveryListener([this] {
      if (std::shared_ptr<Engine> e = Current()) e->pipeline->Notify();
    });
    RegisterOutboxDepth();
    RegisterInboxBacklog();
    RegisterStoreCounts();
    metrics::RegisterProcessMetrics(metrics_, DEBRIEF_VERSION, DEBRIEF_COMMIT);
    return absl::OkStatus();
  }

  absl::Status Start() override {
    // gRPC first, NOT_SERVING until everything is up.
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    ClientRoles client_roles;
    for (const auto& [cn, role] : config_.grpc().tls().client_roles())
      if (auto r = auth::ParseRole(role); r.ok()) client_roles[cn] = *r;
    services_ = std::make_unique<GrpcServices>(
        [this] {
          std::shared_ptr<Engine> e = Current();
          return std::shared_ptr<service::Service>(e, e->service.get());
        },
        std::move(client_roles));
    grpc::ServerBuilder builder;
    auto hp = ingress::SplitHostPort(config_.grpc().listen());
    if (!hp.ok()) return absl::InvalidArgumentError(absl::StrCat("grpc.", hp.status().message()));
    std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
    if (!config_.grpc().tls().cert_file().empty()) {
      grpc_certificate_ =
          std::make_unique<GrpcCertificate>(config_.grpc().tls(), config_.data_dir());
      auto c = grpc_certificate_->Credentials();
      if (!c.ok())
        return absl::InvalidArgumentError(absl::StrCat("grpc.tls: ", c.status().message()));
      credentials = std::move(*c);
      // Renewed files are looked at every 10 s (and at SIGHUP: ReloadCertificates).
      certificate_watch_ = std::thread([this] {
        base::NameThisThread("grpc-tls");
        std::unique_lock<std::mutex> l(watch_mu_);
        while (!watch_cv_.wait_for(l, std::chrono::seconds(10), [this] { return watch_stop_; })) {
          l.unlock();
          (void)RefreshGrpcCertificate(false);
          l.lock();
        }
      });
    }
    builder.AddListeningPort(config_.grpc().listen(), credentials, &ports_.grpc);
    builder.SetMaxReceiveMessageSize(config_.grpc().max_message_bytes() > 0
                                         ? static_cast<int>(config_.grpc().max_message_bytes())
                                         : 4 << 20);
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                               config_.grpc().max_concurrent_streams() > 0
                                   ? static_cast<int>(config_.grpc().max_concurrent_streams())
                                   : 100);
    services_->Register(builder);
    grpc_ = builder.BuildAndStart();
    if (!grpc_ || ports_.grpc == 0)
      return absl::UnavailableError(
          absl::StrCat("grpc.listen: cannot listen on ", config_.grpc().listen()));
    grpc_->GetHealthCheckService()->SetServingStatus(false);

    Current()->Start();

    ingress::HttpOptions ho;
    ho.listen = config_.http().listen();
    ho.tls_cert_file = config_.http().tls().cert_file();
    ho.tls_key_file = config_.http().tls().key_file();
    ho.max_body_bytes = config_.http().max_body_bytes();
    ho.idle_timeout = absl::ToChronoNanoseconds(
        ToDuration(config_.http().idle_timeout(), absl::FromChrono(ho.idle_timeout)));
    ho.request_timeout = absl::ToChronoNanoseconds(
        ToDuration(config_.http().request_timeout(), absl::FromChrono(ho.request_timeout)));
    ho.threads = config_.http().threads() > 0 ? static_cast<int>(config_.http().threads())
                                              : std::max(2u, std::thread::hardware_concurrency());
    ho.max_connections = static_cast<int>(config_.http().max_connections());
    ho.max_connections_per_source = static_cast<int>(config_.http().max_connections_per_source());
    ho.webhooks_per_second_per_source = config_.http().webhooks_per_second_per_source();
    ho.webhook_burst_per_source = config_.http().webhook_burst_per_source();
    // The API's routes go to the current engine's API.
    const std::vector<ingress::Route>& routes = Current()->routes;
    for (size_t i = 0; i < routes.size(); ++i)
      ho.routes.push_back({routes[i].prefix, [this, i](const ingress::HttpCall& c) {
                             std::shared_ptr<Engine> e = Current();
                             return e->routes[i].handle(c);
                           }});
    ho.health = &health_;
    if (config_.api().threads() > 0) ho.route_threads = static_cast<int>(config_.api().threads());
    // Counters of the workers: what engines before the current one counted, plus its own.
    Scraped("debrief_pipeline_processed_total", "Deliveries that became ticket events.",
            [](const Engine& e) { return e.pipeline->stats().processed.load(); });
    Scraped("debrief_pipeline_ignored_total",
            "Deliveries about nothing Debrief follows (an event type it does not handle).",
            [](const Engine& e) { return e.pipeline->stats().ignored.load(); });
    Scraped("debrief_pipeline_failed_total",
            "Deliveries given up on: dead letters (debriefctl deliveries list).",
            [](const Engine& e) { return e.pipeline->stats().failed.load(); });
    Scraped("debrief_pipeline_attempts_failed_total",
            "Failed attempts at processing a delivery, retried or not.",
            [](const Engine& e) { return e.pipeline->stats().attempts_failed.load(); });
    Scraped("debrief_outbox_done_total", "Outbox actions carried out.",
            [](const Engine& e) { return e.executor->stats().done.load(); });
    Scraped("debrief_outbox_retried_total", "Outbox actions retried after a passing failure.",
            [](const Engine& e) { return e.executor->stats().retried.load(); });
    Scraped("debrief_outbox_dead_total", "Outbox actions that failed for good.",
            [](const Engine& e) { return e.executor->stats().dead.load(); });
    if (lease_) ho.store_reachable = [lease = lease_.get()] { return lease->StoreReachable(); };
    auto http = ingress::HttpServer::Start(
        ho, *store_,
        [this] {
          std::shared_ptr<Engine> e = Current();
          return std::shared_ptr<const ingress::WebhookTargets>(e, &e->targets);
        },
        clock_, metrics_, [this] { return ready_.load(); });
    if (!http.ok()) return http.status();
    http_server_ = std::move(*http);
    ports_.http = http_server_->port();

    ready_ = true;
    grpc_->GetHealthCheckService()->SetServingStatus(true);
    return absl::OkStatus();
  }

  AppPorts ports() const override { return ports_; }

  absl::Status ReloadCertificates() override {
    absl::Status grpc = RefreshGrpcCertificate(true);
    absl::Status http = http_server_ ? http_server_->ReloadTls(/*force=*/true) : absl::OkStatus();
    return http.ok() ? grpc : http;
  }

  absl::Status RefreshGrpcCertificate(bool force) {
    if (!grpc_certificate_) return absl::OkStatus();
    absl::Status s = grpc_certificate_->Refresh(force);
    if (!s.ok())
      base::log::Error("grpc", "the new certificate is not used; the previous one stays",
                       {{"error", std::string(s.message())}});
    return s;
  }
  std::string classifier_name() const override { return classifier_->name(); }

  bool TrackerSendsWebhooks(const std::string& tracker_id) const override {
    std::shared_ptr<Engine> e = Current();
    auto it = e->tracker_ptrs.find(tracker_id);
    return it != e->tracker_ptrs.end() && it->second->sends_webhooks();
  }

  void Shutdown(absl::Duration grace) override {
    if (shut_down_.exchange(true)) return;
    {
      std::lock_guard<std::mutex> l(watch_mu_);
      watch_stop_ = true;
    }
    watch_cv_.notify_all();
    if (certificate_watch_.joinable()) certificate_watch_.join();
    std::lock_guard<std::mutex> reloading(reload_mu_);  // a reload in progress ends first
    ready_ = false;
    if (grpc_) grpc_->GetHealthCheckService()->SetServingStatus(false);
    // Stop taking webhooks; answer those in flight (they are already durable or refused).
    if (http_server_) http_server_->Stop(grace);
    std::shared_ptr<Engine> e = Current();
    if (e) e->reconciler->Stop();
    if (e) e->service->StopBackfills();
    if (store_) store_->Close();  // flush the last group commit
    if (e && lease_) {
      // Replicas share the inbox, which the others keep filling. The jobs stop first and their
      // lease goes to another replica at once; then this one processes as many deliveries as
      // waited when it stopped, for at most kSharedDrain (its claims go back to the others
      // after), instead of draining an inbox that never empties.
      e->executor->Stop();
      e->loop->Stop();
      lease_->Stop();
      auto backlog = store_->Backlog();
      e->pipeline->HandoverAfter(backlog.ok() ? backlog->pending : 0, absl::Now() + kSharedDrain);
    } else if (e) {
      e->Stop();  // the pipeline processes everything acknowledged
    }
    if (feedback_) feedback_->Stop();
    // gRPC calls here are short unary ones; a client that merely keeps its channel open would
    // otherwise hold Shutdown for seconds (measured: 5 s), so calls get at most 1 s to finish.
    if (grpc_)
      grpc_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoMilliseconds(std::min(grace, absl::Seconds(1))));
  }

  absl::StatusOr<v1::ReloadResponse> Reload(const v1::ReloadRequest& req,
                                            const std::string& audit_as) override {
    absl::StatusOr<v1::ReloadResponse> r = ReloadNow(req, audit_as);
    if (!audit_as.empty()) Current()->service->Audit(audit_as, "Admin.Reload", req, r.status());
    return r;
  }

 private:
  absl::StatusOr<v1::ReloadResponse> ReloadNow(const v1::ReloadRequest& req,
                                               const std::string& actor) {
    std::lock_guard<std::mutex> reloading(reload_mu_);
    if (shut_down_) return absl::UnavailableError("debriefd is stopping");
    if (config_path_.empty())
      return absl::FailedPreconditionError(
          "debriefd was started without a configuration file: there is nothing to read again");
    auto next = config::LoadConfig(config_path_);
    if (next.ok()) next = WithTaxonomyHistory(*next);
    if (!next.ok())
      return absl::InvalidArgumentError(
          absl::StrCat(next.status().message(), "; the running configuration is unchanged"));
    auto level = base::log::ParseLevel(next->log().level());
    if (!level.ok())
      return absl::InvalidArgumentError(
          absl::StrCat(level.status().message(), "; the running configuration is unchanged"));
    auto format = base::log::ParseFormat(next->log().format());
    if (!format.ok())
      return absl::InvalidArgumentError(
          absl::StrCat(format.status().message(), "; the running configuration is unchanged"));
    std::shared_ptr<Engine> current = Current();
    v1::ReloadResponse res;
    res.set_file(config_path_);
    std::vector<config::ConfigChange> changes = config::DiffConfigs(current->config, *next);
    for (const config::ConfigChange& c : changes) {
      v1::ConfigChange* out = res.add_changes();
      out->set_path(c.path);
      out->set_before(c.before);
      out->set_after(c.after);
    }
    for (std::string& r : config::NeedRestart(changes)) res.add_restart_needed(std::move(r));
    if (req.dry_run() || res.restart_needed_size() > 0) {
      base::SetTimestamp(res.mutable_loaded_at(), current->loaded_at);
      return res;
    }
    // Everything the new configuration makes is made before anything is swapped: a failure
    // here leaves the running engine as it was.
    int64_t taught_through = 0;
    auto classifier = MakeClassifier(*next, &taught_through);
    if (!classifier.ok())
      return absl::Status(
          classifier.status().code(),
          absl::StrCat(classifier.status().message(), "; the running configuration is unchanged"));
    auto engine = BuildEngine(*next);
    if (!engine.ok())
      return absl::Status(
          engine.status().code(),
          absl::StrCat(engine.status().message(), "; the running configuration is unchanged"));
    std::shared_ptr<Engine> fresh(std::move(*engine));
    // The old workers stop (the pipeline after the batch in hand; what is pending stays
    // stored); webhooks keep being acknowledged meanwhile, into the store. When a helpdesk
    // goes, what it delivered is processed first, under the configuration that has it.
    // (Those stored while it runs are the next engine's: a steady stream cannot hold it.)
    bool helpdesk_removed = false;
    for (const auto& [id, adapter] : current->helpdesk_ptrs)
      helpdesk_removed = helpdesk_removed || !fresh->helpdesk_ptrs.contains(id);
    int64_t first = 0;
    if (helpdesk_removed) {
      auto backlog = store_->Backlog();
      first = backlog.ok() ? backlog->pending : 1 << 30;
    }
    current->Handover(first);
    if (feedback_) {
      // Swapped under the follower's lock: a correction taught meanwhile to the classifier
      // going out is read again for the one coming in.
      feedback_->Replace([&] { classifier_->Replace(std::move(*classifier)); }, taught_through);
    } else {
      classifier_->Replace(std::move(*classifier));
    }
    {
      std::lock_guard<std::mutex> l(carried_mu_);
      for (const auto& [name, read] : scraped_) carried_[name] += read(*current);
      std::atomic_store(&engine_, fresh);
    }
    fresh->Start();
    fresh->pipeline->Notify();
    base::log::SetLevel(*level);
    base::log::SetFormat(*format);
    base::log::Info("debriefd", "configuration reloaded",
                    {{"file", config_path_}, {"changes", absl::StrCat(changes.size())}});
    res.set_applied(true);
    base::SetTimestamp(res.mutable_loaded_at(), fresh->loaded_at);
    // The configuration runs; a version its taxonomy could not record is recorded at the next
    // start or reload (each compares the running taxonomy with the last version recorded).
    if (auto v = fresh->service->RecordTaxonomy(actor); !v.ok())
      base::log::Error("debriefd", "the taxonomy version was not recorded; the next reload tries",
                       {{"error", v.status().ToString()}});
    return res;
  }

  std::shared_ptr<Engine> Current() const { return std::atomic_load(&engine_); }

  // Adapters, policy, workers and service for `config`; nothing started.
  absl::StatusOr<std::unique_ptr<Engine>> BuildEngine(const v1::Config& config) {
    auto e = std::make_unique<Engine>();
    e->config = config;
    e->loaded_at = clock_.Now();
    const v1::Config& c = e->config;
    Engine* raw = e.get();
    // Each adapter calls through its own recorder, so its health shows its own calls.
    auto context_of = [&](const std::string& id) {
      health_.Add(id);
      raw->adapter_http.push_back(outbound::NewRecordingHttpClient(*http_, health_, id, clock_));
      return spi::AdapterContext{*raw->adapter_http.back(), clock_, c.data_dir(),
                                 spi::AdapterContext::SecretFiles::kCreate};
    };
    for (const auto& h : c.helpdesks()) {
      spi::AdapterContext ctx = context_of(h.id());
      const spi::HelpdeskAdapterFactory* f = registry_->helpdesk(h.type());
      if (f == nullptr)
        return absl::InvalidArgumentError(
            absl::StrCat("helpdesk ", h.id(), ": unknown type \"", h.type(), "\""));
      auto a = f->Create(h, ctx);
      if (!a.ok())
        return absl::Status(a.status().code(),
                            absl::StrCat("helpdesk ", h.id(), ": ", a.status().message()));
      e->helpdesk_ptrs[h.id()] = a->get();
      e->helpdesks.push_back(std::move(*a));
    }
    for (const auto& t : c.trackers()) {
      spi::AdapterContext ctx = context_of(t.id());
      const spi::TrackerAdapterFactory* f = registry_->tracker(t.type());
      if (f == nullptr)
        return absl::InvalidArgumentError(
            absl::StrCat("tracker ", t.id(), ": unknown type \"", t.type(), "\""));
      auto a = f->Create(t, ctx);
      if (!a.ok())
        return absl::Status(a.status().code(),
                            absl::StrCat("tracker ", t.id(), ": ", a.status().message()));
      e->tracker_ptrs[t.id()] = a->get();
      e->trackers.push_back(std::move(*a));
    }
    e->policy = std::make_unique<policy::LinkPolicy>(c, clock_);
    if (absl::Status s = RestorePromotedCategories(nullptr, e->policy.get()); !s.ok()) return s;
    e->pipeline = std::make_unique<pipeline::Pipeline>(
        *store_, e->helpdesk_ptrs, *classifier_, *e->policy, clock_, c.pipeline().batch(),
        ToDuration(c.pipeline().poll_interval(), absl::Milliseconds(50)), &emerging_,
        c.pipeline().max_attempts() > 0 ? static_cast<int>(c.pipeline().max_attempts()) : 5);
    e->pipeline->set_timings(PipelineTimings());
    if (lease_) e->pipeline->set_shared_inbox(true);
    outbox::ExecutorOptions eo;
    eo.initial_backoff = ToDuration(c.outbox().initial_backoff(), absl::Seconds(1));
    eo.max_backoff = ToDuration(c.outbox().max_backoff(), absl::Minutes(10));
    eo.active = JobsActive();
    eo.timed = [&family = metrics_.Histograms(
                    "debrief_outbox_action_duration_seconds",
                    "Carrying out (or trying) one outbox action, by kind: the store's reads and "
                    "the adapter's calls.")](const std::string& action, absl::Duration took) {
      family.Add({{"action", action}}, metrics::Metrics::LatencyBuckets())
          .Observe(absl::ToDoubleSeconds(took));
    };
    e->loop = std::make_unique<loop::Loop>(c, *store_, e->helpdesk_ptrs, e->tracker_ptrs,
                                           *e->policy, clock_);
    e->executor =
        std::make_unique<outbox::Executor>(*store_, e->helpdesk_ptrs, *e->loop, clock_, eo);
    ingress::ReconcilerOptions ro;
    const auto& rc = c.reconcile();
    if (rc.has_interval())  // 0s turns reconciliation off
      ro.interval =
          absl::Seconds(rc.interval().seconds()) + absl::Nanoseconds(rc.interval().nanos());
    ro.initial_lookback = ToDuration(rc.initial_lookback(), ro.initial_lookback);
    if (rc.max_pages() > 0) ro.max_pages = static_cast<int>(rc.max_pages());
    ro.health = &health_;
    ro.active = JobsActive();
    e->jobs_active = JobsActive();
    e->reconciler = std::make_unique<ingress::Reconciler>(*store_, e->helpdesk_ptrs, clock_, ro);
    service::Deps deps{c,
                       *store_,
                       *classifier_,
                       *e->policy,
                       clock_,
                       e->helpdesk_ptrs,
                       e->tracker_ptrs,
                       [raw] { raw->executor->Notify(); },
                       emerging_,
                       [raw](int64_t seq) { return raw->pipeline->Replay(seq); },
                       [raw](int64_t task_id) { return raw->loop->RefreshTask(task_id); },
                       [raw](int64_t task_id) { return raw->loop->StatusReadAt(task_id); },
                       &health_,
                       config_path_,
                       e->loaded_at,
                       [this](const v1::ReloadRequest& r, const std::string& actor) {
                         return ReloadNow(r, actor);
                       }};
    e->sessions = std::make_unique<auth::Sessions>(
        session_key_, clock_, ToDuration(c.api().session_ttl(), absl::Minutes(15)));
    deps.sessions = e->sessions.get();
    deps.local_token_hash = local_token_hash_;
    deps.registry = registry_;
    if (feedback_)
      deps.learn = [f = feedback_.get()](int64_t id, const v1::Ticket& t, const std::string& c) {
        return f->LearnNow(id, t, c);
      };
    deps.http = http_.get();
    e->service = std::make_unique<service::Service>(std::move(deps));
    api::ApiOptions ao;
    ao.frame_ancestors.assign(c.api().frame_ancestors().begin(), c.api().frame_ancestors().end());
    e->api = std::make_unique<api::Api>(*e->service, e->helpdesk_ptrs, clock_, metrics_,
                                        *e->sessions, std::move(ao));
    e->routes = e->api->Routes();
    e->targets.helpdesks = e->helpdesk_ptrs;
    e->targets.trackers.trackers = e->tracker_ptrs;
    e->targets.trackers.on_events = [raw](const std::string& tracker,
                                          const std::vector<std::string>& ids) {
      raw->loop->Nudge(tracker, ids);
    };
    return e;
  }

  // Whether this replica runs the jobs that run on one replica at a time (unset: it always does).
  std::function<bool()> JobsActive() const {
    if (!lease_) return nullptr;
    return [lease = lease_.get()] { return lease->Held(); };
  }

  // The pipeline's histograms (the same series for every engine).
  pipeline::PipelineTimings PipelineTimings() {
    prometheus::Histogram& lag =
        metrics_
            .Histograms("debrief_pipeline_delivery_lag_seconds",
                        "From a delivery's arrival to its processing by the pipeline (tagged, "
                        "linked, its actions queued).")
            .Add({}, metrics::Metrics::WaitBuckets());
    prometheus::Histogram& classify =
        metrics_
            .Histograms("debrief_classify_duration_seconds",
                        "Classifying one ticket (normalised text to a category).")
            .Add({}, prometheus::Histogram::BucketBoundaries{0.00001, 0.000025, 0.00005, 0.0001,
                                                             0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                             0.01, 0.05, 0.1});
    return {[&lag](absl::Duration d) { lag.Observe(absl::ToDoubleSeconds(d)); },
            [&classify](absl::Duration d) { classify.Observe(absl::ToDoubleSeconds(d)); }};
  }

  // The classifier `config` names, with the promoted categories and the corrections so far.
  // `taught_through`: the newest correction it was taught.
  absl::StatusOr<std::unique_ptr<classify::Classifier>> MakeClassifier(const v1::Config& config,
                                                                       int64_t* taught_through) {
    auto next = classify::MakeClassifier(config, clock_);
    if (!next.ok()) return next.status();
    if (absl::Status s = RestorePromotedCategories(next->get(), nullptr); !s.ok()) return s;
    if (absl::Status s = TeachFromFeedback(**next, taught_through); !s.ok()) return s;
    return next;
  }

  // A counter read from each engine's workers, carried over reloads.
  void Scraped(const char* name, const char* help, std::function<int64_t(const Engine&)> read) {
    {
      std::lock_guard<std::mutex> l(carried_mu_);
      scraped_.emplace_back(name, read);
    }
    metrics_.ScrapedCounter(name, help, [this, name = std::string(name), read] {
      std::lock_guard<std::mutex> l(carried_mu_);
      return static_cast<double>(carried_[name] + read(*Current()));
    });
  }

  // debrief_outbox_pending / _dead{adapter}: read from the store at most every 5 s.
  void RegisterOutboxDepth() {
    auto& pending = metrics_.Gauges("debrief_outbox_pending",
                                    "Outbox actions waiting to be carried out, by adapter.");
    auto& dead = metrics_.Gauges("debrief_outbox_dead",
                                 "Outbox actions that failed for good (dead letters), by adapter.");
    auto& oldest = metrics_.Gauges(
        "debrief_outbox_oldest_pending_age_seconds",
        "How long the oldest outbox action waiting for the adapter has waited since it was "
        "queued (0: none waits); actions scheduled for later count too.");
    metrics_.BeforeScrape([this, &pending, &dead, &oldest,
                           last = std::make_shared<std::atomic<int64_t>>(0)] {
      const int64_t now = absl::ToUnixSeconds(clock_.Now());
      int64_t prev = last->load();
      if (now - prev < 5 || !last->compare_exchange_strong(prev, now)) return;
      std::shared_ptr<Engine> e = Current();
      auto depths = e->service->OutboxDepths();
      if (!depths.ok()) return;  // the figures stay as last read
      for (const std::string& id : AdapterIds(e->config)) {
        auto d = depths->find(id);
        pending.Add({{"adapter", id}})
            .Set(d == depths->end() ? 0 : static_cast<double>(d->second.pending));
        dead.Add({{"adapter", id}})
            .Set(d == depths->end() ? 0 : static_cast<double>(d->second.dead));
        oldest.Add({{"adapter", id}})
            .Set(d == depths->end() || d->second.pending == 0
                     ? 0
                     : std::max(0.0,
                                absl::ToDoubleSeconds(clock_.Now() - d->second.oldest_pending)));
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

  // debrief_inbox_dead_letters and debrief_tasks{status}: read at most every 5 s.
  void RegisterStoreCounts() {
    auto& dead = metrics_
                     .Gauges("debrief_inbox_dead_letters",
                             "Deliveries the pipeline gave up on, waiting for a replay or a "
                             "discard (debriefctl deliveries list).")
                     .Add({});
    auto& tasks = metrics_.Gauges("debrief_tasks", "Improvement tasks by status.");
    std::map<v1::TaskStatus, prometheus::Gauge*> by_status;
    for (v1::TaskStatus s : {v1::TASK_PENDING_CREATE, v1::TASK_OPEN, v1::TASK_IN_PROGRESS,
                             v1::TASK_DONE, v1::TASK_SHIPPED, v1::TASK_WONT_DO})
      by_status[s] = &tasks.Add({{"status", StatusLabel(s)}});
    metrics_.BeforeScrape(
        [this, &dead, by_status, last = std::make_shared<std::atomic<int64_t>>(0)] {
          const int64_t now = absl::ToUnixSeconds(clock_.Now());
          int64_t prev = last->load();
          if (now - prev < 5 || !last->compare_exchange_strong(prev, now)) return;
          if (auto letters = store_->ListDeadLetters(1000000); letters.ok())
            dead.Set(static_cast<double>(letters->size()));
          std::map<v1::TaskStatus, int64_t> counts;
          absl::Status s = store_->Read([&](spi::StoreTransaction& tx) -> absl::Status {
            auto all = tx.ListTasks(spi::TaskFilter());
            if (!all.ok()) return all.status();
            for (const v1::ImprovementTask& t : *all) ++counts[t.status()];
            return absl::OkStatus();
          });
          if (!s.ok()) return;  // the figures stay as last read
          for (const auto& [status, g] : by_status) g->Set(static_cast<double>(counts[status]));
        });
  }

  // "pending_create", "open", "in_progress", "done", "wont_do".
  static std::string StatusLabel(v1::TaskStatus s) {
    std::string name = v1::TaskStatus_Name(s);
    absl::string_view n = name;
    if (!absl::ConsumePrefix(&n, "TASK_")) return name;
    return absl::AsciiStrToLower(n);
  }

  static std::vector<std::string> AdapterIds(const v1::Config& config) {
    std::vector<std::string> ids;
    for (const auto& h : config.helpdesks()) ids.push_back(h.id());
    for (const auto& t : config.trackers()) ids.push_back(t.id());
    return ids;
  }

  // `config` with the taxonomy that runs: its categories, and those of the last version
  // recorded that it no longer names, kept as retired (config::EffectiveTaxonomy).
  absl::StatusOr<v1::Config> WithTaxonomyHistory(v1::Config config) {
    std::vector<v1::Category> last;
    absl::Status s = store_->Read([&](spi::StoreTransaction& tx) -> absl::Status {
      auto v = tx.TaxonomyVersions(1);
      if (!v.ok()) return v.status();
      if (!v->empty()) last.assign(v->front().categories().begin(), v->front().categories().end());
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    *config.mutable_taxonomy() = config::EffectiveTaxonomy(config.taxonomy(), last);
    return config;
  }

  // Categories promoted from emerging issues outlive restarts, model and config reloads.
  absl::Status RestorePromotedCategories(classify::Classifier* classifier,
                                         policy::LinkPolicy* policy) {
    std::vector<v1::PromotedCategory> promoted;
    absl::Status s = store_->Read([&](spi::StoreTransaction& tx) -> absl::Status {
      auto p = tx.PromotedCategories();
      if (!p.ok()) return p.status();
      promoted = std::move(*p);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    for (const auto& p : promoted) {
      if (classifier != nullptr) {
        std::vector<std::string> examples(p.examples().begin(), p.examples().end());
        absl::Status a = classifier->AddCategory(p.category(), examples);
        if (!a.ok() && !absl::IsAlreadyExists(a)) return a;
      }
      if (policy != nullptr) {
        absl::Status b = policy->AddCategory(p.category());
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
  absl::Status TeachFromFeedback(classify::Classifier& classifier, int64_t* taught_through) {
    return store_->Read([&](spi::StoreTransaction& tx) -> absl::Status {
      auto fb = tx.ListFeedback(5000);
      if (!fb.ok()) return fb.status();
      *taught_through = fb->empty() ? 0 : fb->front().id;  // newest first
      // Older corrections than the newest 5000 are not taught; a follower starting here never
      // reads them either.
      for (auto it = fb->rbegin(); it != fb->rend(); ++it) {
        auto rec = tx.GetTicket(it->helpdesk_id, it->ticket_id);
        if (!rec.ok()) return rec.status();
        if (*rec) classifier.Learn((*rec)->ticket, it->category_id).IgnoreError();
      }
      return absl::OkStatus();
    });
  }

  const v1::Config config_;  // as started: the listeners, the store and data_dir follow it
  const spi::Clock& clock_;
  const std::string config_path_;
  const spi::AdapterRegistry* registry_ = nullptr;
  metrics::Metrics metrics_;
  metrics::AdapterHealth health_{metrics_};
  std::unique_ptr<spi::Store> store_;
  // Several replicas on one PostgreSQL database: the jobs that run on one of them at a time
  // (the outbox, the task follower, reconciliation) run while this one holds the lease. Unset on
  // SQLite, whose file belongs to one debriefd.
  std::unique_ptr<JobLease> lease_;
  std::unique_ptr<spi::HttpClient> http_;
  std::string session_key_;
  std::string local_token_hash_;  // of the token in data_dir/debriefctl.token
  std::unique_ptr<classify::ReloadableClassifier> classifier_;
  std::unique_ptr<FeedbackFollower> feedback_;  // with lease_: other replicas' corrections
  classify::EmergingIssues emerging_;
  std::shared_ptr<Engine> engine_;  // read and replaced with std::atomic_load/store
  std::mutex reload_mu_;            // one reload at a time, none during shutdown
  std::mutex carried_mu_;
  std::vector<std::pair<std::string, std::function<int64_t(const Engine&)>>> scraped_;
  std::map<std::string, int64_t> carried_;  // counted by engines before the current one
  std::unique_ptr<GrpcServices> services_;
  std::unique_ptr<GrpcCertificate> grpc_certificate_;  // with grpc.tls
  std::thread certificate_watch_;
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool watch_stop_ = false;
  std::unique_ptr<grpc::Server> grpc_;
  std::unique_ptr<ingress::HttpServer> http_server_;
  AppPorts ports_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> shut_down_{false};
};

}  // namespace

absl::StatusOr<std::unique_ptr<App>> App::Create(const v1::Config& config,
                                                 const spi::AdapterRegistry& registry,
                                                 const spi::Clock& clock,
                                                 const std::string& config_path) {
  if (!registry.status().ok()) return registry.status();
  auto app = std::make_unique<AppImpl>(config, clock, config_path);
  if (absl::Status s = app->Init(registry); !s.ok()) return s;
  return app;
}

}  // namespace debrief::server
