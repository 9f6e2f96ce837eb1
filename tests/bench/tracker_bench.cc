// Tracker efficiency: tracker API writes per 1,000 tickets, through the real pipeline, link
// policy, close-the-loop and executor, with the builtin tracker behind a counting wrapper, on
// a fake clock moved by hand. Debrief makes one task per cause and rewrites it only when its impact
// grew (loop.impact_min_growth) or went stale (loop.impact_max_staleness), at most once per
// loop.impact_interval; the naive integration makes one tracker call per ticket.
// Then the busy-day mix again through each vendor adapter, talking HTTP to the in-memory peer
// of the tracker conformance suite: the vendor API requests (reads and writes) that costs.
// Usage: debrief_tracker_bench TAXONOMY.yaml ['{LOOP SETTINGS}']   (prints JSON lines, one per mix
// and tracker; the optional flow YAML replaces the `loop:` defaults, e.g. '{impact_interval: 4h}')
#include <atomic>
#include <filesystem>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

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
    return inner_->UpdateTask(id, u);
  }
  absl::StatusOr<spi::TrackerTask> GetTask(const std::string& id) override {
    ++reads;
    return inner_->GetTask(id);
  }
  absl::Status Check(const std::vector<v1::Category>& r) override { return inner_->Check(r); }
  std::atomic<int> creates{0}, updates{0}, reads{0};

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

int Run(const std::string& taxonomy, const std::string& loop_yaml, const Mix& mix,
        const Vendor* vendor) {
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
    if (auto s = executor.RunDue(); !s.ok()) return std::cerr << s.status() << "\n", 1;
  }
  // The quiet hours after: every debounced and stale write that is still owed.
  for (int h = 0; h < 48; ++h) {
    clock.Advance(absl::Hours(1));
    while (true) {
      auto ran = executor.RunDue();
      if (!ran.ok()) return std::cerr << ran.status() << "\n", 1;
      if (*ran == 0) break;
    }
  }
  int tasks = 0;
  (void)(*store)->Read([&](spi::StoreTransaction& tx) {
    tasks = static_cast<int>(tx.ListTasks({})->size());
    return absl::OkStatus();
  });
  const int writes = tracker.creates + tracker.updates;
  if (peer) {
    int api_writes = peer->writes();
    int api_requests = static_cast<int>(peer->log().size());
    std::cout << nlohmann::json({{"tracker", vendor->type},
                                 {"mix", mix.name},
                                 {"tasks", tasks},
                                 {"adapter_writes_per_1000", writes * 1000 / n},
                                 {"api_requests_per_1000", api_requests * 1000 / n},
                                 {"api_writes_per_1000", api_writes * 1000 / n}})
                     .dump()
              << std::endl;
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
  return 0;
}
