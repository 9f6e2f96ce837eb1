// Pipeline benchmark: tickets per second from inbox to classified, linked and outbox written,
// through the real SQLite store (PostgreSQL with BENCH_PG=CONNINFO), generic helpdesk adapter,
// learned classifier (default taxonomy) and link policy; and before it, how long the store took
// to acknowledge the deliveries (group commits). Usage: debrief_pipeline_bench TAXONOMY.yaml
// [TICKETS]
#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

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
  debrief::bench::PipelineRig rig(
      "pipeline", "{id: support, type: generic, settings: {secret: {env: PIPELINE_BENCH_SECRET}}}",
      argv[1], *http);
  auto& clock = debrief::spi::SystemClock::Get();
  auto& pipeline = rig.pipeline();

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
  if (auto s = pipeline.Drain(); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  const char* pg = std::getenv("BENCH_PG");
  std::cout << nlohmann::json({{"store", pg != nullptr && *pg != '\0' ? "postgresql" : "sqlite"},
                               {"tickets", n},
                               {"append_seconds", append_secs},
                               {"seconds", secs},
                               {"tickets_per_second", n / secs},
                               {"processed", pipeline.stats().processed.load()}})
                   .dump()
            << std::endl;
  return 0;
}
