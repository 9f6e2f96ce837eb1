#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "debrief/v1/model.pb.h"
#include "debrief/v1/store.pb.h"

namespace debrief::spi {

// A raw webhook delivery, durable once AppendDelivery reports kStored or kDuplicate.
struct StoredDelivery {
  int64_t seq = 0;  // assigned by the store, increasing
  std::string adapter_id;
  std::string delivery_key;
  // Set where the delivery's signature covers a timestamp (so each sending signs anew): a
  // digest of that signature. A second delivery with the same replay key is the same sending,
  // whatever its delivery id says.
  std::string replay_key;
  std::map<std::string, std::string> headers;  // bytes as received: not necessarily UTF-8
  std::string body;
  absl::Time received_at;
  // Set by PendingDeliveries when the stored row could not be read back (the rest of the
  // fields may then be empty): the pipeline dead-letters it instead of stopping at it.
  std::string unreadable;
};

enum class AppendOutcome { kStored, kDuplicate };

// What became of a delivery. kFailed is a dead letter: it stays visible with its error
// (ListDeadLetters) and can be processed again (GetDelivery, then the pipeline's Replay).
// kDiscarded is a dead letter an admin gave up on: never processed, kept for the record.
enum class DeliveryState {
  kPending = 0,
  kProcessed = 1,
  kIgnored = 2,
  kFailed = 3,
  kDiscarded = 4
};

// What became of an outbox action. kDead failed for good (it can be retried or discarded).
enum class ActionState { kPending = 0, kDone = 1, kDead = 2, kDiscarded = 3 };

// A delivery the pipeline gave up on.
struct DeadLetter {
  int64_t seq = 0;
  std::string adapter_id;
  std::string delivery_key;
  absl::Time received_at;
  absl::Time failed_at;
  int attempts = 0;
  std::string error;
};

struct TicketRecord {
  v1::Ticket ticket;
  std::optional<v1::Classification> classification;
  bool agent_corrected = false;  // an agent chose the category: the model does not override it
  absl::Time first_seen;
};

struct OutboxEntry {
  int64_t id = 0;
  std::string key;
  v1::OutboxAction action;
  int attempts = 0;
  std::string last_error;  // ListActions only
  absl::Time created_at;   // ListActions only
};

// The deliveries waiting for the pipeline.
struct InboxBacklog {
  int64_t pending = 0;
  absl::Time oldest = absl::InfiniteFuture();  // the oldest one's arrival (none: InfiniteFuture)
};

// One line of the audit log.
struct AuditRecord {
  int64_t id = 0;  // set by the store
  absl::Time at;
  std::string actor;
  std::string action;
  std::string target;
  std::string outcome;
};

struct FeedbackRecord {
  int64_t id = 0;  // increasing in commit order (writes run one at a time, on every store)
  std::string helpdesk_id;
  std::string ticket_id;
  std::string category_id;  // what the agent chose
};

struct TaskFilter {
  std::string category_id;                              // empty: any
  v1::TaskStatus status = v1::TASK_STATUS_UNSPECIFIED;  // unspecified: any
};

// Weeks as the insights count them: Monday 00:00 UTC to the next, numbered from the week of
// 1970-01-01 (week 0 starts on Monday 1969-12-29).
inline int64_t WeekOf(absl::Time t) {
  const int64_t s = absl::ToUnixSeconds(t) + 3 * 86400;
  return s >= 0 ? s / (7 * 86400) : -((-s + 7 * 86400 - 1) / (7 * 86400));
}
inline absl::Time WeekStart(int64_t week) {
  return absl::FromUnixSeconds(week * 7 * 86400 - 3 * 86400);
}

// A cause's confidently tagged tickets in one week (spi::WeekOf of their first_seen).
struct CauseWeek {
  int64_t week = 0;
  std::string category_id;
  int64_t tickets = 0;
  int64_t repeats = 0;  // of them, the customer had an earlier ticket of the cause
};

// What closing the loop told a task's tickets: NotifyTicket and ReplyToCustomer actions
// carried out, and when the last of them was.
struct ToldCounts {
  int64_t tickets = 0;
  int64_t replies = 0;
  std::optional<absl::Time> last;
};

// The named value holding this installation's random id (made by the store's schema); the
// markers Debrief leaves in trackers and helpdesks carry it.
inline constexpr char kInstallationCursor[] = "installation";

// The operations of one transaction. Valid only inside Store::Transact's callback.
class StoreTransaction {
 public:
  virtual ~StoreTransaction() = default;

  virtual absl::StatusOr<std::optional<TicketRecord>> GetTicket(const std::string& helpdesk_id,
                                                                const std::string& ticket_id) = 0;
  virtual absl::Status PutTicket(const TicketRecord& record) = 0;
  // Tickets tagged with this category (not needs-review), seen since `since`, with no link.
  virtual absl::StatusOr<std::vector<v1::Ticket>> UnlinkedTickets(const std::string& category_id,
                                                                  absl::Time since) = 0;

  // The category's task that is pending, open or in progress (at most one exists).
  virtual absl::StatusOr<std::optional<v1::ImprovementTask>> ActiveTask(
      const std::string& category_id) = 0;
  // The task with its impact counts (tickets, customers, first and last seen): these read
  // every link of the task.
  virtual absl::StatusOr<std::optional<v1::ImprovementTask>> GetTask(int64_t task_id) = 0;
  // The task row only, without GetTask's counts: cheap, for lists that show a task beside
  // each ticket.
  virtual absl::StatusOr<std::optional<v1::ImprovementTask>> PeekTask(int64_t task_id) = 0;
  // The task that is this tracker issue (by its immutable id), if Debrief follows one; the
  // task row only, without GetTask's impact counts.
  virtual absl::StatusOr<std::optional<v1::ImprovementTask>> TaskByExternalId(
      const std::string& tracker_id, const std::string& external_id) = 0;
  virtual absl::StatusOr<std::vector<v1::ImprovementTask>> ListTasks(const TaskFilter& f) = 0;
  // Inserts and returns the id. ALREADY_EXISTS if the category already has an active task.
  virtual absl::StatusOr<int64_t> InsertTask(const v1::ImprovementTask& task) = 0;
  // Writes status, external id, key and url, title, done_at, shipped_at and release,
  // verification, flagged, and what was last written to the tracker (synced_ticket_count,
  // synced_at).
  virtual absl::Status UpdateTask(const v1::ImprovementTask& task) = 0;
  // Moves a task to another category (a taxonomy merge or split). ALREADY_EXISTS when the task
  // is active and that category has an active task already; NOT_FOUND for no such task.
  virtual absl::Status MoveTask(int64_t task_id, const std::string& category_id) = 0;
  // The category's most recently done or shipped task (to tell a regression from a new cause).
  virtual absl::StatusOr<std::optional<v1::ImprovementTask>> LastDoneTask(
      const std::string& category_id) = 0;
  // Confidently tagged tickets of the category first seen in [from, to).
  virtual absl::StatusOr<int64_t> CountTickets(const std::string& category_id, absl::Time from,
                                               absl::Time to) = 0;
  // Confidently tagged tickets per cause per week for weeks [from_week, to_week), of one
  // helpdesk (empty: all), week by week; causes with no ticket in a week have no entry.
  virtual absl::StatusOr<std::vector<CauseWeek>> CauseWeeks(const std::string& helpdesk_id,
                                                            int64_t from_week, int64_t to_week) = 0;
  // Distinct customers among the category's confidently tagged tickets first seen in
  // [from, to), of one helpdesk (empty: all).
  virtual absl::StatusOr<int64_t> CountCustomers(const std::string& category_id,
                                                 const std::string& helpdesk_id, absl::Time from,
                                                 absl::Time to) = 0;
  // The category's confidently tagged tickets first seen in [from, to) per assignee (the
  // ticket's assignee name, else id; "" when unassigned), most first.
  virtual absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> TicketsByAssignee(
      const std::string& category_id, const std::string& helpdesk_id, absl::Time from,
      absl::Time to) = 0;
  // What the loop told the task's tickets and customers so far.
  virtual absl::StatusOr<ToldCounts> ToldOfTask(int64_t task_id) = 0;
  // Tickets linked to the task in each of the `weeks` weeks before `now` (by when they were
  // linked), oldest week first: the task's trend, read without visiting its older links.
  virtual absl::StatusOr<std::vector<int64_t>> WeeklyTicketsOfTask(int64_t task_id, absl::Time now,
                                                                   int weeks) = 0;
  // The tickets linked to a task, oldest first.
  virtual absl::StatusOr<std::vector<TicketRecord>> TicketsOfTask(int64_t task_id) = 0;
  virtual absl::Status RecordStatusChange(const v1::TaskStatusChange& change) = 0;
  virtual absl::StatusOr<std::vector<v1::TaskStatusChange>> StatusHistory(int64_t task_id) = 0;

  virtual absl::StatusOr<std::optional<v1::TaskLink>> GetLink(const std::string& helpdesk_id,
                                                              const std::string& ticket_id) = 0;
  virtual absl::StatusOr<std::vector<v1::TaskLink>> LinksOfTask(int64_t task_id) = 0;
  // A ticket links to at most one task: this replaces any earlier link of the ticket.
  virtual absl::Status PutLink(const v1::TaskLink& link) = 0;
  virtual absl::Status DeleteLink(const std::string& helpdesk_id, const std::string& ticket_id) = 0;

  // Adds an action to the outbox unless one with the same key exists (idempotent).
  virtual absl::Status Enqueue(const std::string& key, const v1::OutboxAction& action,
                               absl::Time due) = 0;

  // Records what became of a delivery (a later call for the same seq replaces it). Any
  // outcome but kFailed forgets its failed attempts; a dead letter keeps their count.
  virtual absl::Status MarkDelivery(int64_t seq, DeliveryState state, const std::string& note) = 0;
  // What became of a delivery so far (kPending while it has no outcome).
  virtual absl::StatusOr<DeliveryState> GetDeliveryState(int64_t seq) = 0;
  // Counts a failed attempt at a delivery and returns how many there have been.
  virtual absl::StatusOr<int> RecordDeliveryFailure(int64_t seq, const std::string& error) = 0;
  // Of the deliveries with seq in [first, last], those that already have an outcome, in seq
  // order. Replicas on one database may read the same delivery (a claim that lapsed while its
  // holder was still at work): the pipeline skips what another has settled, within the
  // transaction that would record its own outcome.
  virtual absl::StatusOr<std::vector<int64_t>> SettledDeliveries(int64_t first, int64_t last) = 0;

  // Takes or keeps the lease `name` for `holder` until `until`: true when it is the holder's
  // now (free, lapsed by `now`, or already its own), false while another holds it. Jobs that
  // must run on one replica at a time (the outbox executor, the task follower, reconciliation)
  // run only while their replica holds the lease; one that stops renewing loses it once
  // `until` passes.
  virtual absl::StatusOr<bool> HoldLease(const std::string& name, const std::string& holder,
                                         absl::Time now, absl::Time until) = 0;
  // Gives up a lease the holder has (at shutdown, so another takes it at once).
  virtual absl::Status ReleaseLease(const std::string& name, const std::string& holder) = 0;

  // An agent's correction; returns its id.
  virtual absl::StatusOr<int64_t> RecordFeedback(const std::string& helpdesk_id,
                                                 const std::string& ticket_id,
                                                 const std::string& old_category,
                                                 const std::string& new_category,
                                                 const std::string& agent, absl::Time at) = 0;
  // The most recent corrections, newest first (to teach a classifier at start-up).
  virtual absl::StatusOr<std::vector<FeedbackRecord>> ListFeedback(int limit) = 0;
  // The corrections after the one with id `after_id`, oldest first (what other replicas were
  // taught since).
  virtual absl::StatusOr<std::vector<FeedbackRecord>> ListFeedbackAfter(int64_t after_id,
                                                                        int limit) = 0;

  // Tickets still waiting for review (no confident category, not corrected), first seen
  // since `since`, oldest first: what emerging issues are built from.
  virtual absl::StatusOr<std::vector<TicketRecord>> NeedsReviewTickets(absl::Time since,
                                                                       int limit) = 0;

  // Every ticket of the same person as this one (the same e-mail address, case-folded, in any
  // helpdesk; or the same requester id in this helpdesk), newest first, this one included;
  // just this one when it names no requester. Empty when the ticket is unknown.
  virtual absl::StatusOr<std::vector<TicketRecord>> TicketsOfSamePerson(
      const std::string& helpdesk_id, const std::string& ticket_id, int limit) = 0;
  // The identity of a ticket's requester ("" when the ticket is unknown or names none), and of
  // an e-mail address: opaque keys for MergePeople and SplitPerson.
  virtual absl::StatusOr<std::string> PersonOfTicket(const std::string& helpdesk_id,
                                                     const std::string& ticket_id) = 0;
  virtual std::string PersonOfEmail(const std::string& email) = 0;
  // Makes two identities one person (with every identity either was merged with): their
  // tickets are one journey. Returns how many identities the person now has.
  virtual absl::StatusOr<int> MergePeople(const std::string& person, const std::string& into,
                                          absl::Time at) = 0;
  // Takes one identity out of the person it was merged into; the others stay together.
  // NOT_FOUND when it was merged with none.
  virtual absl::Status SplitPerson(const std::string& person) = 0;
  // Confidently tagged tickets of the category that are not solved or closed, newest first.
  virtual absl::StatusOr<std::vector<TicketRecord>> OpenTicketsOfCategory(
      const std::string& category_id, int limit) = 0;
  // Tasks whose title holds every word of `words` (any case; empty: all), of the category
  // (empty: any), active ones first, then newest; with GetTask's counts.
  virtual absl::StatusOr<std::vector<v1::ImprovementTask>> SearchTasks(
      const std::string& words, const std::string& category_id, int limit) = 0;

  // API tokens, kept by the hash of their secret (never the secret). PutApiToken returns the
  // id; ApiTokenByHash finds one, revoked or not.
  virtual absl::StatusOr<int64_t> PutApiToken(const v1::ApiToken& token,
                                              const std::string& hash) = 0;
  virtual absl::StatusOr<std::optional<v1::ApiToken>> ApiTokenByHash(const std::string& hash) = 0;
  virtual absl::StatusOr<std::vector<v1::ApiToken>> ListApiTokens() = 0;
  // NOT_FOUND when there is no such token (revoking twice is fine).
  virtual absl::Status RevokeApiToken(int64_t id, absl::Time at) = 0;
  virtual absl::Status TouchApiToken(int64_t id, absl::Time at) = 0;

  // Every ticket, in no particular order, until fn returns false (exports, training).
  virtual absl::Status ForEachTicket(const std::function<bool(const TicketRecord&)>& fn) = 0;

  // Categories promoted from emerging issues, in promotion order (by the store's clock).
  virtual absl::Status PutPromotedCategory(const v1::PromotedCategory& promoted) = 0;

  // Named positions of long-running listings (a helpdesk's reconciliation watermark, a
  // backfill's page), so they resume where they stopped; also kInstallationCursor.
  virtual absl::StatusOr<std::optional<std::string>> GetCursor(const std::string& name) = 0;
  virtual absl::Status PutCursor(const std::string& name, const std::string& value) = 0;
  virtual absl::StatusOr<std::vector<v1::PromotedCategory>> PromotedCategories() = 0;

  // Taxonomy versions: PutTaxonomyVersion stores one as the next number (1, 2, ...; the
  // version field given is ignored) and returns it; TaxonomyVersions reads the newest first.
  virtual absl::StatusOr<int64_t> PutTaxonomyVersion(const v1::TaxonomyVersion& version) = 0;
  virtual absl::StatusOr<std::vector<v1::TaxonomyVersion>> TaxonomyVersions(int limit) = 0;
  // Tickets of the category (tagged or a best guess under review), first seen since `since`,
  // newest first: what a split classifies again.
  virtual absl::StatusOr<std::vector<TicketRecord>> TicketsOfCategory(
      const std::string& category_id, absl::Time since, int limit) = 0;

  // Outbox actions in one state, newest first (the admins' view of what waits or failed).
  virtual absl::StatusOr<std::vector<OutboxEntry>> ListActions(ActionState state, int limit) = 0;
  // Dead actions (the one with this id, or every one when id is 0) made pending again, due
  // at `due`, their attempts reset; returns how many. FAILED_PRECONDITION when the named
  // action is not dead, NOT_FOUND when there is none.
  virtual absl::StatusOr<int> ReviveDeadActions(int64_t id, absl::Time due) = 0;
  // Dead actions (one, or all when id is 0) discarded: never carried out, kept for the record.
  virtual absl::StatusOr<int> DiscardDeadActions(int64_t id) = 0;

  // The audit log: appended to, and read newest first (entries older than before_id when it
  // is not 0; only one actor's when actor is not empty).
  virtual absl::Status AppendAudit(const AuditRecord& record) = 0;
  virtual absl::StatusOr<std::vector<AuditRecord>> ListAudit(int limit, int64_t before_id,
                                                             const std::string& actor) = 0;
};

// Debrief's durable state. Implementations: SQLite (embedded default) and PostgreSQL; each passes
// the Store conformance suite (tests/plugin/store_conformance_test.cc). Thread-safe; called from:
//   AppendDelivery                  http-N (and reconciler, backfill); `done` runs on the
//                                   store's own commit thread (inbox-commit)
//   PendingDeliveries, GetDelivery  pipeline and pipeline-ahead
//   Transact                        pipeline, executor, task-follower, the API's threads
//   Read                            the API's threads, http-N (tracker webhooks), start-up
//   DueActions ... DeadLetterAction executor
// Status codes: UNAVAILABLE for what passes (busy, disk full, I/O), which callers retry;
// ALREADY_EXISTS for a uniqueness the data model forbids; DATA_LOSS for a damaged record;
// NOT_FOUND for a named row that does not exist.
class Store {
 public:
  virtual ~Store() = default;

  // Makes a delivery durable. `done` runs on the store's commit thread once the delivery is
  // on disk (kStored), was already there (kDuplicate), or could not be written. Deliveries
  // are committed in groups, so one fsync covers many webhooks. Must not block.
  virtual void AppendDelivery(StoredDelivery delivery,
                              std::function<void(absl::StatusOr<AppendOutcome>)> done) = 0;

  // Pending deliveries with seq > after_seq, oldest first, for this process's pipeline. A row
  // that cannot be read back comes with `unreadable` set rather than failing the whole read.
  // SQLite: one pipeline records outcomes in seq order (its batches are, and it stops at a
  // delivery that fails until it is processed or a dead letter), so the deliveries with an
  // outcome are a prefix of the inbox and everything up to the highest seq with one is skipped.
  // PostgreSQL, where several replicas' pipelines share the inbox: the deliveries returned are
  // claimed for this replica for a while (PostgresOptions::claim), and the others' reads pass
  // over them; what another replica claimed and let lapse is returned whatever its seq.
  virtual absl::StatusOr<std::vector<StoredDelivery>> PendingDeliveries(int64_t after_seq,
                                                                        int limit) = 0;
  // One delivery, whatever its state; NOT_FOUND if there is none with that seq.
  virtual absl::StatusOr<StoredDelivery> GetDelivery(int64_t seq) = 0;
  // How many deliveries have no outcome yet, and when the oldest of them arrived.
  virtual absl::StatusOr<InboxBacklog> Backlog() = 0;
  // Deliveries that failed (DeliveryState::kFailed), newest first.
  virtual absl::StatusOr<std::vector<DeadLetter>> ListDeadLetters(int limit) = 0;

  // Runs fn in one transaction; commits if it returns OK, rolls back otherwise.
  virtual absl::Status Transact(const std::function<absl::Status(StoreTransaction&)>& fn) = 0;
  // Runs fn on a read-only snapshot (writes fail). May run concurrently with Transact.
  virtual absl::Status Read(const std::function<absl::Status(StoreTransaction&)>& fn) = 0;

  // Outbox: due actions, oldest first, and their outcome.
  virtual absl::StatusOr<std::vector<OutboxEntry>> DueActions(absl::Time now, int limit) = 0;
  // Marks actions done, all in one transaction (one fsync for a whole batch).
  virtual absl::Status CompleteActions(const std::vector<int64_t>& ids) = 0;
  virtual absl::Status RetryAction(int64_t id, absl::Time due, const std::string& error) = 0;
  virtual absl::Status DeadLetterAction(int64_t id, const std::string& error) = 0;
  // Moves every pending action's due time by `by`: when the clock is set back, work scheduled
  // by the old clock keeps its distance from now instead of waiting for the clock to catch up.
  virtual absl::Status ShiftPendingActions(absl::Duration by) = 0;

  // Called after each commit that added deliveries, so the pipeline wakes without polling.
  virtual void SetDeliveryListener(std::function<void()> listener) = 0;

  // Flushes queued appends and stops the commit thread. Appends after this fail.
  virtual void Close() = 0;
};

}  // namespace debrief::spi
