// Pipeline benchmark: tickets per second from inbox to classified, linked and outbox written,
// through the real SQLite store, generic helpdesk adapter, learned classifier (default
// taxonomy) and link policy. Usage: debrief_pipeline_bench TAXONOMY.yaml [TICKETS]
#include <chrono>
#include <filesystem>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "absl/strings/str_cat.h"
#include "classify/factory.h"
#include "config/config.h"
#include "http/curl_http_client.h"
#include "pipeline/pipeline.h"
#include "policy/link_policy.h"
#include "register.h"
#include "store/sqlite_store.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: debrief_pipeline_bench TAXONOMY.yaml [TICKETS]\n";
    return 2;
  }
  const int n = argc > 2 ? std::atoi(argv[2]) : 50000;
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / absl::StrCat("debrief-pipeline-bench-", getpid());
  fs::create_directories(dir);
  setenv("PIPELINE_BENCH_SECRET", "s", 1);
  auto config = debrief::config::ParseConfig(
      absl::StrCat("helpdesks: [{id: support, type: generic, settings: {secret: {env: "
                   "PIPELINE_BENCH_SECRET}}}]\n"
                   "trackers: [{id: tasks, type: builtin}]\n"
                   "taxonomy: {file: \"",
                   argv[1], "\"}\n"),
      dir.string());
  if (!config.ok()) {
    std::cerr << config.status() << "\n";
    return 1;
  }
  auto& clock = debrief::spi::SystemClock::Get();
  auto store = debrief::store::OpenSqliteStore({.path = (dir / "d.db").string()}, clock);
  debrief::spi::AdapterRegistry registry;
  debrief::adapters::RegisterBuiltinAdapters(registry);
  auto http = debrief::http::NewCurlHttpClient();
  debrief::spi::AdapterContext ctx{*http, clock, dir.string()};
  auto adapter = registry.helpdesk("generic")->Create(config->helpdesks(0), ctx);
  auto classifier = debrief::classify::MakeClassifier(*config, clock);
  if (!store.ok() || !adapter.ok() || !classifier.ok()) {
    std::cerr << "setup failed\n";
    return 1;
  }
  debrief::policy::LinkPolicy policy(*config, clock);
  debrief::classify::EmergingIssues emerging;
  debrief::pipeline::Pipeline pipeline(**store, {{"support", adapter->get()}}, **classifier, policy,
                                       clock, 256, absl::Milliseconds(50), &emerging);

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
    (*store)->AppendDelivery(std::move(d), [&](auto) {
      if (++stored == n) done[0].set_value();
    });
  }
  done[0].get_future().wait();
  auto t = std::chrono::steady_clock::now();
  if (auto s = pipeline.Drain(); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  std::cout << nlohmann::json({{"tickets", n},
                               {"seconds", secs},
                               {"tickets_per_second", n / secs},
                               {"processed", pipeline.stats().processed.load()}})
                   .dump()
            << std::endl;
  (*store)->Close();
  fs::remove_all(dir);
  return 0;
}
