// Pipeline benchmark: tickets per second from inbox to classified, linked and outbox written,
// through the real SQLite store (PostgreSQL with BENCH_PG=CONNINFO), generic helpdesk adapter,
// learned classifier (default taxonomy) and link policy; and before it, how long the store took
// to acknowledge the deliveries (group commits). With BENCH_REPLICAS=N (and BENCH_PG), N
// replicas' pipelines share the inbox. Usage: debrief_pipeline_bench TAXONOMY.yaml [TICKETS]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/pipeline_rig.h"
#include "outbound/curl_http_client.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: debrief_pipeline_bench TAXONOMY.yaml [TICKETS]\n";
    return 2;
  }
  const int n = argc > 2 ? std::atoi(argv[2]) : 50000;
  setenv("PIPELINE_BENCH_SECRET", "s", 1);
  auto http = debrief::outbound::NewCurlHttpClient();
  // BENCH_REPLICAS=N with BENCH_PG: N replicas on the one database, each its own store
  // connections, classifier, link policy and pipeline (as N debriefd), draining the inbox
  // together.
  const char* replicas_env = std::getenv("BENCH_REPLICAS");
  const char* on_pg = std::getenv("BENCH_PG");
  const int replicas = on_pg != nullptr && *on_pg != '\0' && replicas_env != nullptr
                           ? std::max(1, std::atoi(replicas_env))
                           : 1;
  std::vector<std::unique_ptr<debrief::bench::PipelineRig>> rigs;
  for (int r = 0; r < replicas; ++r)
    rigs.push_back(std::make_unique<debrief::bench::PipelineRig>(
        r == 0 ? std::string("pipeline") : absl::StrCat("pipeline-r", r + 1),
        "{id: support, type: generic, settings: {secret: {env: PIPELINE_BENCH_SECRET}}}", argv[1],
        *http));
  debrief::bench::PipelineRig& rig = *rigs[0];
  auto& clock = debrief::spi::SystemClock::Get();

  // A realistic mix: the shipped samples' kinds of text, each ticket distinct.
  const char* texts[] = {"I was charged twice for my subscription this month, please refund",
                         "I cannot log in, the password reset email never arrives",
                         "My order has not arrived and tracking has not updated in days",
                         "The app crashes when I open it on my phone",
                         "The dashboard is very slow to load in the afternoon",
                         "Thank you so much, your support team is amazing",
                         "It would be great if you added dark mode",
                         "What are your office hours over the holidays?"};
  std::mt19937 rng(3);
  std::vector<std::promise<void>> done(1);
  std::atomic<int> stored{0};
  const auto appending = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    nlohmann::json body = {{"event", "ticket.created"},
                           {"ticket",
                            {{"id", std::to_string(i)},
                             {"subject", "Ticket " + std::to_string(i)},
                             {"description", texts[rng() % 8]},
                             {"requester", {{"id", "c" + std::to_string(rng() % 5000)}}}}}};
    debrief::spi::StoredDelivery d;
    d.adapter_id = "support";
    d.delivery_key = std::to_string(i);
    d.body = body.dump();
    d.received_at = clock.Now();
    rig.store().AppendDelivery(std::move(d), [&](auto) {
      if (++stored == n) done[0].set_value();
    });
  }
  done[0].get_future().wait();
  auto t = std::chrono::steady_clock::now();
  const double append_secs = std::chrono::duration<double>(t - appending).count();
  std::vector<std::thread> drains;
  std::atomic<bool> failed{false};
  for (auto& r : rigs)
    drains.emplace_back([&failed, &r] {
      if (auto s = r->pipeline().Drain(); !s.ok()) {
        std::cerr << s << "\n";
        failed = true;
      }
    });
  for (auto& d : drains) d.join();
  if (failed) return 1;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  int64_t processed = 0;
  for (auto& r : rigs) processed += r->pipeline().stats().processed.load();
  const char* pg = std::getenv("BENCH_PG");
  std::cout << nlohmann::json({{"store", pg != nullptr && *pg != '\0' ? "postgresql" : "sqlite"},
                               {"replicas", replicas},
                               {"tickets", n},
                               {"append_seconds", append_secs},
                               {"seconds", secs},
                               {"tickets_per_second", n / secs},
                               {"processed", processed}})
                   .dump()
            << std::endl;
  return 0;
}
