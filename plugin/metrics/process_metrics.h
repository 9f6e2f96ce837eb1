#pragma once

#include <string>

#include "metrics/metrics.h"

namespace debrief::metrics {

// The process metrics every Prometheus client exports, read from /proc/self when scraped:
// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds; and
// debrief_build_info{version,commit} (always 1).
void RegisterProcessMetrics(Metrics& metrics, const std::string& version,
                            const std::string& commit);

}  // namespace debrief::metrics
