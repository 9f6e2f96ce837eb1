#include "pipeline/pipeline.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/thread_name.h"
#include "base/time_util.h"
#include "base/utf8.h"
#include "debrief/spi/status.h"

namespace debrief::pipeline {
namespace {

// The pipeline's threads' CPU priority, the lowest: acknowledging webhooks (and the helpdesk
// beside us) wins the CPU over them; in a burst the pipeline works in what is left over and
// catches up after, from the durable inbox (figures against nice 5: docs/performance-log.md).
constexpr int kNice = 19;

bool SameText(const v1::Ticket& a, const v1::Ticket& b) {
  return a.subject() == b.subject() && a.body() == b.body();
}

// Runs fn, turning an exception (from an adapter's JSON library, say) into a status that
// names it, so it fails one delivery instead of the pipeline thread.
template <typename Fn>
absl::Status Guarded(absl::string_view what, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, " failed: ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(what, " failed"));
  }
}

}  // namespace

Pipeline::Pipeline(spi::Store& store, std::map<std::string, spi::HelpdeskAdapter*> helpdesks,
                   classify::Classifier& classifier, policy::LinkPolicy& policy,
                   const spi::Clock& clock, int batch, absl::Duration poll_interval,
                   classify::EmergingIssues* emerging, int max_attempts)
    : store_(store),
      helpdesks_(std::move(helpdesks)),
      classifier_(classifier),
      policy_(policy),
      clock_(clock),
      batch_(batch),
      emerging_(emerging),
      max_attempts_(std::max(1, max_attempts)),
      worker_(
          "pipeline", [this] { return ProcessBatch(); }, poll_interval,
          /*drain_on_stop=*/true, /*gather=*/absl::Milliseconds(20), /*full=*/batch, kNice) {}

Pipeline::~Pipeline() {
  Stop();
  {
    std::lock_guard<std::mutex> l(ahead_mu_);
    ahead_quit_ = true;
  }
  ahead_cv_.notify_all();
  if (ahead_thread_.joinable()) ahead_thread_.join();
}

void Pipeline::Start() { worker_.Start(); }
void Pipeline::Stop() { worker_.Stop(); }
void Pipeline::HandoverAfter(int64_t first, absl::Time deadline) {
  worker_.Stop(/*drain=*/false);
  while (first > 0 && absl::Now() < deadline) {
    auto n = ProcessBatch();
    if (!n.ok() || *n == 0) return;  // a failing delivery is the next pipeline's to retry
    first -= *n;
  }
}
void Pipeline::Notify() { worker_.Notify(); }

absl::Status Pipeline::Drain() {
  int retries = 0;
  while (true) {
    auto n = ProcessBatch();
    if (!n.ok()) {
      // A failing delivery is tried again until it is a dead letter; the store's own failure
      // is returned.
      if (retrying_delivery_ && ++retries <= max_attempts_) continue;
      return n.status();
    }
    retries = 0;
    if (*n == 0) return absl::OkStatus();
  }
}

absl::StatusOr<spi::DeliveryState> Pipeline::Replay(int64_t seq) {
  std::lock_guard<std::mutex> guard(process_mu_);
  absl::StatusOr<spi::DeliveryState> state = absl::UnknownError("not read");
  if (absl::Status s = store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
        state = tx.GetDeliveryState(seq);
        return state.status();
      });
      !s.ok())
    return s;
  if (*state != spi::DeliveryState::kFailed)
    return absl::FailedPreconditionError(
        absl::StrCat("delivery ", seq, " is not a dead letter (",
                     *state == spi::DeliveryState::kPending     ? "it is still pending"
                     : *state == spi::DeliveryState::kDiscarded ? "it was discarded"
                                                                : "it was processed",
                     ")"));
  auto delivery = store_.GetDelivery(seq);
  if (!delivery.ok()) return delivery.status();
  std::vector<Prepared> one;
  one.push_back(Prepare(std::move(*delivery)));
  one[0].deferred = false;  // a replay is asked for here: it fails here if it must
  Counts counts;
  absl::Status s = one[0].result.status();
  if (s.ok())
    s = store_.Transact([&](spi::StoreTransaction& tx) {
      counts = Counts();
      return ApplyBatch(tx, one, 1, counts, nullptr);
    });
  if (!s.ok()) {
    // Still a dead letter, now with this error.
    store_
        .Transact([&](spi::StoreTransaction& tx) {
          return tx.MarkDelivery(seq, spi::DeliveryState::kFailed,
                                 absl::StrCat("replayed and failed again: ", s.message()));
        })
        .IgnoreError();
    return s;
  }
  stats_.processed += counts.processed;
  stats_.ignored += counts.ignored;
  return counts.processed > 0 ? spi::DeliveryState::kProcessed : spi::DeliveryState::kIgnored;
}

absl::Status Pipeline::ApplyEvent(spi::StoreTransaction& tx, const v1::TicketEvent& event,
                                  const v1::Classification* precomputed) {
  const v1::Ticket& incoming = event.ticket();
  auto existing = tx.GetTicket(incoming.helpdesk_id(), incoming.ticket_id());
  if (!existing.ok()) return existing.status();

  spi::TicketRecord rec;
  if (*existing) {
    rec = std::move(**existing);
    // An older event arriving late must not overwrite a newer state.
    if (incoming.has_updated_at() && rec.ticket.has_updated_at() &&
        base::FromTimestamp(incoming.updated_at()) < base::FromTimestamp(rec.ticket.updated_at()))
      return absl::OkStatus();
  } else {
    // Counted from when the helpdesk opened it (backfilled history keeps its dates), never
    // from the future.
    rec.first_seen = incoming.has_created_at()
                         ? std::min(base::FromTimestamp(incoming.created_at()), clock_.Now())
                         : clock_.Now();
  }
  const bool text_changed = !*existing || !SameText(rec.ticket, incoming);
  v1::Ticket merged = incoming;
  if (*existing) {
    if (merged.subject().empty()) merged.set_subject(rec.ticket.subject());
    if (merged.body().empty()) merged.set_body(rec.ticket.body());
    if (!merged.has_created_at() && rec.ticket.has_created_at())
      *merged.mutable_created_at() = rec.ticket.created_at();
    if (!merged.has_requester() && rec.ticket.has_requester())
      *merged.mutable_requester() = rec.ticket.requester();
  }
  rec.ticket = std::move(merged);

  const bool classify = !rec.agent_corrected && (!rec.classification || text_changed);
  if (classify) {
    rec.classification = precomputed != nullptr && SameText(incoming, rec.ticket)
                             ? *precomputed
                             : classifier_.Classify(rec.ticket);
  }
  if (absl::Status s = tx.PutTicket(rec); !s.ok()) return s;
  if (!classify) return absl::OkStatus();
  // Unexplained tickets feed the emerging issues (idempotent per ticket).
  if (emerging_ != nullptr && rec.classification->needs_review())
    emerging_->Add(rec.ticket, rec.first_seen);  // as at a restart: when the helpdesk opened it
  return policy_.Apply(tx, rec.ticket, *rec.classification);
}

Pipeline::Batch Pipeline::ReadAndPrepare(int64_t after_seq) {
  auto pending = store_.PendingDeliveries(after_seq, batch_);
  if (!pending.ok()) return pending.status();
  // Normalising and classifying are pure CPU work: done before the transaction, so the
  // store's single write lock (which webhook acknowledgements also wait for) is held only
  // for reads and writes.
  std::vector<Prepared> prepared;
  prepared.reserve(pending->size());
  for (spi::StoredDelivery& d : *pending) prepared.push_back(Prepare(std::move(d)));
  return prepared;
}

Pipeline::Prepared Pipeline::Prepare(spi::StoredDelivery delivery) {
  Prepared p;
  p.delivery = std::move(delivery);
  const spi::StoredDelivery& d = p.delivery;
  if (!d.unreadable.empty()) {
    p.result =
        absl::DataLossError(absl::StrCat("the stored delivery is unreadable: ", d.unreadable));
    return p;
  }
  auto it = helpdesks_.find(d.adapter_id);
  if (it == helpdesks_.end()) {
    p.result = absl::FailedPreconditionError(
        absl::StrCat("no helpdesk adapter ", d.adapter_id, " is configured"));
    p.deferred = shared_inbox_ && clock_.Now() - d.received_at < kLeaveForOthers;
    return p;
  }
  p.adapter = it->second;
  absl::Status s = Guarded("normalising the delivery", [&] {
    p.result = p.adapter->Normalize(spi::InboundDelivery{d.headers, d.body, d.received_at});
    return absl::OkStatus();
  });
  if (!s.ok()) p.result = s;
  if (p.result.ok() && p.result->event && p.result->event->ticket().ticket_id().empty())
    p.result = absl::InvalidArgumentError("the event names no ticket (its ticket id is empty)");
  if (p.result.ok() && p.result->event) {
    v1::TicketEvent& event = *p.result->event;
    event.mutable_ticket()->set_helpdesk_id(d.adapter_id);
    // Everything stored as a Protobuf string is UTF-8, decided here once for every adapter.
    base::RepairUtf8Fields(event);
    Guarded("classifying the ticket", [&] {
      const auto started = std::chrono::steady_clock::now();
      p.classification = classifier_.Classify(event.ticket());
      if (timings_.classify)
        timings_.classify(absl::FromChrono(std::chrono::steady_clock::now() - started));
      return absl::OkStatus();
    }).IgnoreError();  // classified again in the transaction, where a failure counts
  }
  return p;
}

void Pipeline::StartReadAhead(int64_t after_seq) {
  std::lock_guard<std::mutex> l(ahead_mu_);
  if (!ahead_thread_.joinable()) ahead_thread_ = std::thread([this] { ReadAheadLoop(); });
  ahead_after_ = after_seq;
  ahead_.reset();
  ahead_cv_.notify_all();
}

Pipeline::Batch Pipeline::TakeReadAhead() {
  std::unique_lock<std::mutex> l(ahead_mu_);
  ahead_cv_.wait(l, [&] { return ahead_.has_value(); });
  Batch b = std::move(*ahead_);
  ahead_.reset();
  ahead_after_.reset();
  return b;
}

void Pipeline::ReadAheadLoop() {
  base::NameThisThread("pipeline-ahead");
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kNice);
  std::unique_lock<std::mutex> l(ahead_mu_);
  while (true) {
    ahead_cv_.wait(l, [&] { return ahead_quit_ || (ahead_after_ && !ahead_.has_value()); });
    if (ahead_quit_) return;
    const int64_t after = *ahead_after_;
    l.unlock();
    Batch b = ReadAndPrepare(after);
    l.lock();
    ahead_ = std::move(b);
    ahead_cv_.notify_all();
  }
}

absl::Status Pipeline::ApplyBatch(spi::StoreTransaction& tx, std::vector<Prepared>& prepared,
                                  size_t count, Counts& counts, size_t* failed_at) {
  for (size_t i = 0; i < count; ++i) {
    Prepared& p = prepared[i];
    const spi::StoredDelivery& d = p.delivery;
    absl::Status s;
    if (p.settled || p.deferred) continue;
    if (!p.result.ok()) {
      // Refused by the adapter, unreadable, or no adapter: a dead letter at once, since trying
      // again gives the same answer (Replay, once the cause is fixed).
      s = tx.MarkDelivery(d.seq, spi::DeliveryState::kFailed,
                          std::string(p.result.status().message()));
      if (s.ok()) ++counts.failed;
    } else if (!p.result->event) {
      s = tx.MarkDelivery(d.seq, spi::DeliveryState::kIgnored, p.result->ignored_reason);
      if (s.ok()) ++counts.ignored;
    } else {
      s = Guarded("applying the ticket event", [&] {
        return ApplyEvent(tx, *p.result->event, p.classification ? &*p.classification : nullptr);
      });
      if (s.ok()) s = tx.MarkDelivery(d.seq, spi::DeliveryState::kProcessed, "");
      if (s.ok()) ++counts.processed;
      if (s.ok() && base::log::Enabled(base::log::Level::kDebug)) {
        const v1::Ticket& t = p.result->event->ticket();
        const v1::Classification* c = p.classification ? &*p.classification : nullptr;
        base::log::Debug("pipeline", "ticket processed",
                         {{"helpdesk", t.helpdesk_id()},
                          {"ticket", t.ticket_id()},
                          {"delivery", absl::StrCat(d.seq)},
                          {"category", c != nullptr ? c->category_id() : ""},
                          {"confidence", c != nullptr ? absl::StrCat(c->confidence()) : ""}});
      }
    }
    if (!s.ok()) {
      if (failed_at != nullptr) *failed_at = i;
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status Pipeline::FindSettled(spi::StoreTransaction& tx, std::vector<Prepared>& prepared,
                                   size_t count) {
  if (count == 0) return absl::OkStatus();
  // A batch comes in seq order. One that spans far more seqs than it holds (a delivery whose
  // claim lapsed, with newer ones) asks about each instead of reading the whole span's
  // outcomes.
  const int64_t first = prepared[0].delivery.seq, last = prepared[count - 1].delivery.seq;
  if (last - first > 4 * static_cast<int64_t>(count) + 64) {
    for (size_t i = 0; i < count; ++i) {
      auto state = tx.GetDeliveryState(prepared[i].delivery.seq);
      if (!state.ok()) return state.status();
      prepared[i].settled = *state != spi::DeliveryState::kPending;
    }
    return absl::OkStatus();
  }
  auto settled = tx.SettledDeliveries(first, last);
  if (!settled.ok()) return settled.status();
  for (size_t i = 0; i < count; ++i)
    prepared[i].settled =
        std::binary_search(settled->begin(), settled->end(), prepared[i].delivery.seq);
  return absl::OkStatus();
}

absl::StatusOr<bool> Pipeline::RecordFailure(int64_t seq, const absl::Status& error) {
  bool dead = false;
  int attempts = 0;
  bool settled = false;
  absl::Status s = store_.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    // Another replica may have given it an outcome since (its claim on it lapsed).
    auto state = tx.GetDeliveryState(seq);
    if (!state.ok()) return state.status();
    settled = *state != spi::DeliveryState::kPending;
    if (settled) return absl::OkStatus();
    auto n = tx.RecordDeliveryFailure(seq, std::string(error.message()));
    if (!n.ok()) return n.status();
    attempts = *n;
    dead = attempts >= max_attempts_;
    if (!dead) return absl::OkStatus();
    return tx.MarkDelivery(
        seq, spi::DeliveryState::kFailed,
        absl::StrCat("gave up after ", attempts, " attempts: ", error.message()));
  });
  if (!s.ok()) return s;
  if (settled) return true;  // the rest go on
  ++stats_.attempts_failed;
  if (dead) ++stats_.failed;
  base::log::Warning("pipeline",
                     dead ? "delivery failed; it is a dead letter now (debriefctl deliveries list)"
                          : "delivery failed; will retry",
                     {{"delivery", absl::StrCat(seq)},
                      {"attempt", absl::StrCat(attempts, " of ", max_attempts_)},
                      {"error", std::string(error.message())}});
  return dead;
}

absl::StatusOr<int> Pipeline::ProcessBatch() {
  std::lock_guard<std::mutex> guard(process_mu_);
  retrying_delivery_ = false;
  Batch batch = absl::UnknownError("not read");
  if (ahead_after_) {
    batch = TakeReadAhead();
    // A read-ahead that failed or found nothing is simply read again now.
    if (!batch.ok() || batch->empty()) batch = ReadAndPrepare(cursor_);
  } else {
    batch = ReadAndPrepare(cursor_);
  }
  if (!batch.ok()) return batch.status();
  std::vector<Prepared>& prepared = *batch;
  if (prepared.empty()) return 0;
  const int64_t last = prepared.back().delivery.seq;

  // A full batch means a burst: read and prepare the next one while this one commits.
  if (prepared.size() >= static_cast<size_t>(batch_)) StartReadAhead(last);

  Counts counts;
  size_t failed_at = prepared.size();
  absl::Status s = store_.Transact([&](spi::StoreTransaction& tx) {
    counts = Counts();
    if (absl::Status f = FindSettled(tx, prepared, prepared.size()); !f.ok()) return f;
    return ApplyBatch(tx, prepared, prepared.size(), counts, &failed_at);
  });
  auto commit_counts = [&](const Counts& c) {
    stats_.processed += c.processed;
    stats_.ignored += c.ignored;
    stats_.failed += c.failed;
  };
  if (s.ok()) {
    cursor_ = last;
    commit_counts(counts);
    if (timings_.lag) {
      const absl::Time now = clock_.Now();
      for (const Prepared& p : prepared)
        if (!p.settled && !p.deferred) timings_.lag(now - p.delivery.received_at);
    }
    return static_cast<int>(prepared.size());
  }
  // The read-ahead started after this batch, which will be read again: discard it.
  if (ahead_after_) TakeReadAhead().IgnoreError();
  // A retryable failure is the store's (busy, disk full), which passes: nothing is counted
  // against a delivery for it.
  if (failed_at >= prepared.size() || spi::IsRetryable(s)) return s;

  // One delivery failed. Those before it commit now; the failure is counted against it, and
  // once it has failed max_attempts_ times it becomes a dead letter and the rest go on.
  int done = 0;
  if (failed_at > 0) {
    Counts before;
    absl::Status p = store_.Transact([&](spi::StoreTransaction& tx) {
      before = Counts();
      if (absl::Status f = FindSettled(tx, prepared, failed_at); !f.ok()) return f;
      return ApplyBatch(tx, prepared, failed_at, before, nullptr);
    });
    if (!p.ok()) return p;
    cursor_ = prepared[failed_at - 1].delivery.seq;
    commit_counts(before);
    done = static_cast<int>(failed_at);
  }
  const int64_t seq = prepared[failed_at].delivery.seq;
  auto dead = RecordFailure(seq, s);
  if (!dead.ok()) return dead.status();
  if (*dead) {
    cursor_ = seq;
    return done + 1;
  }
  retrying_delivery_ = true;
  return absl::AbortedError(absl::StrCat("delivery ", seq, " is retried after: ", s.message()));
}

}  // namespace debrief::pipeline
