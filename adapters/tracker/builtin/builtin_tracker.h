#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "debrief/spi/adapter_factory.h"

namespace debrief::adapters::builtin {

// Registers the `builtin` tracker type.
void RegisterBuiltinTracker(spi::AdapterRegistry& registry);

// The builtin tracker's own operations beyond the SPI, for people working its tasks
// (`debriefctl tracker close`) and tests: the equivalent of closing an issue in Jira.
class BuiltinTracker : public spi::TrackerAdapter {
 public:
  // shipped_when: a done task is shipped at once (kDone), or when a person sets it `shipped`.
  static absl::StatusOr<std::unique_ptr<BuiltinTracker>> Open(
      std::string id, std::string path, std::string base_url, const spi::Clock& clock,
      spi::ShippedWhen shipped_when = spi::ShippedWhen::kDone);
  virtual absl::Status SetStatus(const std::string& external_id, v1::TaskStatus status) = 0;
  // The tickets linked to a task, as "helpdesk_id/ticket_id".
  virtual absl::StatusOr<std::vector<std::string>> LinkedTickets(
      const std::string& external_id) = 0;
  virtual absl::StatusOr<int> CountTasks() = 0;

  struct TaskDetails {
    std::string title;
    std::string description;
    std::vector<std::string> labels;
    std::vector<std::string> comments;  // oldest first
  };
  virtual absl::StatusOr<TaskDetails> Details(const std::string& external_id) = 0;
};

}  // namespace debrief::adapters::builtin
