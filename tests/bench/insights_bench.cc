// The leads' insights on a large store: N tickets (default 1,000,000, a year of them; see
// bench_store.h), a third of the causes' tasks done, a real debriefd on it. Each Insights RPC is
// called CALLS times (default 30) over gRPC by one lead, then by LEADS leads at once (default 4),
// and the causes-per-week answer is computed the naive way beside it, in the same run: the same
// GROUP BY over the tickets table (with and without the repeat-contact check) on a read-only
// connection to the same file, whose totals must equal the service's.
// Prints one JSON line: per RPC p50, p99 and max in ms; the naive queries' p50 and max, and
// the ratio of the naive p50 to the service's.
// Usage: debrief_insights_bench TAXONOMY.yaml [TICKETS] [CALLS] [LEADS]
#include <sqlite3.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_store.h"
#include "integration/debriefd_process.h"

namespace {

using namespace debrief;  // NOLINT: a benchmark's main file
using bench::Check;
using bench::Clock;
using bench::Ms;
using bench::Percentile;

// Marks every third cause's task done a month ago (so FixOutcomes has fixes to read).
void FinishSomeTasks(const std::string& dir) {
  auto store = store::OpenSqliteStore({.path = dir + "/debrief.db"}, spi::SystemClock::Get());
  Check(store.status(), "store");
  Check((*store)->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    auto tasks = tx.ListTasks({});
    if (!tasks.ok()) return tasks.status();
    const absl::Time done = absl::Now() - absl::Hours(24 * 30);
    for (size_t i = 0; i < tasks->size(); i += 3) {
      v1::ImprovementTask t = (*tasks)[i];
      t.set_status(v1::TASK_DONE);
      base::SetTimestamp(t.mutable_done_at(), done);
      if (auto s = tx.UpdateTask(t); !s.ok()) return s;
      v1::TaskStatusChange c;
      c.set_task_id(t.id());
      c.set_status(v1::TASK_DONE);
      base::SetTimestamp(c.mutable_at(), done);
      c.set_source("poll");
      if (auto s = tx.RecordStatusChange(c); !s.ok()) return s;
    }
    return absl::OkStatus();
  }),
        "tasks");
  (*store)->Close();
}

nlohmann::json Summary(const std::vector<double>& ms) {
  return {{"p50_ms", Percentile(ms, 0.50)},
          {"p99_ms", Percentile(ms, 0.99)},
          {"max_ms", ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end())},
          {"calls", ms.size()}};
}

// One call of each RPC, timed; false if any failed.
bool CallEach(v1::Insights::Stub& stub, std::map<std::string, std::vector<double>>* ms,
              v1::CausesOverTimeResponse* causes) {
  bool ok = true;
  auto timed = [&](const char* name, auto fn) {
    grpc::ClientContext ctx;
    const auto t0 = Clock::now();
    const grpc::Status s = fn(ctx);
    (*ms)[name].push_back(Ms(t0, Clock::now()));
    if (!s.ok()) {
      std::cerr << "insights_bench: " << name << ": " << s.error_message() << "\n";
      ok = false;
    }
  };
  timed("CausesOverTime", [&](grpc::ClientContext& ctx) {
    return stub.CausesOverTime(&ctx, v1::CausesOverTimeRequest(), causes);
  });
  timed("TasksByImpact", [&](grpc::ClientContext& ctx) {
    v1::TasksByImpactResponse res;
    return stub.TasksByImpact(&ctx, v1::TasksByImpactRequest(), &res);
  });
  timed("FixOutcomes", [&](grpc::ClientContext& ctx) {
    v1::FixOutcomesRequest req;
    req.mutable_filter()->mutable_from()->set_seconds(absl::ToUnixSeconds(absl::Now()) -
                                                      365 * 86400);
    v1::FixOutcomesResponse res;
    return stub.FixOutcomes(&ctx, req, &res);
  });
  timed("CustomersVoice", [&](grpc::ClientContext& ctx) {
    v1::CustomersVoiceResponse res;
    return stub.CustomersVoice(&ctx, v1::CustomersVoiceRequest(), &res);
  });
  return ok;
}

// The same causes-per-week answer from the tickets table itself.
struct Naive {
  std::vector<double> ms;
  int64_t tickets = 0, repeats = 0;
};
Naive NaiveCauses(const std::string& path, int64_t from_week, int64_t to_week, bool repeats,
                  int runs) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    Check(absl::InternalError(sqlite3_errmsg(db)), "naive open");
  const std::string sql = absl::StrCat(
      "SELECT (first_seen / 1000000 + 259200) / 604800 AS w, category_id, COUNT(*), ",
      repeats ? "SUM(IFNULL(t.person, '') <> '' AND EXISTS(SELECT 1 FROM tickets p "
                "WHERE p.person = t.person AND p.person <> '' AND p.first_seen < t.first_seen "
                "AND p.category_id = t.category_id AND p.needs_review = 0))"
              : "0",
      " FROM tickets t WHERE category_id IS NOT NULL AND needs_review = 0 "
      "AND first_seen >= ?1 AND first_seen < ?2 GROUP BY 1, 2");
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
    Check(absl::InternalError(sqlite3_errmsg(db)), "naive prepare");
  Naive out;
  for (int r = 0; r < runs; ++r) {
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, absl::ToUnixMicros(spi::WeekStart(from_week)));
    sqlite3_bind_int64(st, 2, absl::ToUnixMicros(spi::WeekStart(to_week)));
    out.tickets = out.repeats = 0;
    const auto t0 = Clock::now();
    while (sqlite3_step(st) == SQLITE_ROW) {
      out.tickets += sqlite3_column_int64(st, 2);
      out.repeats += sqlite3_column_int64(st, 3);
    }
    out.ms.push_back(Ms(t0, Clock::now()));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: debrief_insights_bench TAXONOMY.yaml [TICKETS] [CALLS] [LEADS]\n";
    return 2;
  }
  int64_t tickets = 1000000;
  int calls = 30, leads = 4;
  if (argc > 2) (void)absl::SimpleAtoi(argv[2], &tickets);
  if (argc > 3) (void)absl::SimpleAtoi(argv[3], &calls);
  if (argc > 4) (void)absl::SimpleAtoi(argv[4], &leads);
  debrief::testing::TempDir dir;
  const auto t0 = Clock::now();
  bench::Populate(dir.path(), argv[1], tickets, /*repeats=*/true);
  FinishSomeTasks(dir.path());
  const double populate_s = Ms(t0, Clock::now()) / 1000;

  debrief::testing::Debriefd d(
      dir.path(), debrief::testing::RawConfig{bench::DebriefdConfig(dir.path(), argv[1], 4)});
  std::string out;
  if (!d.Start(&out)) {
    std::cerr << "insights_bench: debriefd did not start:\n" << out;
    return 1;
  }
  auto stub = d.insights();
  std::map<std::string, std::vector<double>> one;
  v1::CausesOverTimeResponse causes;
  for (int i = 0; i < calls; ++i)
    if (!CallEach(*stub, &one, &causes)) return 1;
  // Several leads at once, each on its own stub over the shared channel.
  std::vector<std::map<std::string, std::vector<double>>> each(static_cast<size_t>(leads));
  std::vector<std::thread> threads;
  std::atomic<bool> failed{false};
  for (int l = 0; l < leads; ++l)
    threads.emplace_back([&, l] {
      auto own = v1::Insights::NewStub(d.channel());
      v1::CausesOverTimeResponse ignored;
      for (int i = 0; i < calls; ++i)
        if (!CallEach(*own, &each[static_cast<size_t>(l)], &ignored)) failed = true;
    });
  for (auto& t : threads) t.join();
  if (failed) return 1;
  std::map<std::string, std::vector<double>> many;
  for (const auto& m : each)
    for (const auto& [name, v] : m) many[name].insert(many[name].end(), v.begin(), v.end());
  d.Terminate();

  int64_t service_tickets = 0, service_repeats = 0;
  for (const auto& c : causes.causes()) {
    service_tickets += c.tickets();
    service_repeats += c.repeat_contacts();
  }
  const int64_t to_week =
      spi::WeekOf(base::FromTimestamp(causes.weeks(causes.weeks_size() - 1))) + 1;
  const int64_t from_week = spi::WeekOf(base::FromTimestamp(causes.weeks(0)));
  const std::string db = dir.path() + "/debrief.db";
  const Naive plain = NaiveCauses(db, from_week, to_week, false, 5);
  const Naive with_repeats = NaiveCauses(db, from_week, to_week, true, 3);
  if (plain.tickets != service_tickets || with_repeats.repeats != service_repeats) {
    std::cerr << "insights_bench: the naive count (" << plain.tickets << " tickets, "
              << with_repeats.repeats << " repeats) differs from the service's (" << service_tickets
              << ", " << service_repeats << ")\n";
    return 1;
  }
  nlohmann::json one_json, many_json;
  for (const auto& [name, v] : one) one_json[name] = Summary(v);
  for (const auto& [name, v] : many) many_json[name] = Summary(v);
  const double service_p50 = Percentile(one["CausesOverTime"], 0.5);
  std::cout << nlohmann::json{{"tickets", tickets},
                              {"populate_s", populate_s},
                              {"weeks", causes.weeks_size()},
                              {"counted_tickets", service_tickets},
                              {"repeat_contacts", service_repeats},
                              {"one_lead", one_json},
                              {"leads", leads},
                              {"leads_at_once", many_json},
                              {"naive_causes", Summary(plain.ms)},
                              {"naive_causes_with_repeats", Summary(with_repeats.ms)},
                              {"naive_over_service_p50",
                               service_p50 > 0 ? Percentile(plain.ms, 0.5) / service_p50 : 0},
                              {"naive_with_repeats_over_service_p50",
                               service_p50 > 0 ? Percentile(with_repeats.ms, 0.5) / service_p50
                                               : 0}}
                   .dump()
            << "\n";
  return 0;
}
