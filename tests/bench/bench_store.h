// The store the benchmarks run on: N tickets as a year of a support team's history would leave
// them (200,000 customers writing to two helpdesks, every ticket classified and assigned, a task
// per cause with two thirds of its tickets linked), written through the Store interface.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/time_util.h"
#include "config/config.h"
#include "store/sqlite_store.h"

namespace debrief::bench {

using Clock = std::chrono::steady_clock;

inline constexpr int kCustomers = 200000;
inline constexpr int kAgents = 40;  // support agents the tickets are assigned to

inline void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::cerr << "bench: " << what << ": " << s << "\n";
    std::exit(1);
  }
}

inline std::string TicketId(int64_t i) { return absl::StrCat(i + 1); }
inline std::string HelpdeskOf(int64_t i) { return i % 4 == 3 ? "shop" : "support"; }

// N tickets as the pipeline would have left them: classified, a task per cause, the cause's
// tickets linked to it; written straight through the Store interface in large transactions.
// With `repeats`, every third ticket is about its customer's usual cause (so customers write
// again about the same cause, as they do); without, a customer's tickets are about different
// causes (the panel benchmark's store, kept as its published figures were measured).
inline void Populate(const std::string& dir, const std::string& taxonomy_path, int64_t tickets,
                     bool repeats = false) {
  auto cfg = config::ParseConfig(absl::StrCat("taxonomy: {file: ", taxonomy_path, "}\n"), "/");
  Check(cfg.status(), "taxonomy");
  std::vector<std::string> categories;
  for (const auto& c : cfg->taxonomy().categories()) categories.push_back(c.id());
  if (categories.empty()) Check(absl::InvalidArgumentError("no categories"), "taxonomy");
  auto store = store::OpenSqliteStore({.path = dir + "/debrief.db"}, spi::SystemClock::Get());
  Check(store.status(), "store");
  std::vector<int64_t> tasks;
  Check((*store)->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    for (const std::string& c : categories) {
      v1::ImprovementTask t;
      t.set_category_id(c);
      t.set_tracker_id("tasks");
      t.set_title("Root cause: " + c);
      t.set_status(v1::TASK_OPEN);
      auto id = tx.InsertTask(t);
      if (!id.ok()) return id.status();
      tasks.push_back(*id);
    }
    return absl::OkStatus();
  }),
        "tasks");
  const absl::Time start = absl::Now() - absl::Hours(24 * 365);
  static const char* kStatus[] = {"new", "open", "pending", "solved", "closed"};
  constexpr int64_t kChunk = 20000;
  for (int64_t from = 0; from < tickets; from += kChunk) {
    Check((*store)->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
      for (int64_t i = from; i < std::min(tickets, from + kChunk); ++i) {
        const int64_t customer = (i * 104729) % kCustomers;
        const size_t cat = static_cast<size_t>((repeats && i % 3 == 0 ? customer : i * 7919) %
                                               static_cast<int64_t>(categories.size()));
        const absl::Time when = start + absl::Hours(24 * 365) * (static_cast<double>(i) / tickets);
        spi::TicketRecord r;
        r.ticket.set_helpdesk_id(HelpdeskOf(i));
        r.ticket.set_ticket_id(TicketId(i));
        r.ticket.set_subject(absl::StrCat("About ", categories[cat], " ", i));
        r.ticket.set_status(kStatus[i % 5]);
        r.ticket.mutable_requester()->set_id(absl::StrCat("c", customer));
        r.ticket.mutable_requester()->set_email(absl::StrCat("c", customer, "@example.com"));
        r.ticket.mutable_assignee()->set_name(absl::StrCat("Agent ", i % kAgents));
        base::SetTimestamp(r.ticket.mutable_created_at(), when);
        v1::Classification& c = r.classification.emplace();
        c.set_category_id(categories[cat]);
        c.set_confidence(0.9);
        c.set_model("linear-v1");
        r.first_seen = when;
        if (auto s = tx.PutTicket(r); !s.ok()) return s;
        if (i % 3 == 0) continue;  // a third of the tickets linked to no task
        v1::TaskLink l;
        l.set_helpdesk_id(r.ticket.helpdesk_id());
        l.set_ticket_id(r.ticket.ticket_id());
        l.set_task_id(tasks[cat]);
        l.set_origin(v1::LINK_POLICY);
        base::SetTimestamp(l.mutable_linked_at(), when);
        if (auto s = tx.PutLink(l); !s.ok()) return s;
      }
      return absl::OkStatus();
    }),
          "tickets");
  }
  (*store)->Close();
}

// debriefd's configuration on the store Populate wrote in `dir`: the two helpdesks, the builtin
// tracker, the taxonomy, no reconciliation.
inline std::string DebriefdConfig(const std::string& dir, const std::string& taxonomy_path,
                                  int read_connections) {
  return absl::StrCat("data_dir: ", dir, R"(
http: {listen: "127.0.0.1:0"}
grpc: {listen: "127.0.0.1:0"}
store: {sqlite: {path: debrief.db, read_connections: )",
                      read_connections, R"(}}
helpdesks:
  - {id: support, type: generic, settings: {secret: {env: DEBRIEF_IT_SECRET}}}
  - {id: shop, type: generic, settings: {secret: {env: DEBRIEF_IT_SECRET}}}
trackers:
  - {id: tasks, type: builtin}
taxonomy: {file: )",
                      taxonomy_path, R"(}
reconcile: {interval: 0s}
)");
}

inline double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

}  // namespace debrief::bench
