#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "auth/auth.h"
#include "classify/classifier.h"
#include "classify/emerging.h"
#include "debrief/spi/adapter_factory.h"
#include "debrief/spi/clock.h"
#include "debrief/spi/helpdesk_adapter.h"
#include "debrief/spi/http_client.h"
#include "debrief/spi/store.h"
#include "debrief/spi/tracker_adapter.h"
#include "debrief/v1/config.pb.h"
#include "debrief/v1/services.pb.h"
#include "google/protobuf/message.h"
#include "metrics/adapter_health.h"
#include "policy/link_policy.h"

namespace debrief::service {

// What the operations read and change. All references outlive the service.
struct Deps {
  const v1::Config& config;
  spi::Store& store;
  classify::Classifier& classifier;
  policy::LinkPolicy& policy;
  const spi::Clock& clock;
  std::map<std::string, spi::HelpdeskAdapter*> helpdesks;
  std::map<std::string, spi::TrackerAdapter*> trackers;
  std::function<void()> outbox_changed;  // wakes the executor after a change it must carry out
  classify::EmergingIssues& emerging;
  // Processes a dead letter again (pipeline::Pipeline::Replay).
  std::function<absl::StatusOr<spi::DeliveryState>(int64_t seq)> replay_delivery;
  // Reads a task's status back from its tracker now, and says when it was last read
  // (loop::Loop::RefreshTask, StatusReadAt).
  std::function<absl::Status(int64_t task_id)> refresh_task;
  std::function<std::optional<absl::Time>(int64_t task_id)> status_read_at;
  // How each adapter has been doing (debriefd's; absent in tools and some tests).
  const metrics::AdapterHealth* health = nullptr;
  // Where the configuration came from and when it was loaded (Admin.GetConfig), and what reads
  // it again and applies it (Admin.Reload; unset where nothing can).
  std::string config_file;
  absl::Time config_loaded_at = absl::InfinitePast();
  // `actor` is who asked, for what the reload records (a taxonomy version); empty: the file.
  std::function<absl::StatusOr<v1::ReloadResponse>(const v1::ReloadRequest&,
                                                   const std::string& actor)>
      reload;
  // Verifies the session tokens the JSON API mints (unset: none are accepted).
  const auth::Sessions* sessions = nullptr;
  // The SHA-256 (hex) of the administrator's token debriefd wrote for this host's tools
  // (grpc.local_token); empty: none.
  std::string local_token_hash;
  // The adapter types this binary has and the HTTP client a draft adapter is checked through
  // (Admin.ListAdapterTypes, CheckAdapter on a draft, SaveAdapter; unset: those are
  // FAILED_PRECONDITION).
  const spi::AdapterRegistry* registry = nullptr;
  spi::HttpClient* http = nullptr;
  // Teaches the classifier an agent's correction (the feedback row's id, server/
  // feedback_follower.h, so that replicas sharing the database learn each correction once);
  // unset: classifier.Learn.
  std::function<absl::Status(int64_t feedback_id, const v1::Ticket&, const std::string& category)>
      learn;
};

// Outbox actions waiting for one adapter, and those that failed for good.
struct OutboxDepth {
  int64_t pending = 0;
  int64_t dead = 0;
  absl::Time oldest_pending = absl::InfiniteFuture();  // when the oldest waiting one was queued
};

// Every operation Debrief offers, once, with no transport inside: the gRPC services
// (server/grpc_services) are a thin door onto it, and so is the JSON API; each turns an
// absl::Status into its own codes in one place. Requests and answers are the debrief.v1
// messages of proto/debrief/v1/services.proto.
//
// Status codes: INVALID_ARGUMENT for a request that cannot be right (a missing ticket, an
// unknown category), NOT_FOUND for what does not exist, ALREADY_EXISTS and
// FAILED_PRECONDITION as the store and policy say, UNAVAILABLE when the store is busy.
//
// Thread-safety: every method may be called from any thread at once (gRPC's callback threads,
// the HTTP threads); writes go through the store's transactions, which serialise them.
//
//   service::Service svc(deps);
//   absl::StatusOr<v1::GetTicketResponse> t = svc.GetTicket(request);
class Service {
 public:
  explicit Service(Deps deps);

  // Who calls, from a bearer credential: an API token (dbt_..., stored hashed, or the local
  // administrator's token), or a session token (ds1...). `claimed_name` is what the tool says
  // its user is, kept (after "local:") only for the local token, which is accepted only where
  // `local_token` says (gRPC; never the JSON API, whose listener faces the network).
  // UNAUTHENTICATED with the reason.
  absl::StatusOr<auth::Caller> Authenticate(absl::string_view bearer,
                                            absl::string_view claimed_name = "",
                                            bool local_token = false);
  // Whether the caller may make this call ("Tickets.GetTicket"): the role table
  // (auth::Allowed), and a caller bound to one helpdesk naming only its tickets. Stamps the
  // request's `agent` with the caller (an administrator may name someone else).
  // PERMISSION_DENIED with the reason.
  absl::Status Authorize(absl::string_view method, const auth::Caller& caller,
                         google::protobuf::Message& req) const;

  // Tagging.
  absl::StatusOr<v1::ClassifyResponse> Classify(const v1::ClassifyRequest& req);
  // An agent's correction: the ticket gets the category, the classifier learns from it, a
  // link the policy made for the old category goes and the policy links it anew.
  absl::StatusOr<v1::FeedbackResponse> Feedback(const v1::FeedbackRequest& req);
  absl::StatusOr<v1::ListCategoriesResponse> ListCategories(const v1::ListCategoriesRequest& req);
  absl::StatusOr<v1::ListEmergingResponse> ListEmerging(const v1::ListEmergingRequest& req);
  // Tickets waiting for review (no confident category, none chosen), newest first.
  absl::StatusOr<v1::ListReviewResponse> ListReview(const v1::ListReviewRequest& req);
  absl::StatusOr<v1::PromoteEmergingResponse> PromoteEmerging(
      const v1::PromoteEmergingRequest& req);

  // Improvements.
  absl::StatusOr<v1::ListTasksResponse> ListTasks(const v1::ListTasksRequest& req);
  absl::StatusOr<v1::GetTaskResponse> GetTask(const v1::GetTaskRequest& req);
  absl::StatusOr<v1::LinkTicketResponse> LinkTicket(const v1::LinkTicketRequest& req);
  absl::StatusOr<v1::UnlinkTicketResponse> UnlinkTicket(const v1::UnlinkTicketRequest& req);
  absl::StatusOr<v1::RequestTaskResponse> RequestTask(const v1::RequestTaskRequest& req);
  absl::StatusOr<v1::SearchTasksResponse> SearchTasks(const v1::SearchTasksRequest& req);
  absl::StatusOr<v1::RefreshTaskResponse> RefreshTask(const v1::RefreshTaskRequest& req);

  // Tickets.
  absl::StatusOr<v1::GetTicketResponse> GetTicket(const v1::GetTicketRequest& req);
  absl::StatusOr<v1::GetJourneyResponse> GetJourney(const v1::GetJourneyRequest& req);
  absl::StatusOr<v1::SimilarTicketsResponse> SimilarTickets(const v1::SimilarTicketsRequest& req);

  // Insights: where causes go over time, which open tasks matter most (and which stalled),
  // what each fix did, what customers suggest and praise. Weeks start on Monday (UTC).
  absl::StatusOr<v1::CausesOverTimeResponse> CausesOverTime(const v1::CausesOverTimeRequest& req);
  absl::StatusOr<v1::TasksByImpactResponse> TasksByImpact(const v1::TasksByImpactRequest& req);
  absl::StatusOr<v1::FixOutcomesResponse> FixOutcomes(const v1::FixOutcomesRequest& req);
  absl::StatusOr<v1::CustomersVoiceResponse> CustomersVoice(const v1::CustomersVoiceRequest& req);

  // Admin.
  absl::StatusOr<v1::GetConfigResponse> GetConfig(const v1::GetConfigRequest& req);
  absl::StatusOr<v1::ReloadResponse> Reload(const v1::ReloadRequest& req);
  absl::StatusOr<v1::ListAdaptersResponse> ListAdapters(const v1::ListAdaptersRequest& req);
  absl::StatusOr<v1::CheckAdapterResponse> CheckAdapter(const v1::CheckAdapterRequest& req);
  // Adapters without hand-written YAML: each type's settings (from its settings message),
  // saving one into its own file in conf_dir (checked first, then reloaded; a failure restores
  // the files), removing one, and what the vendor's side needs (service/adapters.cc).
  absl::StatusOr<v1::ListAdapterTypesResponse> ListAdapterTypes(
      const v1::ListAdapterTypesRequest& req);
  absl::StatusOr<v1::SaveAdapterResponse> SaveAdapter(const v1::SaveAdapterRequest& req);
  absl::StatusOr<v1::RemoveAdapterResponse> RemoveAdapter(const v1::RemoveAdapterRequest& req);
  absl::StatusOr<v1::GetAdapterSetupResponse> GetAdapterSetup(
      const v1::GetAdapterSetupRequest& req);
  // Taxonomy versions (service/taxonomy.cc): what a taxonomy file changes, applying one
  // (conf_dir/taxonomy.yaml, then reloaded; restored when that fails), and the versions so far.
  absl::StatusOr<v1::DiffTaxonomyResponse> DiffTaxonomy(const v1::DiffTaxonomyRequest& req);
  absl::StatusOr<v1::ApplyTaxonomyResponse> ApplyTaxonomy(const v1::ApplyTaxonomyRequest& req);
  absl::StatusOr<v1::TaxonomyHistoryResponse> TaxonomyHistory(
      const v1::TaxonomyHistoryRequest& req);
  // Records the running taxonomy as a new version when it differs from the last one recorded,
  // and does what its changes mean for the data in the same transaction: a merged category's
  // open task goes to the category it went into (or is marked a duplicate of that one's task,
  // its tickets moving there); a split category's recent tickets are classified again and its
  // open task goes with the most of them. debriefd calls it at start and after each reload.
  // Returns the version recorded, or nullopt when nothing changed.
  absl::StatusOr<std::optional<v1::TaxonomyVersion>> RecordTaxonomy(const std::string& actor);
  absl::StatusOr<v1::ListDeadLettersResponse> ListDeadLetters(
      const v1::ListDeadLettersRequest& req);
  absl::StatusOr<v1::ReplayDeliveryResponse> ReplayDelivery(const v1::ReplayDeliveryRequest& req);
  absl::StatusOr<v1::DiscardDeliveryResponse> DiscardDelivery(
      const v1::DiscardDeliveryRequest& req);
  // Outbox actions that failed for good, with their adapter and ticket or task; retrying
  // them (due now, attempts reset) or discarding them.
  absl::StatusOr<v1::ListDeadActionsResponse> ListDeadActions(
      const v1::ListDeadActionsRequest& req);
  absl::StatusOr<v1::RetryDeadActionResponse> RetryDeadAction(
      const v1::RetryDeadActionRequest& req);
  absl::StatusOr<v1::DiscardDeadActionResponse> DiscardDeadAction(
      const v1::DiscardDeadActionRequest& req);
  // The outbox per adapter (pending actions counted up to 10,000).
  absl::StatusOr<std::map<std::string, OutboxDepth>> OutboxDepths();
  // The audit log, and adding to it. Both transports call Audit after every call: it records
  // those that change something (a fixed list of methods: IsAudited), by the name the caller
  // signed in with, with the request as the target (secrets and long texts left out) and
  // the outcome. A failure to write the log is logged, not returned (the call happened).
  absl::StatusOr<v1::ListAuditResponse> ListAudit(const v1::ListAuditRequest& req);
  void Audit(const std::string& actor, const std::string& method,
             const google::protobuf::Message& request, const absl::Status& outcome);
  static bool IsAudited(const std::string& method);
  // API tokens for people and tools; the secret is returned once and stored as its hash.
  absl::StatusOr<v1::CreateApiTokenResponse> CreateApiToken(const v1::CreateApiTokenRequest& req);
  absl::StatusOr<v1::ListApiTokensResponse> ListApiTokens(const v1::ListApiTokensRequest& req);
  absl::StatusOr<v1::RevokeApiTokenResponse> RevokeApiToken(const v1::RevokeApiTokenRequest& req);
  // One person under two identities (the journey joins them), and undoing it.
  absl::StatusOr<v1::MergePeopleResponse> MergePeople(const v1::MergePeopleRequest& req);
  absl::StatusOr<v1::SplitPersonResponse> SplitPerson(const v1::SplitPersonRequest& req);
  absl::StatusOr<v1::ShowTrackerTaskResponse> ShowTrackerTask(
      const v1::ShowTrackerTaskRequest& req);
  absl::StatusOr<v1::SetTrackerTaskStatusResponse> SetTrackerTaskStatus(
      const v1::SetTrackerTaskStatusRequest& req);

  // Imports a helpdesk's history on the caller's thread, page by page, through the same inbox
  // as webhooks; resumable (the same helpdesk and `since` continue where a run stopped).
  // `progress` is called after every page; the listing stops after a page when it returns
  // false, or once StopBackfills was called. Returns the last progress.
  using BackfillProgressFn = std::function<bool(const v1::BackfillProgress&)>;
  absl::StatusOr<v1::BackfillProgress> Backfill(const v1::BackfillRequest& req,
                                                const BackfillProgressFn& progress);
  // Asks running backfills to stop after their current page and waits for them (before the
  // store closes); later ones are refused.
  void StopBackfills();

 private:
  // A draft adapter made and checked, its typed secrets in a temporary 0600 folder meanwhile.
  absl::Status CheckDraft(const v1::AdapterDraft& draft);
  // The vendor-side steps of an adapter of this config.
  v1::AdapterSetup SetupOf(const std::string& kind, const v1::AdapterConfig& config) const;
  // The adapter's own file in conf_dir (holding it alone), when it exists.
  std::string ManagedFile(const std::string& id) const;
  // The running configuration's adapter of this id (and its kind), or nullptr.
  const v1::AdapterConfig* Configured(const std::string& id, std::string* kind = nullptr) const;

  // What a task shows an agent beyond the store's row: when its status was last read from
  // the tracker, and its weekly tickets.
  absl::Status Decorate(spi::StoreTransaction& tx, v1::ImprovementTask* task) const;
  // One ticket of a journey or of similar tickets, with its task.
  absl::StatusOr<v1::JourneyEntry> Entry(spi::StoreTransaction& tx,
                                         const spi::TicketRecord& r) const;

  // The categories the policy knows (the taxonomy and promoted ones), by id.
  std::map<std::string, v1::Category> CategoriesById() const;

  // The tracker a request names, or the default tracker; NOT_FOUND otherwise.
  absl::StatusOr<spi::TrackerAdapter*> TrackerOf(const std::string& id) const;
  absl::StatusOr<v1::TrackerTaskView> ViewOf(spi::TrackerAdapter& tracker,
                                             const std::string& external_id) const;

  Deps d_;
  std::mutex touched_mu_;
  std::map<int64_t, absl::Time> touched_;  // API token id -> when last_used_at was written
  // ListReview's whole answer for a few seconds, by helpdesk, days and order: every panel
  // opening asks, and each answer reads the unsure tickets of the last days. An agent's
  // answer (Feedback) drops it at once.
  struct ReviewAnswer {
    absl::Time at;
    uint64_t generation = 0;
    v1::ListReviewResponse all;
  };
  std::mutex review_mu_;
  uint64_t review_generation_ = 0;
  std::map<std::string, ReviewAnswer> review_answers_;
  std::mutex backfills_mu_;
  std::condition_variable backfills_cv_;
  int backfills_running_ = 0;
  bool backfills_stopping_ = false;
};

// The ticket a request names, or INVALID_ARGUMENT.
absl::Status RequireTicketRef(const v1::TicketRef& ref);

}  // namespace debrief::service
