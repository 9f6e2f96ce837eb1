// Tracker efficiency: tracker API writes per 1,000 tickets, through the real pipeline, link
// policy, close-the-loop and executor, with the builtin tracker behind a counting wrapper, on
// a fake clock moved by hand. Debrief makes one task per cause and rewrites it only when its impact
// grew (loop.impact_min_growth) or went stale (loop.impact_max_staleness), at most once per
// loop.impact_interval; the naive integration makes one tracker call per ticket.
// Then the busy-day mix again through each vendor adapter, talking HTTP to the in-memory peer
// of the tracker conformance suite: the vendor API requests (reads and writes) that costs.
// Last, a week through each vendor adapter with the task follower polling every
// loop.status_poll_interval (5 min) and chasing stalled tasks (loop.stall_window 2 days, so a
// week holds stalls): the biggest task is closed on day 2 into a release that comes out on day
// 5, so its done-but-not-shipped reads (the release look-ups) are counted too. Printed beside
// the same week without the follower.
// Usage: debrief_tracker_bench TAXONOMY.yaml ['{LOOP SETTINGS}']   (prints JSON lines, one per mix
// and tracker; the optional flow YAML replaces the `loop:` defaults, e.g. '{impact_interval: 4h}')
#include <atomic>
#include <filesystem>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "classify/factory.h"
#include "common/rest.h"
#include "config/config.h"
#include "loop/loop.h"
#include "mocks/fake_clock.h"
#include "outbound/curl_http_client.h"
#include "outbox/executor.h"
#include "pipeline/pipeline.h"
#include "policy/link_policy.h"
#include "register.h"
#include "store/sqlite_store.h"
#include "tracker/conformance/fake_trackers.h"
#include "tracker/jira/jira_tracker.h"

namespace {

namespace spi = debrief::spi;
namespace v1 = debrief::v1;

// Counts what reaches the tracker.
class CountingTracker final : public spi::TrackerAdapter {
 public:
  explicit CountingTracker(std::unique_ptr<spi::TrackerAdapter> inner) : inner_(std::move(inner)) {}
  const std::string& id() const override { return inner_->id(); }
  const std::string& type() const override { return inner_->type(); }
  absl::StatusOr<spi::TrackerTask> CreateTask(const spi::TaskDraft& d) override {
    ++creates;
    return inner_->CreateTask(d);
  }
  absl::Status UpdateTask(const std::string& id, const spi::TaskUpdate& u) override {
    ++updates;
    if (absl::StartsWith(u.comment_key, "debrief-stalled")) ++stall_comments;
    return inner_->UpdateTask(id, u);
  }
  absl::StatusOr<spi::TrackerTask> GetTask(const std::string& id) override {
    ++reads;
    return inner_->GetTask(id);
  }
  absl::StatusOr<std::vector<std::string>> ChangedSince(absl::Time since) override {
    return inner_->ChangedSince(since);
  }
  absl::Status Check(const std::vector<v1::Category>& r) override { return inner_->Check(r); }
  std::atomic<int> creates{0}, updates{0}, reads{0}, stall_comments{0};

 private:
  std::unique_ptr<spi::TrackerAdapter> inner_;
};

struct Mix {
  const char* name;
  absl::Duration span;  // the 1,000 tickets arrive over this long
};

// A vendor tracker: its settings and the in-memory peer it talks to.
struct Vendor {
  const char* type;
  const char* settings;  // flow YAML
  std::function<std::unique_ptr<debrief::testing::FakeTracker>(const spi::Clock&)> peer;
};

std::vector<Vendor> Vendors() {
  using namespace debrief::testing;
  return {
      {"redmine", "{url: http://redmine.test, api_key: {env: TRACKER_BENCH_SECRET}, project: s}",
       [](const spi::Clock& c) { return std::make_unique<FakeRedmine>("s", c); }},
      {"github",
       "{api_url: http://github.test, repository: acme/shop, token: {env: TRACKER_BENCH_SECRET}}",
       [](const spi::Clock&) { return std::make_unique<FakeGitHub>("s"); }},
      {"gitlab",
       "{url: http://gitlab.test, project: acme/support, token: {env: TRACKER_BENCH_SECRET}}",
       [](const spi::Clock&) { return std::make_unique<FakeGitLab>("s"); }},
      {"jira",
       "{url: http://jira.test, email: b@example.com, api_token: {env: TRACKER_BENCH_SECRET}, "
       "project: SUP}",
       [](const spi::Clock&) {
         return std::make_unique<FakeJira>(
             debrief::adapters::BasicAuth("b@example.com", "s"),
             [](const nlohmann::json& n) { return debrief::adapters::jira::AdfText(n); },
             [](const std::string& s) { return debrief::adapters::jira::MarkdownToAdf(s); });
       }},
      {"linear",
       "{api_url: http://linear.test/graphql, api_key: {env: TRACKER_BENCH_SECRET}, team_id: t}",
       [](const spi::Clock&) { return std::make_unique<FakeLinear>("Bearer s"); }},
  };
}

// follow: the task follower runs too (status polls, stall chases) and the biggest task is
// closed into a release that comes out later (vendor trackers only).
int Run(const std::string& taxonomy, const std::string& loop_yaml, const Mix& mix,
        const Vendor* vendor, bool follow = false) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / absl::StrCat("debrief-tracker-bench-", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  setenv("TRACKER_BENCH_SECRET", "s", 1);
  auto config = debrief::config::ParseConfig(
      absl::StrCat("helpdesks: [{id: support, type: generic, settings: {secret: {env: "
                   "TRACKER_BENCH_SECRET}}}]\n"
                   "trackers: [{id: tasks, type: ",
                   vendor ? vendor->type : "builtin",
                   ", settings: ", vendor ? vendor->settings : "{}", "}]\n",
                   loop_yaml.empty() ? "" : absl::StrCat("loop: ", loop_yaml, "\n"),
                   "taxonomy: {file: \"", taxonomy, "\"}\n"),
      dir.string());
  if (!config.ok()) {
    std::cerr << config.status() << "\n";
    return 1;
  }
  debrief::testing::FakeClock clock;
  auto store = debrief::store::OpenSqliteStore({.path = (dir / "d.db").string()}, clock);
  spi::AdapterRegistry registry;
  debrief::adapters::RegisterBuiltinAdapters(registry);
  auto http = debrief::outbound::NewCurlHttpClient();
  spi::AdapterContext ctx{*http, clock, dir.string()};
  auto adapter = registry.helpdesk("generic")->Create(config->helpdesks(0), ctx);
  std::unique_ptr<debrief::testing::FakeTracker> peer;
  if (vendor) peer = vendor->peer(clock);
  spi::AdapterContext tracker_ctx{peer ? static_cast<spi::HttpClient&>(*peer) : *http, clock,
                                  dir.string()};
  auto inner =
      registry.tracker(config->trackers(0).type())->Create(config->trackers(0), tracker_ctx);
  auto classifier = debrief::classify::MakeClassifier(*config, clock);
  if (!store.ok() || !adapter.ok() || !inner.ok() || !classifier.ok()) {
    std::cerr << "setup failed\n";
    return 1;
  }
  CountingTracker tracker(std::move(*inner));
  debrief::policy::LinkPolicy policy(*config, clock);
  std::map<std::string, spi::HelpdeskAdapter*> hd{{"support", adapter->get()}};
  debrief::pipeline::Pipeline pipeline(**store, hd, **classifier, policy, clock, 256,
                                       absl::Milliseconds(50));
  debrief::loop::Loop loop(*config, **store, hd, {{"tasks", &tracker}}, policy, clock);
  debrief::outbox::Executor executor(**store, hd, loop, clock, {});

  // The realistic mix: a few causes carry most tickets (as in real helpdesks), some praise, a
  // suggestion, and text that fits no category.
  const std::vector<std::pair<const char*, int>> texts = {
      {"I was charged twice for my subscription this month, please refund", 30},
      {"I cannot log in, the password reset email never arrives", 22},
      {"My order has not arrived and tracking has not updated in days", 15},
      {"The app crashes when I open it on my phone", 10},
      {"The dashboard is very slow to load in the afternoon", 8},
      {"Thank you so much, your support team is amazing", 6},
      {"It would be great if you added dark mode", 4},
      {"What are your office hours over the holidays?", 3},
      {"Hello, quick note about something else entirely", 2}};
  std::vector<int> weights;
  for (const auto& t : texts) weights.push_back(t.second);
  std::discrete_distribution<int> pick(weights.begin(), weights.end());
  std::mt19937 rng(7);
  const int n = 1000;
  const absl::Duration step = mix.span / n;
  // The follower, where it runs: what its polls cost the vendor's API, apart from the rest.
  const absl::Duration poll_every = absl::Minutes(5);
  absl::Time next_poll = clock.Now();
  int poll_requests = 0, polls = 0;
  std::string closed;  // the task closed into the release, as the peer keys it
  bool shipped = false;
  auto follow_step = [&]() -> absl::Status {
    if (!follow || clock.Now() < next_poll) return absl::OkStatus();
    next_poll = clock.Now() + poll_every;
    const size_t before = peer->log().size();
    auto changed = loop.PollStatuses();
    if (!changed.ok()) return changed.status();
    auto chased = loop.ChaseStalledTasks();
    if (!chased.ok()) return chased.status();
    poll_requests += static_cast<int>(peer->log().size() - before);
    ++polls;
    return absl::OkStatus();
  };
  // The biggest task: closed by its engineers on day 2, in a release out on day 5.
  auto close_biggest = [&]() -> absl::Status {
    return (*store)->Read([&](spi::StoreTransaction& tx) -> absl::Status {
      auto all = tx.ListTasks({});
      if (!all.ok()) return all.status();
      const v1::ImprovementTask* big = nullptr;
      for (const v1::ImprovementTask& t : *all)
        if (!t.external_id().empty() && (!big || t.ticket_count() > big->ticket_count())) big = &t;
      if (big == nullptr) return absl::OkStatus();
      const std::string& ext = big->external_id();
      closed = ext.substr(ext.find('#') == std::string::npos ? 0 : ext.find('#') + 1);
      peer->SetStatus(closed, v1::TASK_DONE);
      peer->PlanRelease(closed, "2.3");
      return absl::OkStatus();
    });
  };
  for (int i = 0; i < n; ++i) {
    nlohmann::json body = {{"event", "ticket.created"},
                           {"ticket",
                            {{"id", std::to_string(i)},
                             {"subject", "Ticket " + std::to_string(i)},
                             {"url", "https://helpdesk.example/tickets/" + std::to_string(i)},
                             {"description", texts[pick(rng)].first},
                             {"requester", {{"id", "c" + std::to_string(rng() % 700)}}}}}};
    spi::StoredDelivery d;
    d.adapter_id = "support";
    d.delivery_key = std::to_string(i);
    d.body = body.dump();
    d.received_at = clock.Now();
    std::promise<void> stored;
    (*store)->AppendDelivery(std::move(d), [&](auto) { stored.set_value(); });
    stored.get_future().wait();
    if (auto s = pipeline.Drain(); !s.ok()) return std::cerr << s << "\n", 1;
    clock.Advance(step);
    if (follow && i == n * 2 / 7)
      if (auto s = close_biggest(); !s.ok()) return std::cerr << s << "\n", 1;
    if (follow && i == n * 5 / 7 && !closed.empty()) peer->PublishRelease("2.3", clock.Now());
    if (auto s = follow_step(); !s.ok()) return std::cerr << s << "\n", 1;
    if (auto s = executor.RunDue(); !s.ok()) return std::cerr << s.status() << "\n", 1;
  }
  // The quiet hours after: every debounced and stale write that is still owed.
  for (int h = 0; h < 48 * 12; ++h) {
    clock.Advance(absl::Minutes(5));
    if (auto s = follow_step(); !s.ok()) return std::cerr << s << "\n", 1;
    while (true) {
      auto ran = executor.RunDue();
      if (!ran.ok()) return std::cerr << ran.status() << "\n", 1;
      if (*ran == 0) break;
    }
  }
  if (follow)
    (void)(*store)->Read([&](spi::StoreTransaction& tx) {
      for (const v1::ImprovementTask& t : *tx.ListTasks({}))
        shipped |= t.status() == v1::TASK_SHIPPED;
      return absl::OkStatus();
    });
  int tasks = 0;
  (void)(*store)->Read([&](spi::StoreTransaction& tx) {
    tasks = static_cast<int>(tx.ListTasks({})->size());
    return absl::OkStatus();
  });
  const int writes = tracker.creates + tracker.updates;
  if (peer) {
    int api_writes = peer->writes();
    int api_requests = static_cast<int>(peer->log().size());
    nlohmann::json line = {{"tracker", vendor->type},
                           {"mix", mix.name},
                           {"tasks", tasks},
                           {"adapter_writes_per_1000", writes * 1000 / n},
                           {"api_requests_per_1000", api_requests * 1000 / n},
                           {"api_writes_per_1000", api_writes * 1000 / n}};
    if (follow) {
      // The requests that look a release up (Jira's fix versions and Linear's states come with
      // the issue): GitHub's issue events, releases and compares, GitLab's closing merge
      // requests, tags and releases, Redmine's versions.
      int release_requests = 0;
      for (const spi::HttpRequest& r : peer->log())
        for (const char* part :
             {"/events", "/releases", "/compare/", "/closed_by", "/refs", "/versions/"})
          if (absl::StrContains(r.url, part)) {
            ++release_requests;
            break;
          }
      line["polls"] = polls;
      line["poll_requests_per_1000"] = poll_requests * 1000 / n;
      line["release_requests_per_1000"] = release_requests * 1000 / n;
      line["stall_comments"] = tracker.stall_comments.load();
      line["closed_task_shipped"] = shipped;
    }
    std::cout << line.dump() << std::endl;
    (*store)->Close();
    fs::remove_all(dir);
    return 0;
  }
  // The naive integration: a tracker call for every classified ticket (an issue or a comment).
  const int naive = static_cast<int>(pipeline.stats().processed.load());
  std::cout << nlohmann::json({{"mix", mix.name},
                               {"tickets", n},
                               {"tasks", tasks},
                               {"creates", tracker.creates.load()},
                               {"updates", tracker.updates.load()},
                               {"writes_per_1000", writes * 1000 / n},
                               {"naive_writes_per_1000", naive * 1000 / n}})
                   .dump()
            << std::endl;
  (*store)->Close();
  fs::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: debrief_tracker_bench TAXONOMY.yaml ['{LOOP SETTINGS}']\n";
    return 2;
  }
  // The config is read from a scratch directory: name the taxonomy from here.
  const std::string taxonomy = std::filesystem::absolute(argv[1]).string();
  const std::string loop = argc > 2 ? argv[2] : "";
  for (const Mix& m : {Mix{"burst (1,000 tickets in 15 minutes)", absl::Minutes(15)},
                       Mix{"a busy day (1,000 tickets in 24 hours)", absl::Hours(24)},
                       Mix{"a week (1,000 tickets in 7 days)", absl::Hours(24 * 7)}}) {
    if (int rc = Run(taxonomy, loop, m, nullptr); rc != 0) return rc;
  }
  const Mix day{"a busy day (1,000 tickets in 24 hours)", absl::Hours(24)};
  for (const Vendor& v : Vendors())
    if (int rc = Run(taxonomy, loop, day, &v); rc != 0) return rc;
  // The follower's share: a week without it and with it, side by side per tracker.
  const Mix week{"a week (1,000 tickets in 7 days)", absl::Hours(24 * 7)};
  const Mix followed{"a week with status polls every 5 min and stall chases", absl::Hours(24 * 7)};
  const std::string stall = loop.empty() ? "{stall_window: 2d}" : loop;
  for (const Vendor& v : Vendors()) {
    if (int rc = Run(taxonomy, stall, week, &v); rc != 0) return rc;
    if (int rc = Run(taxonomy, stall, followed, &v, /*follow=*/true); rc != 0) return rc;
  }
  return 0;
}
