#include "pipeline/pipeline.h"

#include <sys/resource.h>
#include <unistd.h>

#include <iostream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/thread_name.h"
#include "common/time_util.h"

namespace debrief::pipeline {
namespace {

// The pipeline's threads' CPU priority, the lowest: acknowledging webhooks (and the helpdesk
// beside us) wins the CPU over them; in a burst the pipeline works in what is left over and
// catches up after, from the durable inbox (figures against nice 5: README, Performance).
constexpr int kNice = 19;

bool SameText(const v1::Ticket& a, const v1::Ticket& b) {
  return a.subject() == b.subject() && a.body() == b.body();
}

}  // namespace

Pipeline::Pipeline(spi::Store& store, std::map<std::string, spi::HelpdeskAdapter*> helpdesks,
                   classify::Classifier& classifier, policy::LinkPolicy& policy,
                   const spi::Clock& clock, int batch, absl::Duration poll_interval,
                   classify::EmergingIssues* emerging)
    : store_(store),
      helpdesks_(std::move(helpdesks)),
      classifier_(classifier),
      policy_(policy),
      clock_(clock),
      batch_(batch),
      emerging_(emerging),
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
void Pipeline::Notify() { worker_.Notify(); }

absl::Status Pipeline::Drain() {
  while (true) {
    auto n = ProcessBatch();
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::OkStatus();
  }
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
        FromTimestamp(incoming.updated_at()) < FromTimestamp(rec.ticket.updated_at()))
      return absl::OkStatus();
  } else {
    // Counted from when the helpdesk opened it (backfilled history keeps its dates), never
    // from the future.
    rec.first_seen = incoming.has_created_at()
                         ? std::min(FromTimestamp(incoming.created_at()), clock_.Now())
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
    emerging_->Add(rec.ticket, clock_.Now());
  return policy_.Apply(tx, rec.ticket, *rec.classification);
}

Pipeline::Batch Pipeline::ReadAndPrepare(int64_t after_seq) {
  auto pending = store_.PendingDeliveries(after_seq, batch_);
  if (!pending.ok()) return pending.status();
  // Normalising and classifying are pure CPU work: done before the transaction, so the
  // store's single write lock (which webhook acknowledgements also wait for) is held only
  // for reads and writes.
  std::vector<Prepared> prepared(pending->size());
  for (size_t i = 0; i < pending->size(); ++i) {
    Prepared& p = prepared[i];
    p.delivery = std::move((*pending)[i]);
    const spi::StoredDelivery& d = p.delivery;
    auto it = helpdesks_.find(d.adapter_id);
    if (it == helpdesks_.end()) continue;
    p.adapter = it->second;
    p.result = p.adapter->Normalize(spi::InboundDelivery{d.headers, d.body, d.received_at});
    if (p.result.ok() && p.result->event) {
      p.result->event->mutable_ticket()->set_helpdesk_id(d.adapter_id);
      p.classification = classifier_.Classify(p.result->event->ticket());
    }
  }
  return prepared;
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
  NameThisThread("pipeline-ahead");
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

absl::StatusOr<int> Pipeline::ProcessBatch() {
  std::lock_guard<std::mutex> guard(process_mu_);
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

  int processed = 0, ignored = 0, failed = 0;
  absl::Status s = store_.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    processed = ignored = failed = 0;
    for (Prepared& p : prepared) {
      const spi::StoredDelivery& d = p.delivery;
      if (p.adapter == nullptr) {
        // The adapter was removed from the config after the delivery was accepted.
        if (auto st = tx.MarkDelivery(
                d.seq, spi::DeliveryState::kFailed,
                absl::StrCat("no helpdesk adapter ", d.adapter_id, " is configured"));
            !st.ok())
          return st;
        ++failed;
        continue;
      }
      if (!p.result.ok()) {
        if (auto st = tx.MarkDelivery(d.seq, spi::DeliveryState::kFailed,
                                      std::string(p.result.status().message()));
            !st.ok())
          return st;
        ++failed;
        continue;
      }
      if (!p.result->event) {
        if (auto st =
                tx.MarkDelivery(d.seq, spi::DeliveryState::kIgnored, p.result->ignored_reason);
            !st.ok())
          return st;
        ++ignored;
        continue;
      }
      if (auto st =
              ApplyEvent(tx, *p.result->event, p.classification ? &*p.classification : nullptr);
          !st.ok())
        return st;
      if (auto st = tx.MarkDelivery(d.seq, spi::DeliveryState::kProcessed, ""); !st.ok()) return st;
      ++processed;
    }
    return absl::OkStatus();
  });
  if (!s.ok()) {
    // The read-ahead started after this batch, which will be read again: discard it.
    if (ahead_after_) TakeReadAhead().IgnoreError();
    return s;
  }
  cursor_ = last;
  stats_.processed += processed;
  stats_.ignored += ignored;
  stats_.failed += failed;
  return static_cast<int>(prepared.size());
}

}  // namespace debrief::pipeline
