// The agents' panel under load: a store holding N tickets (default 1,000,000: 200,000 customers
// writing to two helpdesks, every ticket classified, those of a cause with a task linked to
// it), a real debriefd on it, and A agents (default 50) at once, each opening ticket after
// ticket as the panel does: the ticket with its task, the customer's journey, similar open
// tickets. Each agent pauses between panels for a random time (exponential, a mean of PAUSE
// ms; 0 = no pause, the most the service can serve). The same calls go through the JSON API
// (HTTP/1.1 keep-alive, a session token) and through gRPC (one channel), one after the other
// in the same run, for the same time each, for each pause and each number of the store's read
// connections (debriefd restarted on the same store).
// Prints one JSON line: per call and per whole panel, p50 and p99 in ms, and panels per second.
// Usage: debrief_panel_bench TAXONOMY.yaml [TICKETS] [AGENTS] [SECONDS] [PAUSES_MS] [READERS]
//   PAUSES_MS and READERS are comma-separated lists (defaults "0,1000" and "1,4").
#include <curl/curl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/time_util.h"
#include "bench/bench_store.h"
#include "config/config.h"
#include "integration/debriefd_process.h"

namespace {

using namespace debrief;  // NOLINT: a benchmark's main file
using bench::Check;
using bench::Clock;
using bench::HelpdeskOf;
using bench::Ms;
using bench::Percentile;
using bench::Populate;
using bench::TicketId;

struct Latencies {
  std::vector<double> get_ticket, journey, similar, panel;  // ms
  int64_t errors = 0;
  void Merge(const Latencies& o) {
    for (auto [to, from] : {std::pair{&get_ticket, &o.get_ticket},
                            {&journey, &o.journey},
                            {&similar, &o.similar},
                            {&panel, &o.panel}})
      to->insert(to->end(), from->begin(), from->end());
    errors += o.errors;
  }
};

nlohmann::json Summary(const Latencies& l, double seconds) {
  auto one = [](const std::vector<double>& v) {
    return nlohmann::json{{"p50_ms", Percentile(v, 0.50)}, {"p99_ms", Percentile(v, 0.99)}};
  };
  return {{"GetTicket", one(l.get_ticket)},
          {"GetJourney", one(l.journey)},
          {"SimilarTickets", one(l.similar)},
          {"panel", one(l.panel)},
          {"panels_per_second", static_cast<double>(l.panel.size()) / seconds},
          {"errors", l.errors}};
}

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One agent over the JSON API: a keep-alive connection of its own.
// Waits the agent's pause before its next panel: exponential with the given mean.
void Pause(std::mt19937_64& rng, double mean_ms, Clock::time_point until) {
  if (mean_ms <= 0) return;
  std::exponential_distribution<double> wait(1.0 / mean_ms);
  const auto next = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double, std::milli>(wait(rng)));
  std::this_thread::sleep_until(std::min(next, until));
}

Latencies HttpAgent(int port, const std::string& session, int seed, int64_t tickets,
                    double pause_ms, Clock::time_point until) {
  Latencies out;
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, ("Authorization: Bearer " + session).c_str());
  std::string body, answer;
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  auto call = [&](const char* method, const std::string& json, std::vector<double>* into) {
    const std::string url = absl::StrCat("http://127.0.0.1:", port, "/api/v1/", method);
    body = json;
    answer.clear();
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    const auto t0 = Clock::now();
    long status = 0;
    if (curl_easy_perform(curl) != CURLE_OK ||
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200)
      ++out.errors;
    into->push_back(Ms(t0, Clock::now()));
  };
  while (true) {
    Pause(rng, pause_ms, until);
    if (Clock::now() >= until) break;
    const int64_t i = static_cast<int64_t>(rng() % static_cast<uint64_t>(tickets));
    const std::string ref =
        nlohmann::json{{"ticket", {{"helpdeskId", HelpdeskOf(i)}, {"ticketId", TicketId(i)}}}}
            .dump();
    const auto t0 = Clock::now();
    call("Tickets/GetTicket", ref, &out.get_ticket);
    call("Tickets/GetJourney", ref, &out.journey);
    call("Tickets/SimilarTickets", ref, &out.similar);
    out.panel.push_back(Ms(t0, Clock::now()));
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return out;
}

// The same agent over gRPC, on the shared channel.
Latencies GrpcAgent(std::shared_ptr<grpc::Channel> channel, int seed, int64_t tickets,
                    double pause_ms, Clock::time_point until) {
  Latencies out;
  auto stub = v1::Tickets::NewStub(channel);
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  while (true) {
    Pause(rng, pause_ms, until);
    if (Clock::now() >= until) break;
    const int64_t i = static_cast<int64_t>(rng() % static_cast<uint64_t>(tickets));
    v1::TicketRef ref;
    ref.set_helpdesk_id(HelpdeskOf(i));
    ref.set_ticket_id(TicketId(i));
    const auto t0 = Clock::now();
    auto timed = [&](auto fn, std::vector<double>* into) {
      const auto a = Clock::now();
      grpc::ClientContext ctx;
      if (!fn(ctx).ok()) ++out.errors;
      into->push_back(Ms(a, Clock::now()));
    };
    timed(
        [&](grpc::ClientContext& ctx) {
          v1::GetTicketRequest r;
          *r.mutable_ticket() = ref;
          v1::GetTicketResponse res;
          return stub->GetTicket(&ctx, r, &res);
        },
        &out.get_ticket);
    timed(
        [&](grpc::ClientContext& ctx) {
          v1::GetJourneyRequest r;
          *r.mutable_ticket() = ref;
          v1::GetJourneyResponse res;
          return stub->GetJourney(&ctx, r, &res);
        },
        &out.journey);
    timed(
        [&](grpc::ClientContext& ctx) {
          v1::SimilarTicketsRequest r;
          *r.mutable_ticket() = ref;
          v1::SimilarTicketsResponse res;
          return stub->SimilarTickets(&ctx, r, &res);
        },
        &out.similar);
    out.panel.push_back(Ms(t0, Clock::now()));
  }
  return out;
}

template <typename Agent>
Latencies Run(int agents, double seconds, Agent agent) {
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(seconds));
  std::vector<Latencies> each(static_cast<size_t>(agents));
  std::vector<std::thread> threads;
  for (int a = 0; a < agents; ++a)
    threads.emplace_back([&, a] { each[static_cast<size_t>(a)] = agent(a, until); });
  for (auto& t : threads) t.join();
  Latencies all;
  for (const auto& l : each) all.Merge(l);
  return all;
}

std::vector<int> IntList(const char* arg) {
  std::vector<int> out;
  for (absl::string_view v : absl::StrSplit(arg, ',', absl::SkipEmpty())) {
    int n = 0;
    if (absl::SimpleAtoi(v, &n)) out.push_back(n);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: debrief_panel_bench TAXONOMY.yaml [TICKETS] [AGENTS] [SECONDS] "
                 "[PAUSES_MS] [READERS]\n";
    return 2;
  }
  int64_t tickets = 1000000;
  int agents = 50;
  double seconds = 10;
  std::vector<int> pauses = {0, 1000};
  std::vector<int> readers = {1, 4};
  if (argc > 2) (void)absl::SimpleAtoi(argv[2], &tickets);
  if (argc > 3) (void)absl::SimpleAtoi(argv[3], &agents);
  if (argc > 4) (void)absl::SimpleAtod(argv[4], &seconds);
  if (argc > 5) pauses = IntList(argv[5]);
  if (argc > 6) readers = IntList(argv[6]);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  debrief::testing::TempDir dir;
  const auto t0 = Clock::now();
  Populate(dir.path(), argv[1], tickets);
  const double populate_s = Ms(t0, Clock::now()) / 1000;

  nlohmann::json runs = nlohmann::json::array();
  for (int read_connections : readers) {
    debrief::testing::Debriefd d(dir.path(), debrief::testing::RawConfig{bench::DebriefdConfig(
                                                 dir.path(), argv[1], read_connections)});
    std::string out;
    if (!d.Start(&out)) {
      std::cerr << "panel_bench: debriefd did not start:\n" << out;
      return 1;
    }
    grpc::ClientContext ctx;
    v1::CreateApiTokenRequest req;
    req.set_name(absl::StrCat("bench-", read_connections));
    req.set_role("agent");
    v1::CreateApiTokenResponse token;
    if (auto s = d.admin()->CreateApiToken(&ctx, req, &token); !s.ok()) {
      std::cerr << "panel_bench: " << s.error_message() << "\n";
      return 1;
    }
    auto session =
        d.PostTo("/api/v1/session", "{}", {{"Authorization", "Bearer " + token.secret()}});
    if (!session.ok() || session->status != 200) {
      std::cerr << "panel_bench: no session\n";
      return 1;
    }
    const std::string bearer = nlohmann::json::parse(session->body)["token"];
    const int port = d.http_port();
    auto channel = d.channel();
    for (int pause : pauses) {
      const Latencies http = Run(agents, seconds, [&](int a, Clock::time_point until) {
        return HttpAgent(port, bearer, a + 1, tickets, pause, until);
      });
      const Latencies grpc = Run(agents, seconds, [&](int a, Clock::time_point until) {
        return GrpcAgent(channel, a + 1, tickets, pause, until);
      });
      runs.push_back({{"read_connections", read_connections},
                      {"pause_ms", pause},
                      {"http_json", Summary(http, seconds)},
                      {"grpc", Summary(grpc, seconds)}});
    }
    d.Terminate();
  }
  std::cout << nlohmann::json{{"tickets", tickets},
                              {"agents", agents},
                              {"seconds_each", seconds},
                              {"populate_seconds", populate_s},
                              {"runs", runs}}
                   .dump()
            << "\n";
  curl_global_cleanup();
  return 0;
}
