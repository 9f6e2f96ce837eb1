#include "server/feedback_follower.h"

#include <vector>

#include "base/log.h"
#include "base/thread_name.h"

namespace debrief::server {
namespace {
constexpr int kPage = 500;
}  // namespace

FeedbackFollower::FeedbackFollower(spi::Store& store, classify::Classifier& classifier,
                                   absl::Duration interval)
    : store_(store), classifier_(classifier), interval_(interval) {}

FeedbackFollower::~FeedbackFollower() { Stop(); }

void FeedbackFollower::Start(int64_t after_id) {
  {
    std::lock_guard<std::mutex> l(learn_mu_);
    seen_ = after_id;
  }
  thread_ = std::thread([this] { Run(); });
}

void FeedbackFollower::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FeedbackFollower::Replace(const std::function<void()>& swap, int64_t after_id) {
  std::lock_guard<std::mutex> l(learn_mu_);
  swap();
  seen_ = after_id;
  taught_.clear();
}

absl::Status FeedbackFollower::LearnNow(int64_t id, const v1::Ticket& ticket,
                                        const std::string& category) {
  std::lock_guard<std::mutex> l(learn_mu_);
  if (id <= seen_) return absl::OkStatus();  // read from the table already, and learned
  taught_.insert(id);
  return classifier_.Learn(ticket, category);
}

absl::StatusOr<int> FeedbackFollower::CatchUp() {
  std::lock_guard<std::mutex> l(learn_mu_);
  int learned = 0;
  while (true) {
    std::vector<std::pair<spi::FeedbackRecord, v1::Ticket>> page;
    size_t read = 0;
    absl::Status s = store_.Read([&](spi::StoreTransaction& tx) -> absl::Status {
      auto fb = tx.ListFeedbackAfter(seen_, kPage);
      if (!fb.ok()) return fb.status();
      read = fb->size();
      for (spi::FeedbackRecord& f : *fb) {
        v1::Ticket ticket;
        if (!taught_.contains(f.id)) {
          auto rec = tx.GetTicket(f.helpdesk_id, f.ticket_id);
          if (!rec.ok()) return rec.status();
          if (*rec) ticket = (*rec)->ticket;
        }
        page.emplace_back(std::move(f), std::move(ticket));
      }
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    for (auto& [f, ticket] : page) {
      seen_ = f.id;
      if (taught_.erase(f.id) > 0 || ticket.ticket_id().empty()) continue;
      if (classifier_.Learn(ticket, f.category_id).ok()) ++learned;
    }
    if (read < static_cast<size_t>(kPage)) return learned;
  }
}

void FeedbackFollower::Run() {
  base::NameThisThread("feedback");
  std::unique_lock<std::mutex> l(mu_);
  while (!cv_.wait_for(l, absl::ToChronoMilliseconds(interval_), [&] { return stop_; })) {
    l.unlock();
    auto n = CatchUp();
    if (!n.ok())
      base::log::Warning("feedback", "could not read other replicas' corrections (will retry)",
                         {{"error", std::string(n.status().message())}});
    else if (*n > 0)
      base::log::Info("feedback", "learned corrections made on other replicas",
                      {{"corrections", std::to_string(*n)}});
    l.lock();
  }
}

}  // namespace debrief::server
