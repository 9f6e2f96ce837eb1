#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "base/worker.h"
#include "classify/classifier.h"
#include "classify/emerging.h"
#include "debrief/spi/clock.h"
#include "debrief/spi/helpdesk_adapter.h"
#include "debrief/spi/store.h"
#include "policy/link_policy.h"

namespace debrief::pipeline {

struct PipelineStats {
  std::atomic<int64_t> processed{0};
  std::atomic<int64_t> ignored{0};
  std::atomic<int64_t> failed{0};           // dead letters, whatever the cause
  std::atomic<int64_t> attempts_failed{0};  // failed attempts at a delivery, retried or not
};

// Where the pipeline's timings go (debriefd's histograms); unset ones are not measured.
struct PipelineTimings {
  std::function<void(absl::Duration)> lag;       // from a delivery's arrival to its processing
  std::function<void(absl::Duration)> classify;  // one ticket's classification
};

// inbox -> HelpdeskAdapter::Normalize -> Classifier -> LinkPolicy -> outbox.
//
// One thread takes pending deliveries in order and handles a batch in one store
// transaction: the ticket, its classification, its link, the outbox actions and the
// delivery's new state commit together. A crash before the commit leaves the deliveries
// pending and they are processed again from scratch; after it, they are done. Either way
// every acknowledged delivery takes effect exactly once.
//
// In a burst (a full batch) the next batch is read, normalised and classified on a helper
// thread while this one commits, so the CPU work and the store's writes overlap on two cores.
// A failed commit discards that read-ahead: the batch after it is read again.
//
// A delivery that cannot be processed never holds up the ones behind it: one the adapter
// refuses (or a stored row that cannot be read back) becomes a dead letter at once; one whose
// processing fails is retried, and after `max_attempts` failed attempts becomes a dead letter
// with its error (Store::ListDeadLetters; Replay processes it again). Failures of the store
// itself (UNAVAILABLE: busy, disk full) are not the delivery's fault: everything waits and is
// retried, and nothing is given up.
class Pipeline {
 public:
  Pipeline(spi::Store& store, std::map<std::string, spi::HelpdeskAdapter*> helpdesks,
           classify::Classifier& classifier, policy::LinkPolicy& policy, const spi::Clock& clock,
           int batch, absl::Duration poll_interval, classify::EmergingIssues* emerging = nullptr,
           int max_attempts = 5);
  ~Pipeline();

  // Before Start.
  void set_timings(PipelineTimings timings) { timings_ = std::move(timings); }
  void Start();
  // Processes what is pending, then stops the thread.
  void Stop();
  // Stops after the batch in hand, then processes on the caller's thread at least `first` more
  // deliveries (0: none; those pending when a configuration reload began) or all there are;
  // the rest stays in the store for the pipeline that takes over. Deliveries that keep arriving
  // meanwhile cannot hold it, nor anything past `deadline`.
  void HandoverAfter(int64_t first, absl::Time deadline = absl::InfiniteFuture());
  // Wakes the thread (the store calls it after a commit that added deliveries).
  void Notify();

  // Processes everything pending now, on the caller's thread. For tools and tests.
  absl::Status Drain();

  // Processes a dead letter again (after the cause was fixed: an adapter configured again, a
  // new build). FAILED_PRECONDITION unless the delivery is a dead letter; on failure it stays
  // one, with the new error.
  absl::StatusOr<spi::DeliveryState> Replay(int64_t seq);

  // Applies one ticket event as if it came from a delivery (backfill and tests).
  // `precomputed`, when given, is the classification of the event's ticket made before the
  // transaction (it is used only if the ticket needs classifying).
  absl::Status ApplyEvent(spi::StoreTransaction& tx, const v1::TicketEvent& event,
                          const v1::Classification* precomputed = nullptr);

  const PipelineStats& stats() const { return stats_; }
  // Several replicas share the inbox (PostgreSQL): a delivery for a helpdesk this one does not
  // have waits for one that does, up to kLeaveForOthers after it arrived, before it is a dead
  // letter. Set before Start.
  void set_shared_inbox(bool shared) { shared_inbox_ = shared; }
  static constexpr absl::Duration kLeaveForOthers = absl::Minutes(10);

 private:
  // Deliveries read from the inbox, normalised and classified: everything a batch needs
  // before its transaction.
  struct Prepared {
    spi::StoredDelivery delivery;
    spi::HelpdeskAdapter* adapter = nullptr;
    absl::StatusOr<spi::NormalizeResult> result = absl::UnknownError("not normalised");
    std::optional<v1::Classification> classification;
    // Given its outcome by another replica meanwhile (its claim lapsed while that one worked):
    // left as it is.
    bool settled = false;
    // For a helpdesk this replica's configuration lacks, on a shared inbox: left for a replica
    // that has it (a rolling update adding a helpdesk), until kLeaveForOthers has passed.
    bool deferred = false;
  };
  using Batch = absl::StatusOr<std::vector<Prepared>>;
  Batch ReadAndPrepare(int64_t after_seq);
  Prepared Prepare(spi::StoredDelivery delivery);
  absl::StatusOr<int> ProcessBatch();
  // Applies the first `count` deliveries in `tx`. On failure, `*failed_at` (if given) is the
  // index of the delivery that failed.
  struct Counts {
    int processed = 0, ignored = 0, failed = 0;
  };
  absl::Status ApplyBatch(spi::StoreTransaction& tx, std::vector<Prepared>& prepared, size_t count,
                          Counts& counts, size_t* failed_at);
  // Marks those of the first `count` deliveries that already have an outcome (read in `tx`,
  // whose writes no other replica's interleave with: store/pg_store.cc's write lock).
  static absl::Status FindSettled(spi::StoreTransaction& tx, std::vector<Prepared>& prepared,
                                  size_t count);
  // Counts a failed attempt at one delivery; after max_attempts_ makes it a dead letter.
  // Returns whether the pipeline moves past it: it is a dead letter now, or another replica
  // gave it an outcome meanwhile.
  absl::StatusOr<bool> RecordFailure(int64_t seq, const absl::Status& error);

  spi::Store& store_;
  PipelineTimings timings_;
  std::map<std::string, spi::HelpdeskAdapter*> helpdesks_;
  classify::Classifier& classifier_;
  policy::LinkPolicy& policy_;
  const spi::Clock& clock_;
  const int batch_;
  classify::EmergingIssues* emerging_;  // may be null
  const int max_attempts_;
  bool shared_inbox_ = false;
  // The last ProcessBatch failed because of one delivery, which is retried (not the store).
  bool retrying_delivery_ = false;
  base::Worker worker_;
  std::mutex process_mu_;  // one batch at a time (thread and Drain)
  int64_t cursor_ = 0;
  // The read-ahead: a thread of its own (started with the first full batch) that reads and
  // prepares the batch after `ahead_after_` while the pipeline thread commits.
  void StartReadAhead(int64_t after_seq);
  Batch TakeReadAhead();  // waits for it
  void ReadAheadLoop();
  std::mutex ahead_mu_;
  std::condition_variable ahead_cv_;
  // Requested, not yet taken. Written only by ProcessBatch (under process_mu_ and ahead_mu_),
  // so ProcessBatch may read it without ahead_mu_.
  std::optional<int64_t> ahead_after_;
  std::optional<Batch> ahead_;  // its result
  bool ahead_quit_ = false;
  std::thread ahead_thread_;
  PipelineStats stats_;
};

}  // namespace debrief::pipeline
