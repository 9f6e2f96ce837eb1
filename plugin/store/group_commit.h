#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "debrief/spi/store.h"
#include "debrief/v1/store.pb.h"
#include "store/store_time.h"

// What both stores do with webhook deliveries before their own SQL: gather them for one commit,
// and keep their headers as one blob.
namespace debrief::store {

// Group commit: AppendDelivery queues; one thread (inbox-commit) takes everything queued, up to
// max_batch, waiting at most `delay` for more once the first is there, and hands the batch to
// `commit`, which writes it in one transaction and answers each delivery's `done`. One fsync
// thus acknowledges many webhooks.
class GroupCommit {
 public:
  struct Pending {
    spi::StoredDelivery delivery;
    std::function<void(absl::StatusOr<spi::AppendOutcome>)> done;
  };
  using CommitFn = std::function<void(std::vector<Pending>& batch)>;

  // Starts the thread: `commit` may run at once, so what it uses must exist already (declare
  // the GroupCommit after it, so that it also stops first).
  GroupCommit(absl::Duration delay, int max_batch, CommitFn commit);
  ~GroupCommit() { Close(); }
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Queues a delivery; after Close, answers UNAVAILABLE at once.
  void Append(spi::StoredDelivery delivery,
              std::function<void(absl::StatusOr<spi::AppendOutcome>)> done);
  // Commits what is queued and stops the thread.
  void Close();

 private:
  void Loop();

  const absl::Duration delay_;
  const int max_batch_;
  const CommitFn commit_;
  std::mutex close_mu_;  // held by Close throughout
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool closed_ = false;
  std::thread thread_;
};

// A delivery's headers as stored: one blob (v1::StoredHeaders).
std::string HeadersBlob(const std::map<std::string, std::string>& headers);

// A delivery read back from the columns seq, adapter_id, delivery_key, received_at, headers,
// body of `s` (either store's statement). A row whose headers cannot be read is marked
// unreadable instead of failing the read.
template <class Stmt>
spi::StoredDelivery DeliveryFromRow(const Stmt& s) {
  spi::StoredDelivery d;
  d.seq = s.Int(0);
  d.adapter_id = s.Text(1);
  d.delivery_key = s.Text(2);
  d.received_at = FromMicros(s.Int(3));
  v1::StoredHeaders h;
  if (!h.ParseFromString(s.Text(4))) {
    d.unreadable = "its stored headers cannot be read";
    return d;
  }
  for (const auto& f : h.headers()) d.headers[f.name()] = f.value();
  d.body = s.Text(5);
  return d;
}

}  // namespace debrief::store
