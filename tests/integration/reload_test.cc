// Admin.Reload and SIGHUP on a running debriefd: a changed file is applied without a restart
// while webhooks keep arriving, a broken one keeps the running configuration, and a listener
// change is refused with what needs a restart.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "integration/debriefd_process.h"

namespace debrief::testing {
namespace {

constexpr char kSecondHelpdesk[] = R"(  - id: support2
    type: generic
    settings:
      secret: {env: DEBRIEF_IT_SECRET}
      timestamp_header: X-Debrief-Timestamp
      delivery_id_header: X-Debrief-Delivery
trackers:)";

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

double MetricValue(Debriefd& d, const std::string& name) {
  auto r = d.Get("/metrics");
  if (!r.ok()) return -1;
  for (absl::string_view line : absl::StrSplit(r->body, '\n')) {
    if (!absl::StartsWith(line, name + " ")) continue;
    double v = 0;
    if (absl::SimpleAtod(line.substr(name.size() + 1), &v)) return v;
  }
  return -1;
}

absl::StatusOr<v1::ReloadResponse> Reload(Debriefd& d, bool dry_run = false) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("debrief-actor", "reload-test");
  v1::ReloadRequest req;
  req.set_dry_run(dry_run);
  v1::ReloadResponse res;
  grpc::Status s = d.admin()->Reload(&ctx, req, &res);
  if (!s.ok())
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  return res;
}

uint32_t OpenAfter(Debriefd& d) {
  grpc::ClientContext ctx;
  v1::GetConfigResponse res;
  EXPECT_TRUE(d.admin()->GetConfig(&ctx, v1::GetConfigRequest(), &res).ok());
  return res.config().link_policy().open_after_tickets();
}

bool HasChange(const v1::ReloadResponse& r, const std::string& path, const std::string& after) {
  for (const auto& c : r.changes())
    if (c.path() == path && c.after() == after) return true;
  return false;
}

TEST(Reload, AppliesAChangedFileWhileWebhooksKeepArriving) {
  TempDir dir;
  const std::string file = dir.file("debrief.yaml");
  Debriefd d(dir.path(), /*open_after=*/3);
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;
  ASSERT_EQ(OpenAfter(d), 3u);

  // A load running through every reload below, and until they are all done.
  std::atomic<bool> reloads_done{false};
  std::atomic<int> sent{0}, acknowledged{0}, refused{0};
  std::thread load([&] {
    for (int i = 0; !reloads_done || i < 50; ++i, ++sent) {
      auto r = d.Post(TicketJson(absl::StrCat("L", i), "Charged twice",
                                 absl::StrCat("I was charged twice, order ", i), "c1"),
                      absl::StrCat("load-", i));
      if (r.ok() && r->status == 202)
        ++acknowledged;
      else
        ++refused;
    }
  });
  // The load ends whatever happens below (an assertion returns early).
  absl::Cleanup end_load = [&] {
    reloads_done = true;
    if (load.joinable()) load.join();
  };

  // A broken file: refused with the reason, the running configuration stays.
  Write(file, IntegrationConfig(dir.path(), 5) + "link_policy_typo: {}\n");
  auto broken = Reload(d);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(broken.status().message(), "link_policy_typo")) << broken.status();
  EXPECT_TRUE(absl::StrContains(broken.status().message(), "unchanged")) << broken.status();
  EXPECT_EQ(OpenAfter(d), 3u);

  // A listener change applies nothing and says what needs a restart.
  Write(file, absl::StrReplaceAll(IntegrationConfig(dir.path(), 5),
                                  {{"listen: \"127.0.0.1:0\", threads: 2",
                                    "listen: \"127.0.0.1:18089\", threads: 2"}}));
  auto listener = Reload(d);
  ASSERT_TRUE(listener.ok()) << listener.status();
  EXPECT_FALSE(listener->applied());
  ASSERT_EQ(listener->restart_needed_size(), 1);
  EXPECT_TRUE(absl::StartsWith(listener->restart_needed(0), "http.listen: 127.0.0.1:0 -> "))
      << listener->restart_needed(0);
  EXPECT_EQ(OpenAfter(d), 3u);

  // A threshold changed and a helpdesk added: a dry run lists them, a reload applies them.
  Write(file,
        absl::StrReplaceAll(IntegrationConfig(dir.path(), 5), {{"trackers:", kSecondHelpdesk}}));
  EXPECT_EQ(d.Post(TicketJson("N1", "Hello", "hello", "c9"), "n-1", "", "support2")->status, 404);
  auto dry = Reload(d, /*dry_run=*/true);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_FALSE(dry->applied());
  EXPECT_TRUE(HasChange(*dry, "link_policy.open_after_tickets", "5"));
  EXPECT_TRUE(HasChange(*dry, "helpdesks[support2]", "type generic"));
  EXPECT_EQ(dry->changes_size(), 2);
  EXPECT_EQ(OpenAfter(d), 3u);
  auto applied = Reload(d);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_TRUE(applied->applied());
  EXPECT_EQ(applied->changes_size(), 2);
  EXPECT_EQ(OpenAfter(d), 5u);
  EXPECT_EQ(d.Post(TicketJson("N1", "Hello", "hello", "c9"), "n-1", "", "support2")->status, 202);

  // SIGHUP does the same: the helpdesk goes again.
  Write(file, IntegrationConfig(dir.path(), 4));
  d.Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return OpenAfter(d) == 4u; }));
  EXPECT_EQ(d.Post(TicketJson("N2", "Hello", "hello", "c9"), "n-2", "", "support2")->status, 404);

  // debriefctl says the same to a person: the file now matches what runs; a listener change
  // is refused with a non-zero exit.
  std::string said;
  EXPECT_EQ(RunCommand(absl::StrCat(d.ctl(), " -o table reload --dry-run 2>&1"), &said), 0) << said;
  EXPECT_TRUE(absl::StrContains(said, "no setting changed")) << said;
  Write(file, absl::StrReplaceAll(
                  IntegrationConfig(dir.path(), 4),
                  {{"grpc: {listen: \"127.0.0.1:0\"", "grpc: {listen: \"127.0.0.1:18090\""}}));
  EXPECT_NE(RunCommand(absl::StrCat(d.ctl(), " -o table reload 2>&1"), &said), 0);
  EXPECT_TRUE(absl::StrContains(said, "grpc.listen: 127.0.0.1:0 -> 127.0.0.1:18090")) << said;
  EXPECT_EQ(OpenAfter(d), 4u);

  std::move(end_load).Invoke();
  // Every delivery of the load was acknowledged, and every one was processed once.
  EXPECT_EQ(acknowledged.load(), sent.load());
  EXPECT_EQ(refused.load(), 0);
  ASSERT_TRUE(
      WaitFor([&] { return MetricValue(d, "debrief_pipeline_processed_total") == sent.load() + 1; },
              absl::Seconds(60)))
      << MetricValue(d, "debrief_pipeline_processed_total") << " processed of " << sent.load()
      << " sent; " << MetricValue(d, "debrief_pipeline_ignored_total") << " ignored, "
      << MetricValue(d, "debrief_pipeline_failed_total") << " failed; outcomes: " << [&] {
           std::string o;
           RunCommand(absl::StrCat("sqlite3 ", dir.file("debrief.db"),
                                   " 'SELECT state, COUNT(*) FROM delivery_outcomes GROUP BY "
                                   "state' ; sqlite3 ",
                                   dir.file("debrief.inbox.db"),
                                   " 'SELECT COUNT(*), MAX(seq) FROM deliveries'"),
                      &o);
           return o;
         }();
  EXPECT_EQ(MetricValue(d, "debrief_pipeline_failed_total"), 0);
  // The executor that took over carries out what the new tickets asked of the tracker: every
  // task is created there and shows all its tickets.
  auto synced = [&] {
    grpc::ClientContext ctx;
    v1::ListTasksResponse tasks;
    if (!d.improvements()->ListTasks(&ctx, v1::ListTasksRequest(), &tasks).ok()) return false;
    for (const auto& t : tasks.tasks())
      if (t.external_id().empty() || t.synced_ticket_count() != t.ticket_count()) return false;
    return tasks.tasks_size() > 0;
  };
  EXPECT_TRUE(WaitFor(synced, absl::Seconds(60)));
  EXPECT_GT(MetricValue(d, "debrief_outbox_done_total"), 0);

  // Each reload asked for is in the audit log, the signal's too.
  grpc::ClientContext ctx;
  v1::ListAuditResponse audit;
  ASSERT_TRUE(d.admin()->ListAudit(&ctx, v1::ListAuditRequest(), &audit).ok());
  int reloads = 0;
  bool by_signal = false;
  for (const auto& e : audit.entries()) {
    if (e.action() != "Admin.Reload") continue;
    ++reloads;
    by_signal = by_signal || absl::StartsWith(e.actor(), "SIGHUP");
  }
  EXPECT_EQ(reloads, 7);
  EXPECT_TRUE(by_signal);
  EXPECT_EQ(d.Terminate(), 0);
}

}  // namespace
}  // namespace debrief::testing
