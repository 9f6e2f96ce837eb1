#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "debrief/spi/store.h"
#include "debrief/spi/tracker_adapter.h"
#include "debrief/v1/config.pb.h"

namespace debrief::loop {

// What Debrief writes on a task, with personal data removed (plugin/redact): the description
// (once, at creation) and the impact section it keeps current in place.
struct TaskReport {
  std::string description;
  std::string impact;
  std::vector<spi::LinkedTicket> tickets;
};

// Builds the report from the store: tickets, unique customers, first and last seen, weekly
// trend, a few quotes, credits (the customers who suggested it, the agents praised), the fix
// verification, and links back to every ticket.
absl::StatusOr<TaskReport> BuildReport(spi::StoreTransaction& tx, const v1::ImprovementTask& task,
                                       const v1::Category* category, const v1::LoopConfig& loop,
                                       absl::Time now);

// The tickets per week over the last eight weeks: bars, the counts, and which way they go
// ("▁▂▃▅▆▇██  1 2 3 5 6 7 9 9 (rising)").
std::string WeeklyTrend(const std::vector<spi::TicketRecord>& records, absl::Time now);

// The customer a ticket came from: the requester's id, else e-mail, else the ticket.
std::string CustomerKey(const v1::Ticket& t);

}  // namespace debrief::loop
