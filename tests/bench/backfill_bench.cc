// Backfill benchmark: N generated tickets through the import path `debriefctl backfill` drives
// in debriefd (Admin.Backfill): the real Zendesk adapter reads Zendesk's incremental export
// (cursor pages of 1,000 tickets), ListIntoInbox appends each page durably to the real SQLite
// inbox and moves the cursor, and the pipeline thread classifies, links and writes the outbox
// meanwhile, as in debriefd. The export is served in-process (no network: the figure is
// Debrief's). Prints one JSON line: wall time to listed and to processed, peak resident memory.
// Usage: debrief_backfill_bench TAXONOMY.yaml [TICKETS]
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/pipeline_rig.h"
#include "debrief/spi/http_client.h"
#include "ingress/reconciler.h"

namespace {

// Zendesk's incremental ticket export (GET /api/v2/incremental/tickets/cursor.json), generated:
// pages of 1,000 tickets spread over the last year, in update order, a realistic mix of texts.
class GeneratedExport final : public debrief::spi::HttpClient {
 public:
  explicit GeneratedExport(int64_t tickets) : tickets_(tickets) {}

  absl::StatusOr<debrief::spi::HttpResponse> Send(const debrief::spi::HttpRequest& r) override {
    int64_t page = 0;
    const size_t at = r.url.find("cursor=");
    if (at != std::string::npos && !absl::SimpleAtoi(r.url.substr(at + 7), &page))
      return absl::InvalidArgumentError("bad cursor");
    static const char* kTexts[] = {
        "I was charged twice for my subscription this month, please refund the duplicate",
        "I cannot log in, the password reset email never arrives",
        "My order has not arrived and tracking has not updated in days",
        "The app crashes when I open it on my phone since the update",
        "The dashboard is very slow to load in the afternoon",
        "Thank you so much for the quick help, your support team is amazing",
        "It would be great if you added dark mode to the app",
        "What are your office hours over the holidays?",
        "The item arrived damaged and a part is missing from the box",
        "How do I export my data to CSV?"};
    std::mt19937 rng(static_cast<uint32_t>(page));
    const int64_t first = page * kPage, last = std::min(tickets_, first + kPage);
    const absl::Time start = absl::Now() - absl::Hours(24 * 365);
    nlohmann::json list = nlohmann::json::array();
    for (int64_t id = first; id < last; ++id) {
      const std::string when =
          absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                           start + absl::Hours(24 * 365) * (static_cast<double>(id) / tickets_),
                           absl::UTCTimeZone());
      list.push_back({{"id", id + 1},
                      {"created_at", when},
                      {"updated_at", when},
                      {"subject", absl::StrCat("Ticket ", id + 1)},
                      {"description", absl::StrCat(kTexts[rng() % 10], ". Order ", rng() % 100000)},
                      {"status", rng() % 3 == 0 ? "solved" : "open"},
                      {"requester_id", 1000 + rng() % 200000},
                      {"tags", nlohmann::json::array({"backfill"})},
                      {"via", {{"channel", "email"}}}});
    }
    const bool end = last >= tickets_;
    debrief::spi::HttpResponse res;
    res.status = 200;
    res.body = nlohmann::json({{"tickets", list},
                               {"after_cursor", end ? "" : std::to_string(page + 1)},
                               {"end_of_stream", end}})
                   .dump();
    return res;
  }

 private:
  static constexpr int64_t kPage = 1000;
  const int64_t tickets_;
};

double PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: debrief_backfill_bench TAXONOMY.yaml [TICKETS]\n";
    return 2;
  }
  const int64_t n = argc > 2 ? std::atoll(argv[2]) : 1000000;
  setenv("BACKFILL_BENCH_SECRET", "bench-secret", 1);
  GeneratedExport http(n);
  debrief::bench::PipelineRig rig(
      "backfill",
      "{id: zendesk, type: zendesk, settings: {url: \"http://zendesk.bench\", email: "
      "bot@example.com, api_token: {env: BACKFILL_BENCH_SECRET}, signing_secret: {env: "
      "BACKFILL_BENCH_SECRET}}}",
      argv[1], http);
  auto& clock = debrief::spi::SystemClock::Get();
  auto& pipeline = rig.pipeline();
  rig.store().SetDeliveryListener([&] { pipeline.Notify(); });
  pipeline.Start();

  const auto t0 = std::chrono::steady_clock::now();
  auto secs = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const absl::Time since = absl::Now() - absl::Hours(24 * 366);
  auto listed = debrief::ingress::ListIntoInbox(rig.store(), rig.helpdesk(),
                                                debrief::ingress::BackfillCursor("zendesk", since),
                                                since, clock);
  if (!listed.ok()) {
    std::cerr << listed.status() << "\n";
    return 1;
  }
  const double listed_at = secs();
  auto handled = [&] {
    const auto& st = pipeline.stats();
    return st.processed.load() + st.ignored.load() + st.failed.load();
  };
  while (handled() < listed->stored) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double done_at = secs();
  pipeline.Stop();
  std::cout << nlohmann::json({{"tickets", n},
                               {"pages", listed->pages},
                               {"stored", listed->stored},
                               {"processed", pipeline.stats().processed.load()},
                               {"failed", pipeline.stats().failed.load()},
                               {"listed_seconds", listed_at},
                               {"seconds", done_at},
                               {"tickets_per_second", n / done_at},
                               {"peak_rss_mb", PeakRssMb()},
                               {"database_mb", static_cast<double>(
                                                   std::filesystem::file_size(rig.dir() / "d.db")) /
                                                   (1024.0 * 1024.0)}})
                   .dump()
            << std::endl;
  return 0;
}
