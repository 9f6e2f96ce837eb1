#include "store/group_commit.h"

#include <algorithm>
#include <utility>

#include "base/thread_name.h"

namespace debrief::store {

GroupCommit::GroupCommit(absl::Duration delay, int max_batch, CommitFn commit)
    : delay_(delay), max_batch_(std::max(1, max_batch)), commit_(std::move(commit)) {
  thread_ = std::thread([this] {
    base::NameThisThread("inbox-commit");
    Loop();
  });
}

void GroupCommit::Append(spi::StoredDelivery delivery,
                         std::function<void(absl::StatusOr<spi::AppendOutcome>)> done) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!closed_) {
      queue_.push_back({std::move(delivery), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(absl::UnavailableError("store is shutting down"));
}

void GroupCommit::Close() {
  // Every caller returns once what was queued is committed and the thread is gone.
  std::lock_guard<std::mutex> closing(close_mu_);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return;
    closed_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void GroupCommit::Loop() {
  std::vector<Pending> batch;
  while (true) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return closed_ || !queue_.empty(); });
      if (queue_.empty() && closed_) return;
      if (!closed_ && static_cast<int>(queue_.size()) < max_batch_ &&
          delay_ > absl::ZeroDuration()) {
        cv_.wait_for(l, absl::ToChronoMicroseconds(delay_),
                     [&] { return closed_ || static_cast<int>(queue_.size()) >= max_batch_; });
      }
      while (!queue_.empty() && static_cast<int>(batch.size()) < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit_(batch);
    batch.clear();
  }
}

std::string HeadersBlob(const std::map<std::string, std::string>& headers) {
  v1::StoredHeaders h;
  for (const auto& [k, v] : headers) {
    v1::StoredHeaders::Field* f = h.add_headers();
    f->set_name(k);
    f->set_value(v);
  }
  return h.SerializeAsString();
}

}  // namespace debrief::store
