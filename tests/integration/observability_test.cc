// What an operator reads: each stage's histogram moves when the stage runs, the exposition
// passes promtool, and JSON log lines parse and carry the ids of the ticket behind them.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "integration/debriefd_process.h"

namespace debrief::testing {
namespace {

// A loopback port nothing listens on (taken, then let go).
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t n = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  close(fd);
  return ntohs(a.sin_port);
}

// The value of the series that starts with `series` (name and labels as exposed), or -1.
double Series(const std::string& metrics, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    if (!absl::StartsWith(line, series + " ")) continue;
    double v = 0;
    if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
  }
  return -1;
}

TEST(Observability, EachStageMovesItsHistogramAndJsonLogsFollowATicket) {
  TempDir dir;
  // The helpdesk writes each ticket's cause back to an address nothing answers: its calls fail
  // (and are retried), which is what the adapter's call histogram is for.
  const std::string yaml =
      absl::StrReplaceAll(IntegrationConfig(dir.path(), 3, "log: {format: json, level: debug}\n"),
                          {{"      delivery_id_header: X-Debrief-Delivery\n",
                            absl::StrCat("      delivery_id_header: X-Debrief-Delivery\n"
                                         "      write_back: {url: \"http://127.0.0.1:",
                                         ClosedPort(), "/notes/{ticket_id}\"}\n")}});
  Debriefd d(dir.path(), RawConfig{yaml});
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;
  for (int i = 1; i <= 3; ++i)
    ASSERT_EQ(d.Post(TicketJson(absl::StrCat("J", i), "Charged twice",
                                "I was charged twice this month", absl::StrCat("c", i)),
                     absl::StrCat("j-", i))
                  ->status,
              202);
  std::string metrics;
  ASSERT_TRUE(WaitFor([&] {
    metrics = d.Get("/metrics")->body;
    return Series(metrics,
                  R"(debrief_outbox_action_duration_seconds_count{action="create_task"})") >= 1 &&
           Series(
               metrics,
               R"(debrief_adapter_call_duration_seconds_count{action="write_back",adapter="support"})") >=
               1;
  })) << metrics;
  EXPECT_EQ(Series(metrics, R"(debrief_webhook_ack_duration_seconds_count{adapter="support"})"), 3)
      << metrics;
  EXPECT_GE(Series(metrics, "debrief_inbox_group_commit_duration_seconds_count"), 1);
  EXPECT_GE(Series(metrics, "debrief_inbox_group_commit_deliveries_sum"), 3);
  EXPECT_EQ(Series(metrics, "debrief_pipeline_delivery_lag_seconds_count"), 3);
  EXPECT_GE(Series(metrics, "debrief_classify_duration_seconds_count"), 3);
  EXPECT_GE(Series(metrics, R"(debrief_adapter_responses_total{adapter="support",class="error"})"),
            1);
  // A histogram's buckets are cumulative and end with +Inf = count.
  EXPECT_EQ(Series(metrics,
                   R"(debrief_webhook_ack_duration_seconds_bucket{adapter="support",le="+Inf"})"),
            3);
  // The gauges read from the store (at most every 5 s): the task the three tickets opened.
  EXPECT_TRUE(WaitFor([&] {
    metrics = d.Get("/metrics")->body;
    return Series(metrics, R"(debrief_tasks{status="open"})") == 1;
  })) << metrics;
  EXPECT_EQ(Series(metrics, "debrief_inbox_dead_letters"), 0);
  EXPECT_GE(Series(metrics, R"(debrief_outbox_oldest_pending_age_seconds{adapter="support"})"), 0);
  std::ofstream(dir.file("metrics.txt")) << metrics;
  std::string check;
  EXPECT_EQ(RunCommand("promtool check metrics < " + dir.file("metrics.txt"), &check), 0) << check;
  EXPECT_EQ(d.Terminate(), 0);

  // Every line on standard error is one JSON object with a time, a level, a component and a
  // message; the pipeline's names the ticket, its helpdesk and its delivery.
  std::ifstream log(dir.file("debriefd.log"));
  std::string line;
  int lines = 0;
  bool ticket_followed = false;
  while (std::getline(log, line)) {
    // The banner on standard output is for a person starting debriefd.
    if (line.empty() || line.rfind("debriefd ", 0) == 0 || line.rfind("  ", 0) == 0) continue;
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(j.is_object()) << line;
    for (const char* key : {"time", "level", "component", "msg"})
      EXPECT_TRUE(j.contains(key) && j[key].is_string()) << key << " in " << line;
    ++lines;
    if (j["component"] == "pipeline" && j["msg"] == "ticket processed" && j["ticket"] == "J2") {
      ticket_followed = true;
      EXPECT_EQ(j["helpdesk"], "support");
      EXPECT_FALSE(j.value("delivery", "").empty());
      EXPECT_EQ(j["category"], "billing-charge");
    }
    if (j["component"] == "executor" && j.value("action", "") == "create_task") {
      EXPECT_FALSE(j.value("key", "").empty());
    }
  }
  EXPECT_GT(lines, 3);
  EXPECT_TRUE(ticket_followed);
  // The webhook secret never reaches the log.
  std::ifstream whole(dir.file("debriefd.log"));
  std::stringstream all;
  all << whole.rdbuf();
  EXPECT_EQ(all.str().find(kWebhookSecret), std::string::npos);
}

}  // namespace
}  // namespace debrief::testing
