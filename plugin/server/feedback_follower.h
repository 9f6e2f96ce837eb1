#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "classify/classifier.h"
#include "debrief/spi/store.h"

namespace debrief::server {

// Replicas on one database learn each other's corrections. An agent's correction is taught to
// the classifier of the replica that took it at once (LearnNow); every `interval` each replica
// reads the corrections recorded since the last it saw (the feedback table, whose ids grow in
// commit order: writes run one at a time) and learns those it has not. Each correction is
// learned once per replica: the two paths share one lock and the set of ids already learned.
class FeedbackFollower {
 public:
  FeedbackFollower(spi::Store& store, classify::Classifier& classifier, absl::Duration interval);
  ~FeedbackFollower();
  FeedbackFollower(const FeedbackFollower&) = delete;
  FeedbackFollower& operator=(const FeedbackFollower&) = delete;

  // Follows from the correction after `after_id` (the newest one the classifier was taught at
  // start-up).
  void Start(int64_t after_id);
  void Stop();
  // Puts in a classifier taught afresh (a reload) through the correction `after_id`: `swap`
  // runs under the follower's lock, and every correction after `after_id` is read again for
  // the new classifier (those LearnNow taught before the swap went to the old one).
  void Replace(const std::function<void()>& swap, int64_t after_id);
  // This replica's correction `id`, just committed: learned now unless already learned.
  absl::Status LearnNow(int64_t id, const v1::Ticket& ticket, const std::string& category);
  // Reads and learns what other replicas recorded since the last call; returns how many.
  absl::StatusOr<int> CatchUp();

 private:
  void Run();

  spi::Store& store_;
  classify::Classifier& classifier_;
  const absl::Duration interval_;
  std::mutex learn_mu_;
  int64_t seen_ = 0;          // corrections up to here were read (learn_mu_)
  std::set<int64_t> taught_;  // ids past seen_ already learned by LearnNow (learn_mu_)
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace debrief::server
