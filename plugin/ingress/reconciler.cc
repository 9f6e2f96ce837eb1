#include "ingress/reconciler.h"

#include <algorithm>
#include <condition_variable>
#include <iostream>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/purpose.h"
#include "debrief/spi/adapter_factory.h"

namespace debrief::ingress {

std::string ReconcileCursor(const std::string& helpdesk_id) {
  return absl::StrCat("reconcile:", helpdesk_id);
}

std::string BackfillCursor(const std::string& helpdesk_id, absl::Time since) {
  return absl::StrCat("backfill:", helpdesk_id, ":", absl::ToUnixSeconds(since));
}

namespace {

// Appends a page's deliveries and waits until all are durable (or one failed).
absl::StatusOr<int64_t> AppendAll(spi::Store& store, const std::string& adapter_id,
                                  std::vector<spi::ListedDelivery> deliveries, absl::Time now) {
  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    size_t done = 0;
    int64_t stored = 0;
    absl::Status error;
  };
  auto w = std::make_shared<Wait>();
  const size_t n = deliveries.size();
  for (auto& d : deliveries) {
    spi::StoredDelivery sd;
    sd.adapter_id = adapter_id;
    sd.delivery_key = std::move(d.delivery_key);
    sd.headers = std::move(d.headers);
    sd.body = std::move(d.body);
    sd.received_at = now;
    store.AppendDelivery(std::move(sd), [w](absl::StatusOr<spi::AppendOutcome> r) {
      std::lock_guard<std::mutex> l(w->mu);
      if (!r.ok() && w->error.ok()) w->error = r.status();
      if (r.ok() && *r == spi::AppendOutcome::kStored) ++w->stored;
      ++w->done;
      w->cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> l(w->mu);
  w->cv.wait(l, [&] { return w->done == n; });
  if (!w->error.ok()) return w->error;
  return w->stored;
}

}  // namespace

absl::StatusOr<ListingProgress> ListIntoInbox(
    spi::Store& store, spi::HelpdeskAdapter& helpdesk, const std::string& cursor_name,
    absl::Time since, const spi::Clock& clock,
    const std::function<bool(const ListingProgress&)>& on_page) {
  std::string cursor;
  absl::Status read = store.Read([&](spi::StoreTransaction& tx) {
    auto c = tx.GetCursor(cursor_name);
    if (!c.ok()) return c.status();
    if (*c) cursor = **c;
    return absl::OkStatus();
  });
  if (!read.ok()) return read;

  ListingProgress p;
  while (true) {
    auto page = helpdesk.ListTickets(cursor, since);
    if (!page.ok()) return page.status();
    ++p.pages;
    p.listed += static_cast<int64_t>(page->deliveries.size());
    if (page->total >= 0) p.total = page->total;
    for (auto& d : page->deliveries) d.headers[spi::kListedHeader] = "1";
    auto stored = AppendAll(store, helpdesk.id(), std::move(page->deliveries), clock.Now());
    if (!stored.ok()) return stored.status();
    p.stored += *stored;
    // Only now, with the page durable, does the listing move on.
    if (!page->next_cursor.empty() && page->next_cursor != cursor) {
      cursor = page->next_cursor;
      absl::Status put = store.Transact(
          [&](spi::StoreTransaction& tx) { return tx.PutCursor(cursor_name, cursor); });
      if (!put.ok()) return put;
    }
    p.caught_up = !page->more;
    if (on_page && !on_page(p)) return p;
    if (p.caught_up) return p;
  }
}

Reconciler::Reconciler(spi::Store& store, std::map<std::string, spi::HelpdeskAdapter*> helpdesks,
                       const spi::Clock& clock, ReconcilerOptions options)
    : store_(store), helpdesks_(std::move(helpdesks)), clock_(clock), options_(options) {}

void Reconciler::Start() {
  if (options_.interval <= absl::ZeroDuration()) return;  // configured off
  worker_ = std::make_unique<base::Worker>(
      "reconciler",
      [this]() -> absl::StatusOr<int> {
        base::ScopedPurpose purpose("reconcile");
        auto n = RunOnce();
        // One pass per interval: a pass that found tickets does not run again at once.
        if (!n.ok()) return n.status();
        return 0;
      },
      options_.interval, /*drain_on_stop=*/false, absl::ZeroDuration(), 0, /*nice=*/5);
  if (options_.active) worker_->set_active(options_.active);
  worker_->Start();
}

void Reconciler::Stop() {
  if (worker_) worker_->Stop();
}

absl::Time Reconciler::NextRun(const std::string& id, absl::Time started) const {
  if (options_.interval <= absl::ZeroDuration() || worker_ == nullptr)
    return absl::InfinitePast();  // no schedule: only backfills and explicit passes
  absl::Time next = started + options_.interval;
  if (auto rl = rate_limited_.find(id); rl != rate_limited_.end())
    next = std::max(next, rl->second.since + rl->second.wait);
  return next;
}

bool Reconciler::RateLimited(const std::string& id, absl::Time now) {
  auto rl = rate_limited_.find(id);
  if (rl == rate_limited_.end()) return false;
  if (now < rl->second.since) rl->second.since = now;  // the clock was set back
  if (now < rl->second.since + rl->second.wait) return true;
  rate_limited_.erase(rl);
  return false;
}

absl::StatusOr<int> Reconciler::RunOnce() {
  int stored = 0;
  absl::Status first_error;
  for (const auto& [id, helpdesk] : helpdesks_) {
    if (unsupported_[id]) continue;
    if (RateLimited(id, clock_.Now())) continue;
    const absl::Time started = clock_.Now();
    int pages = 0;
    auto p = ListIntoInbox(store_, *helpdesk, ReconcileCursor(id),
                           clock_.Now() - options_.initial_lookback, clock_,
                           [&](const ListingProgress&) { return ++pages < options_.max_pages; });
    if (!p.ok()) {
      if (absl::IsUnimplemented(p.status())) {
        // Helpdesks without a listing API (the generic webhook) are skipped quietly: their
        // READMEs say so, and a line here would interleave with the start-up banner.
        unsupported_[id] = true;
        continue;
      }
      if (auto d = spi::RetryAfter(p.status())) rate_limited_[id] = {clock_.Now(), *d};
      if (options_.health != nullptr)
        options_.health->Reconciled(id, absl::InfinitePast(), NextRun(id, started));
      base::log::Warning("reconciler", "listing failed (will retry next interval)",
                         {{"helpdesk", id}, {"error", p.status().ToString()}});
      if (first_error.ok()) first_error = p.status();
      continue;
    }
    // A listing that reached the present has seen every change up to when it started.
    if (options_.health != nullptr)
      options_.health->Reconciled(id, p->caught_up ? started : absl::InfinitePast(),
                                  NextRun(id, started));
    stored += static_cast<int>(p->stored);
    if (p->stored > 0)
      base::log::Info("reconciler",
                      "ticket updates listed (those webhooks already brought change nothing)",
                      {{"helpdesk", id}, {"listed", absl::StrCat(p->stored)}});
  }
  stored_total_ += stored;
  if (!first_error.ok() && stored == 0) return first_error;
  return stored;
}

}  // namespace debrief::ingress
