#pragma once

#include <map>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/taxonomy.h"
#include "debrief/spi/clock.h"
#include "debrief/spi/store.h"
#include "debrief/v1/config.pb.h"

namespace debrief::policy {

// Decides, inside the pipeline's transaction, what a classified ticket changes: which task
// it links to, whether a task opens, and which side effects go to the outbox. Everything it
// writes is keyed, so running it twice for the same ticket changes nothing the second time.
//
// Rules: a category opens a task once it has `open_after_tickets` (the category's own, or the
// policy's) confidently tagged, unlinked tickets first seen within `window`, or at its first
// ticket when it is `open_immediately`; those tickets and every later one of the category
// link to that task while it is active (pending, open, in progress). When the category's last
// task is done, only tickets after it count, and the next task is a regression that points at
// the done one. A needs-review ticket is written back (so an agent sees it) but not linked
// unless link_needs_review. Every link change schedules a debounced SyncTask.
//
// Not thread-safe by itself: call it only inside Store::Transact.
class LinkPolicy {
 public:
  LinkPolicy(const v1::Config& config, const spi::Clock& clock);

  // Called after the ticket's record (with classification) is stored in tx.
  absl::Status Apply(spi::StoreTransaction& tx, const v1::Ticket& ticket,
                     const v1::Classification& classification);

  // An agent links a ticket to a task (replacing any link it had).
  absl::StatusOr<v1::TaskLink> LinkByAgent(spi::StoreTransaction& tx,
                                           const std::string& helpdesk_id,
                                           const std::string& ticket_id, int64_t task_id);
  absl::Status Unlink(spi::StoreTransaction& tx, const std::string& helpdesk_id,
                      const std::string& ticket_id);

  // An agent asks for a task for this ticket now: links it to the category's active task, or
  // opens one at once.
  struct Requested {
    v1::ImprovementTask task;
    bool created = false;
  };
  // `title` (empty: TaskTitle of the category) names a task it creates.
  absl::StatusOr<Requested> RequestTask(spi::StoreTransaction& tx, const std::string& helpdesk_id,
                                        const std::string& ticket_id,
                                        const std::string& category_id,
                                        const std::string& title = "");

  // Moves every ticket linked to one task to another (a taxonomy merge or split), keeping how
  // each was linked; both tasks are brought up to date. Returns how many moved.
  absl::StatusOr<int> MoveLinks(spi::StoreTransaction& tx, int64_t from_task, int64_t to_task);

  // Schedules the task's next SyncTask (debounced by loop.impact_interval). A forced one is
  // written whatever the impact's growth (status changes, agents' decisions).
  absl::Status EnqueueSync(spi::StoreTransaction& tx, int64_t task_id, bool force);

  // The category, or null. Categories are never removed while in use, so the pointer stays
  // valid (promoted ones are added at run time).
  const v1::Category* category(const std::string& id) const;
  // Every category (the taxonomy's and the promoted ones), by id.
  std::vector<v1::Category> Categories() const;
  // A category promoted from an emerging issue. ALREADY_EXISTS if the id is taken.
  absl::Status AddCategory(const v1::Category& c);
  // Undoes AddCategory when the promotion that asked for it failed.
  void RemoveCategory(const std::string& id);
  // Where a category's tickets count now (itself, or what it was merged into), and the
  // categories merged into one: trends and impact read through these.
  const config::CountsAs& counts_as() const { return counts_as_; }
  std::string TrackerFor(const v1::Category& c) const;
  // The categories whose tasks go to this tracker (what Admin.CheckAdapter checks).
  std::vector<v1::Category> CategoriesOf(const std::string& tracker_id) const;
  static std::string TaskTitle(const v1::Category& c);

 private:
  absl::Status Link(spi::StoreTransaction& tx, const v1::Ticket& ticket,
                    const v1::ImprovementTask& task, v1::LinkOrigin origin);
  absl::StatusOr<v1::ImprovementTask> OpenTask(spi::StoreTransaction& tx, const v1::Category& cat,
                                               const std::vector<v1::Ticket>& tickets,
                                               v1::LinkOrigin origin,
                                               const std::string& title = "");
  absl::Status EnqueueWriteBack(spi::StoreTransaction& tx, const v1::Ticket& ticket,
                                const v1::Classification& c, int64_t task_id);

  const spi::Clock& clock_;
  v1::LinkPolicyConfig config_;
  v1::LoopConfig loop_;
  std::string default_tracker_;
  mutable std::shared_mutex categories_mu_;
  std::map<std::string, v1::Category> categories_;
  config::CountsAs counts_as_;
};

}  // namespace debrief::policy
