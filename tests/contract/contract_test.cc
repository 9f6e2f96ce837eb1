// Contract tests: each tracker adapter's real HTTP client (libcurl) talks to a validating mock
// of the vendor's own API description (Prism, started by tests/contract/mocks.sh), which
// answers any request that breaks the description with 4xx and an sl-violations header. A
// test fails on any violation; a canary request per description must be refused, so a mock
// that stopped validating is noticed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "config/config.h"
#include "mocks/fake_clock.h"
#include "mocks/spi_mocks.h"
#include "outbound/curl_http_client.h"
#include "register.h"
#include "tracker/conformance/fake_trackers.h"

namespace debrief {
namespace {

using json = nlohmann::json;
using testing::FakeClock;
using testing::TempDir;

constexpr char kToken[] = "contract-token";

// The mocks' base URLs, from the file mocks.sh wrote (DEBRIEF_CONTRACT_ENV).
std::map<std::string, std::string> Mocks() {
  std::map<std::string, std::string> out;
  const char* path = std::getenv("DEBRIEF_CONTRACT_ENV");
  if (path == nullptr) return out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    out[kv.first] = kv.second;
  }
  return out;
}

// The product's HTTP client, with every answer's sl-violations header kept. A test may reshape
// the mock's answers (`answer`) to drive the adapter down a path the examples do not (an issue
// closed into a released version): the requests that path sends are still validated.
class Validated final : public spi::HttpClient {
 public:
  absl::StatusOr<spi::HttpResponse> Send(const spi::HttpRequest& r) override {
    auto res = curl_->Send(r);
    if (res.ok() && answer && res->Header("sl-violations").empty() && res->status < 300) {
      json body = json::parse(res->body, nullptr, false);
      if (!body.is_discarded()) {
        answer(r, body);
        res->body = body.dump();
      }
    }
    std::lock_guard<std::mutex> l(mu_);
    sent_.push_back(absl::StrCat(r.method, " ", r.url));
    bool authed = false;
    for (const auto& [k, v] : r.headers)
      authed |= absl::EqualsIgnoreCase(k, "authorization") ||
                absl::EqualsIgnoreCase(k, "x-redmine-api-key");
    if (!authed) violations_.push_back(absl::StrCat(r.method, " ", r.url, ": no credential"));
    if (res.ok() && !res->Header("sl-violations").empty())
      violations_.push_back(absl::StrCat(r.method, " ", r.url, " -> ", res->status, ": ",
                                         res->Header("sl-violations")));
    return res;
  }
  std::vector<std::string> violations() {
    std::lock_guard<std::mutex> l(mu_);
    return violations_;
  }
  std::vector<std::string> sent() {
    std::lock_guard<std::mutex> l(mu_);
    return sent_;
  }
  spi::HttpClient& raw() { return *curl_; }
  std::function<void(const spi::HttpRequest&, json&)> answer;

 private:
  std::unique_ptr<spi::HttpClient> curl_ = outbound::NewCurlHttpClient();
  std::mutex mu_;
  std::vector<std::string> violations_, sent_;
};

struct ContractCase {
  std::string type;
  std::string mock;      // key in mocks.env
  std::string settings;  // {url} is replaced by the mock's URL
  // A request the description forbids (the canary).
  std::string canary_method, canary_path, canary_body;
  std::vector<std::pair<std::string, std::string>> canary_headers;
};

void PrintTo(const ContractCase& c, std::ostream* os) { *os << c.type; }

std::vector<ContractCase> Cases() {
  return {
      {"github",
       "GITHUB_MOCK",
       "      api_url: '{url}'\n      repository: acme/shop\n      token: {env: CONTRACT_TOKEN}\n",
       "POST",
       "/repos/acme/shop/issues",
       R"({"labels":["x"]})",
       {{"Authorization", "Bearer x"}, {"Content-Type", "application/json"}}},
      {"jira",
       "JIRA_MOCK",
       "      url: '{url}'\n      email: bot@example.com\n      api_token: {env: CONTRACT_TOKEN}\n"
       "      project: SUP\n      fields: {priority: High, duedate: '2026-12-31', "
       "customfield_10010: '{\"value\": \"Billing\"}'}\n",
       "POST",
       "/rest/api/3/issue",
       R"({"fields":"not an object"})",
       {{"Authorization", "Basic Ym90QGV4YW1wbGUuY29tOng="}, {"Content-Type", "application/json"}}},
      {"redmine",
       "REDMINE_MOCK",
       "      url: '{url}'\n      api_key: {env: CONTRACT_TOKEN}\n      project: support\n"
       "      tracker_id: 2\n      fields: {priority_id: '4', cf_7: Billing}\n",
       "POST",
       "/issues.json",
       R"({"issue":{"subject":3}})",
       {{"X-Redmine-API-Key", "x"}, {"Content-Type", "application/json"}}},
  };
}

class TrackerContract : public ::testing::TestWithParam<ContractCase> {
 protected:
  void SetUp() override {
    auto mocks = Mocks();
    auto it = mocks.find(GetParam().mock);
    ASSERT_NE(it, mocks.end()) << "no " << GetParam().mock
                               << " in DEBRIEF_CONTRACT_ENV: run through ctest (-L contract), "
                                  "whose fixture starts tests/contract/mocks.sh";
    url_ = it->second;
    setenv("CONTRACT_TOKEN", kToken, 1);
    std::string settings = GetParam().settings;
    settings.replace(settings.find("{url}"), 5, url_);
    auto c = config::ParseConfig(absl::StrCat("trackers:\n  - id: t\n    type: ", GetParam().type,
                                              "\n    settings:\n", settings),
                                 dir_.path());
    ASSERT_TRUE(c.ok()) << c.status();
    adapters::RegisterBuiltinAdapters(registry_);
    spi::AdapterContext ctx{http_, clock_, dir_.path()};
    auto a = registry_.tracker(GetParam().type)->Create(c->trackers(0), ctx);
    ASSERT_TRUE(a.ok()) << a.status();
    adapter_ = std::move(*a);
  }

  void ExpectNoViolations() {
    for (const std::string& v : http_.violations()) ADD_FAILURE() << v;
    EXPECT_FALSE(http_.sent().empty());
  }

  spi::TaskDraft Draft() {
    spi::TaskDraft d;
    d.idempotency_key = "task:7:billing-charge";
    d.title = "Root cause: double charges";
    d.description = "Root cause: double charges\n\nCustomers are charged twice at checkout.\n";
    d.impact =
        "### Impact (kept current by Debrief; updated 2026-11-23 10:00 UTC)\n\n- Tickets: 2 from 2 "
        "customers\n\nLinked tickets:\n- desk/1: Charged twice https://desk.test/tickets/1\n";
    d.tickets = {{"desk", "1", "Charged twice", "https://desk.test/tickets/1"},
                 {"desk", "2", "Refund missing", "https://desk.test/tickets/2"}};
    d.category.set_id("billing-charge");
    d.category.mutable_routing()->add_labels("support");
    d.category.mutable_routing()->set_component("Payments");
    return d;
  }

  TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1795438800)};
  Validated http_;
  spi::AdapterRegistry registry_;
  std::unique_ptr<spi::TrackerAdapter> adapter_;
  std::string url_;
};

TEST_P(TrackerContract, TheMockRefusesTheCanary) {
  spi::HttpRequest r;
  r.method = GetParam().canary_method;
  r.url = url_ + GetParam().canary_path;
  r.body = GetParam().canary_body;
  r.headers = GetParam().canary_headers;
  auto res = http_.raw().Send(r);
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_GE(res->status, 400);
  EXPECT_LT(res->status, 500);
  EXPECT_FALSE(res->Header("sl-violations").empty()) << "the mock stopped validating requests";
}

TEST_P(TrackerContract, CreateTaskSendsWhatTheDescriptionAllows) {
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_FALSE(t->external_id.empty());
  ExpectNoViolations();
}

TEST_P(TrackerContract, UpdateTaskSendsWhatTheDescriptionAllows) {
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  spi::TaskUpdate u;
  u.impact = "### Impact (kept current by Debrief)\n\n- Tickets: 3 from 3 customers\n";
  u.tickets = {{"desk", "3", "Charged twice again", "https://desk.test/tickets/3"}};
  u.add_labels = {"regression"};
  // A label the vendors' example issues carry ("bug"), so taking it off is sent and checked.
  u.remove_labels = {"bug"};
  u.comment = "Fix verified: tickets of this cause fell from 12 to 1 a week.";
  u.comment_key = "verify:7";
  auto s = adapter_->UpdateTask(t->external_id, u);
  EXPECT_TRUE(s.ok()) << s;
  ExpectNoViolations();
}

// After a taxonomy merge a task is marked a duplicate of another; Redmine links it with its own
// `duplicates` relation.
TEST_P(TrackerContract, MarkingADuplicateSendsWhatTheDescriptionAllows) {
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  spi::TaskUpdate u;
  u.impact = "### Impact (kept current by Debrief)\n\n- Tickets: 0\n";
  u.comment = "Duplicate of the task this cause was merged into.";
  u.comment_key = "debrief-duplicate-of-3";
  u.duplicate_of = "3";
  auto s = adapter_->UpdateTask(t->external_id, u);
  EXPECT_TRUE(s.ok()) << s;
  if (GetParam().type == "redmine") {
    std::string sent;
    for (const std::string& r : http_.sent()) absl::StrAppend(&sent, r, "\n");
    EXPECT_THAT(sent, ::testing::HasSubstr("/relations.json"));
  }
  ExpectNoViolations();
}

TEST_P(TrackerContract, GetTaskChangedSinceAndCheckSendWhatTheDescriptionAllows) {
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  auto got = adapter_->GetTask(t->external_id);
  EXPECT_TRUE(got.ok()) << got.status();
  auto changed = adapter_->ChangedSince(clock_.Now() - absl::Hours(1));
  EXPECT_TRUE(changed.ok() || absl::IsUnimplemented(changed.status())) << changed.status();
  v1::Category c = Draft().category;
  // What Check concludes depends on the mock's example data (GitHub's example token may not
  // triage; Jira's example names required fields); the requests it sends must be valid.
  auto s = adapter_->Check({c});
  EXPECT_FALSE(absl::IsUnavailable(s) || absl::IsInvalidArgument(s) || absl::IsInternal(s)) << s;
  ExpectNoViolations();
}

// Where customers get fixes in releases, a done task's release is looked up: GitHub's issue
// events, releases and compare; Redmine's target version; Jira's fix versions (read with the
// status). The mock's answers are reshaped into a task closed into a release that is out; each
// request the adapter then sends must be valid for the description.
TEST_P(TrackerContract, AReleaseIsLookedUpWithRequestsTheDescriptionAllows) {
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  const std::string sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
  http_.answer = [&](const spi::HttpRequest& r, json& body) {
    const std::string url = r.url.substr(0, r.url.find('?'));
    const std::string& type = GetParam().type;
    if (type == "github" && absl::StrContains(url, "/issues/") &&
        !absl::StrContains(url, "/events") && !absl::StrContains(url, "/comments") &&
        body.is_object()) {
      body["state"] = "closed";
      body["state_reason"] = "completed";
      body["closed_at"] = "2026-11-20T10:00:00Z";
    } else if (type == "github" && absl::EndsWith(url, "/events")) {
      body = json::array({{{"event", "closed"}, {"commit_id", sha}}});
    } else if (type == "github" && absl::EndsWith(url, "/releases")) {
      body = json::array({{{"tag_name", "v2.3"},
                           {"name", "v2.3"},
                           {"draft", false},
                           {"prerelease", false},
                           {"published_at", "2026-11-21T10:00:00Z"}}});
    } else if (type == "github" && absl::StrContains(url, "/compare/")) {
      body["status"] = "ahead";
    } else if (type == "redmine" && absl::StrContains(url, "/issues/") && body.contains("issue")) {
      body["issue"]["status"] = {{"id", 5}, {"name", "Closed"}, {"is_closed", true}};
      body["issue"]["fixed_version"] = {{"id", 3}, {"name", "2.3"}};
    } else if (type == "redmine" && absl::StrContains(url, "/versions/")) {
      body["version"]["status"] = "closed";
      body["version"]["name"] = "2.3";
      body["version"]["due_date"] = "2026-11-21";
    } else if (type == "jira" && absl::StrContains(url, "/issue/") && body.contains("fields")) {
      body["fields"]["status"] = {{"statusCategory", {{"key", "done"}}}};
      body["fields"]["resolution"] = {{"name", "Done"}};
      body["fields"]["fixVersions"] = json::array(
          {{{"id", "10000"}, {"name", "2.3"}, {"released", true}, {"releaseDate", "2026-11-21"}}});
    }
  };
  auto got = adapter_->GetTask(t->external_id);
  http_.answer = nullptr;
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->status, v1::TASK_SHIPPED);
  EXPECT_FALSE(got->release.empty());
  std::string sent;
  for (const std::string& s : http_.sent()) absl::StrAppend(&sent, s, "\n");
  if (GetParam().type == "github") {
    EXPECT_THAT(sent, ::testing::HasSubstr("/events"));
    EXPECT_THAT(sent, ::testing::HasSubstr("/releases"));
    EXPECT_THAT(sent, ::testing::HasSubstr(absl::StrCat("/compare/", sha, "...v2.3")));
  }
  if (GetParam().type == "redmine") EXPECT_THAT(sent, ::testing::HasSubstr("/versions/3.json"));
  if (GetParam().type == "jira") EXPECT_THAT(sent, ::testing::HasSubstr("fixVersions"));
  ExpectNoViolations();
}

// Linear is GraphQL: every operation the adapter sends, with its variables, is validated
// against Linear's schema (rebuilt from npm @linear/sdk's declarations) by graphql's own
// validator (tests/contract/linear/validate.mjs). The adapter runs against the in-memory Linear
// of the conformance suite, which keeps every request.
class LinearContract : public ::testing::Test {
 protected:
  // Runs the validator on these requests; returns its exit code and output.
  std::pair<int, std::string> Validate(const std::vector<json>& ops) {
    const std::string file = dir_.file("ops.json");
    std::ofstream(file) << json(ops).dump();
    FILE* p = popen(absl::StrCat("node ", DEBRIEF_SOURCE_DIR,
                                 "/tests/contract/linear/validate.mjs ", file, " 2>&1")
                        .c_str(),
                    "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    int rc = pclose(p);
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
  }

  TempDir dir_;
};

TEST_F(LinearContract, TheValidatorRefusesTheCanary) {
  auto [rc, out] =
      Validate({json{{"query",
                      "mutation C($input: IssueCreateInput!) { issueCreate(input: "
                      "$input) { success issue { nosuchfield } } }"},
                     {"variables", {{"input", {{"title", "x"}, {"priority", "high"}}}}}}});
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(absl::StrContains(out, "nosuchfield")) << out;
  EXPECT_TRUE(absl::StrContains(out, "teamId")) << "a missing required input field: " << out;
}

TEST_F(LinearContract, EveryOperationTheAdapterSendsIsValidForLinearsSchema) {
  FakeClock clock{absl::FromUnixSeconds(1795438800)};
  testing::FakeLinear linear("Bearer contract-token");
  setenv("CONTRACT_TOKEN", kToken, 1);
  auto c = config::ParseConfig(
      "trackers:\n  - id: t\n    type: linear\n    settings:\n"
      "      api_url: http://linear.test/graphql\n      api_key: {env: CONTRACT_TOKEN}\n"
      "      team_id: team-support\n      fields: {priority: '2', dueDate: '2026-12-31'}\n",
      dir_.path());
  ASSERT_TRUE(c.ok()) << c.status();
  spi::AdapterRegistry registry;
  adapters::RegisterBuiltinAdapters(registry);
  spi::AdapterContext ctx{linear, clock, dir_.path()};
  auto a = registry.tracker("linear")->Create(c->trackers(0), ctx);
  ASSERT_TRUE(a.ok()) << a.status();
  spi::TaskDraft d;
  d.idempotency_key = "task:7:billing-charge";
  d.title = "Root cause: double charges";
  d.description = "Root cause: double charges\n";
  d.impact = "### Impact (kept current by Debrief)\n\n- Tickets: 2 from 2 customers\n";
  d.tickets = {{"desk", "1", "Charged twice", "https://desk.test/tickets/1"}};
  d.category.set_id("billing-charge");
  d.category.mutable_routing()->add_labels("support");
  auto t = (*a)->CreateTask(d);
  ASSERT_TRUE(t.ok()) << t.status();
  spi::TaskUpdate u;
  u.impact = "### Impact (kept current by Debrief)\n\n- Tickets: 3 from 3 customers\n";
  u.tickets = {{"desk", "2", "Refund missing", "https://desk.test/tickets/2"}};
  u.add_labels = {"regression"};
  u.remove_labels = {"support"};  // removedLabelIds, checked against the schema too
  u.comment = "Fix verified.";
  u.comment_key = "verify:7";
  ASSERT_TRUE((*a)->UpdateTask(t->external_id, u).ok());
  ASSERT_TRUE((*a)->GetTask(t->external_id).ok());
  ASSERT_TRUE((*a)->Check({d.category}).ok());
  auto [rc, out] = Validate(linear.ops());
  EXPECT_EQ(rc, 0) << out;
  // Every kind of operation the adapter has was sent and checked.
  for (const char* op : {"DebriefFind", "DebriefCreate", "DebriefLabels", "DebriefLabelCreate",
                         "DebriefLink", "DebriefRead", "DebriefUpdate", "DebriefUnlink",
                         "DebriefComment", "DebriefStatus", "DebriefViewer", "DebriefTeam"})
    EXPECT_TRUE(absl::StrContains(out, op)) << op << " was not exercised: " << out;
  std::cout << out;
}

INSTANTIATE_TEST_SUITE_P(Vendors, TrackerContract, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.type; });

}  // namespace
}  // namespace debrief
