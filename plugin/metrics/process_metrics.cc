#include "metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace debrief::metrics {
namespace {

// The fields of /proc/self/stat after the command name (which may hold spaces): field 3 on.
std::vector<std::string> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  const size_t close = line.rfind(')');
  std::vector<std::string> out;
  if (close == std::string::npos) return out;
  std::istringstream rest(line.substr(close + 1));
  for (std::string f; rest >> f;) out.push_back(f);
  return out;
}

double CpuSeconds() {
  const std::vector<std::string> f = StatFields();
  // utime and stime are fields 14 and 15: indexes 11 and 12 from field 3.
  if (f.size() < 13) return 0;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(f[11]) + std::stod(f[12])) / (ticks > 0 ? ticks : 100);
}

// statm: sizes in pages, the whole program first, then what is resident.
double MemoryBytes(int field) {
  std::ifstream in("/proc/self/statm");
  double v[2] = {0, 0};
  in >> v[0] >> v[1];
  return v[field] * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double OpenFds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  int n = 0;
  while (const dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1;  // the directory being read
}

double MaxFds() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return 0;
  return static_cast<double>(r.rlim_cur);
}

}  // namespace

void RegisterProcessMetrics(Metrics& metrics, const std::string& version,
                            const std::string& commit) {
  metrics.ScrapedCounter("process_cpu_seconds_total", "User and system CPU time spent, seconds.",
                         CpuSeconds);
  metrics.ScrapedGauge("process_resident_memory_bytes", "Resident memory size, bytes.",
                       [] { return MemoryBytes(1); });
  metrics.ScrapedGauge("process_virtual_memory_bytes", "Virtual memory size, bytes.",
                       [] { return MemoryBytes(0); });
  metrics.ScrapedGauge("process_open_fds", "Open file descriptors.", OpenFds);
  metrics.ScrapedGauge("process_max_fds", "The most file descriptors the process may open.",
                       MaxFds);
  const double start = static_cast<double>(absl::ToUnixMillis(absl::Now())) / 1000.0;
  metrics.ScrapedGauge("process_start_time_seconds",
                       "When the process started (its metrics were registered), Unix seconds.",
                       [start] { return start; });
  metrics.Gauges("debrief_build_info", "The running debriefd's version and commit (always 1).")
      .Add({{"version", version}, {"commit", commit}})
      .Set(1);
}

}  // namespace debrief::metrics
