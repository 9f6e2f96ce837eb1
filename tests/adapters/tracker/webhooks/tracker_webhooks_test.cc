// Tracker webhooks as the vendors send them, through the real HTTP front: the published
// examples under tests/adapters/tracker/testdata/ (SOURCE.md names each one's origin), signed
// as each vendor signs, answered as each vendor counts a success, and the answer naming every
// issue and whether it is a task Debrief follows.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/rest.h"
#include "common/signature.h"
#include "config/config.h"
#include "ingress/http_server.h"
#include "metrics/metrics.h"
#include "mocks/spi_mocks.h"
#include "outbound/curl_http_client.h"
#include "register.h"
#include "store/sqlite_store.h"

namespace debrief::testing {
namespace {

constexpr char kSecret[] = "tracker-webhook-secret";

std::string Example(const std::string& vendor, const std::string& file) {
  std::ifstream in(
      absl::StrCat(DEBRIEF_SOURCE_DIR, "/tests/adapters/tracker/testdata/", vendor, "/", file));
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_FALSE(s.str().empty()) << vendor << "/" << file;
  return s.str();
}

class TrackerWebhooks : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TRACKER_TOKEN", "token", 1);
    setenv("TRACKER_SECRET", kSecret, 1);
    auto c = config::ParseConfig(R"(
trackers:
  - id: github
    type: github
    settings: {api_url: "http://github.test", repository: Codertocat/Hello-World,
               token: {env: TRACKER_TOKEN}, webhook_secret: {env: TRACKER_SECRET}}
  - id: gitlab
    type: gitlab
    settings: {url: "http://gitlab.test", project: acme/support, token: {env: TRACKER_TOKEN},
               webhook_secret: {env: TRACKER_SECRET}}
  - id: linear
    type: linear
    settings: {api_url: "http://linear.test/graphql", api_key: {env: TRACKER_TOKEN},
               webhook_secret: {env: TRACKER_SECRET}, team_id: team-support}
  - id: jira
    type: jira
    settings: {url: "http://jira.test", email: bot@example.com, api_token: {env: TRACKER_TOKEN},
               webhook_secret: {env: TRACKER_SECRET}, project: SUP}
)",
                                 dir_.path());
    ASSERT_TRUE(c.ok()) << c.status();
    adapters::RegisterBuiltinAdapters(registry_);
    spi::AdapterContext ctx{*http_, clock_, dir_.path()};
    std::map<std::string, spi::TrackerAdapter*> trackers;
    for (const auto& t : c->trackers()) {
      auto a = registry_.tracker(t.type())->Create(t, ctx);
      ASSERT_TRUE(a.ok()) << a.status();
      trackers[t.id()] = a->get();
      adapters_.push_back(std::move(*a));
    }
    auto s = store::OpenSqliteStore({.path = dir_.file("d.db")}, clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    // The issues of the examples that are Debrief's tasks; Linear's is not one.
    for (const auto& followed : std::vector<std::pair<std::string, std::string>>{
             {"github", "Codertocat/Hello-World#1"}, {"gitlab", "301"}, {"jira", "10000"}}) {
      const std::string tracker = followed.first;
      v1::ImprovementTask t;
      t.set_category_id(absl::StrCat("cause-", tracker));
      t.set_tracker_id(tracker);
      t.set_external_id(followed.second);
      t.set_title("a cause");
      t.set_status(v1::TASK_OPEN);
      ASSERT_TRUE(store_
                      ->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
                        auto id = tx.InsertTask(t);
                        if (!id.ok()) return id.status();
                        task_ids_[tracker] = *id;
                        return absl::OkStatus();
                      })
                      .ok());
    }
    ingress::HttpOptions o;
    o.listen = "127.0.0.1:0";
    auto server = ingress::HttpServer::Start(
        o, *store_, {},
        ingress::TrackerWebhooks{
            trackers,
            [this](const std::string& tracker, const std::vector<std::string>& ids) {
              for (const auto& id : ids) nudged_.push_back(tracker + ":" + id);
            }},
        clock_, metrics_, [] { return true; });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  void TearDown() override {
    if (server_) server_->Stop(absl::Seconds(1));
  }

  spi::HttpResponse Post(const std::string& tracker, const std::string& body,
                         std::map<std::string, std::string> headers) {
    spi::HttpRequest req;
    req.method = "POST";
    req.url = absl::StrCat("http://127.0.0.1:", server_->port(), "/webhooks/", tracker);
    req.body = body;
    if (!headers.count("Content-Type")) headers["Content-Type"] = "application/json";
    req.headers.assign(headers.begin(), headers.end());
    auto r = http_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : spi::HttpResponse{};
  }

  static std::string HexHmac(const std::string& body) {
    return adapters::HexEncode(adapters::Hmac(adapters::Digest::kSha256, kSecret, body));
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<spi::HttpClient> http_ = outbound::NewCurlHttpClient();
  spi::AdapterRegistry registry_;
  std::vector<std::unique_ptr<spi::TrackerAdapter>> adapters_;
  std::unique_ptr<spi::Store> store_;
  metrics::Metrics metrics_;
  std::unique_ptr<ingress::HttpServer> server_;
  std::map<std::string, int64_t> task_ids_;
  std::vector<std::string> nudged_;
};

// GitHub counts any 2xx as delivered; Debrief answers 200 and names the issue and its task.
TEST_F(TrackerWebhooks, GitHubsPublishedIssuesEventNamesItsTask) {
  const std::string body = Example("github", "issues-closed.json");
  auto r = Post("github", body,
                {{"X-GitHub-Event", "issues"}, {"X-Hub-Signature-256", "sha256=" + HexHmac(body)}});
  EXPECT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["status"], "accepted");
  ASSERT_EQ(j["tasks"].size(), 1u) << r.body;
  EXPECT_EQ(j["tasks"][0]["external_id"], "Codertocat/Hello-World#1");
  EXPECT_EQ(j["tasks"][0]["followed"], true);
  EXPECT_EQ(j["tasks"][0]["task_id"], task_ids_["github"]);
  EXPECT_EQ(nudged_, std::vector<std::string>{"github:Codertocat/Hello-World#1"});

  const std::string ping = Example("github", "ping.json");
  auto p = Post("github", ping,
                {{"X-GitHub-Event", "ping"}, {"X-Hub-Signature-256", "sha256=" + HexHmac(ping)}});
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(nlohmann::json::parse(p.body)["status"], "ignored") << p.body;
}

// GitHub's webhook form offers application/x-www-form-urlencoded: the JSON is the `payload`
// field and the signature covers the body as sent.
TEST_F(TrackerWebhooks, GitHubsFormEncodingIsReadFromItsPayloadField) {
  const std::string json = Example("github", "issues-opened.json");
  const std::string body = "payload=" + adapters::UrlEncode(json);
  auto r = Post("github", body,
                {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"X-GitHub-Event", "issues"},
                 {"X-Hub-Signature-256", "sha256=" + HexHmac(body)}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["tasks"][0]["followed"], true) << r.body;
  // A form without its payload field says what to choose.
  auto bad = Post("github", "other=1",
                  {{"Content-Type", "application/x-www-form-urlencoded"},
                   {"X-GitHub-Event", "issues"},
                   {"X-Hub-Signature-256", "sha256=" + HexHmac("other=1")}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("application/json"), std::string::npos) << bad.body;
}

// GitLab sends a confidential issue's events as "Confidential Issue Hook" with the same body
// (event_type confidential_issue): they are read like Issue Hook.
TEST_F(TrackerWebhooks, GitLabsIssueHookAndConfidentialIssueHookAreBothRead) {
  const std::string body = Example("gitlab", "issue-hook.json");
  for (const char* event : {"Issue Hook", "Confidential Issue Hook"}) {
    std::string sent = body;
    if (std::string(event) == "Confidential Issue Hook") {
      auto j = nlohmann::json::parse(body);
      j["event_type"] = "confidential_issue";
      j["object_attributes"]["confidential"] = true;
      sent = j.dump();
    }
    auto r = Post("gitlab", sent, {{"X-Gitlab-Event", event}, {"X-Gitlab-Token", kSecret}});
    EXPECT_EQ(r.status, 200) << event << ": " << r.body;
    auto j = nlohmann::json::parse(r.body);
    EXPECT_EQ(j["status"], "accepted") << event << ": " << r.body;
    EXPECT_EQ(j["tasks"][0]["external_id"], "301");
    EXPECT_EQ(j["tasks"][0]["task_id"], task_ids_["gitlab"]);
  }
  auto push = Post("gitlab", "{}", {{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", kSecret}});
  EXPECT_EQ(push.status, 200);
  EXPECT_NE(push.body.find("Confidential issues events"), std::string::npos) << push.body;
}

// Linear counts anything but 200 as a failed delivery. An issue that is not one of Debrief's
// tasks is named as such, and not read back.
TEST_F(TrackerWebhooks, LinearGets200AndAnIssueDebriefDoesNotFollowIsSaidSo) {
  const std::string body = Example("linear", "issue-update.json");
  const int64_t ms = nlohmann::json::parse(body)["webhookTimestamp"];
  clock_.Advance(absl::FromUnixMillis(ms) - clock_.Now());  // as if it had just been sent
  auto r = Post("linear", body, {{"Linear-Signature", HexHmac(body)}});
  EXPECT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["tasks"][0]["external_id"], "8d0b6c2e-1f4a-4e3b-9a7c-5d2e1f0a9b84");
  EXPECT_EQ(j["tasks"][0]["followed"], false);
  EXPECT_FALSE(j["tasks"][0].contains("task_id"));
  EXPECT_TRUE(nudged_.empty());
}

// Jira counts 200 and 204 as delivered; a real Jira Cloud issue_updated delivery.
TEST_F(TrackerWebhooks, JirasIssueUpdatedNamesItsTask) {
  const std::string body = Example("jira", "issue-updated.json");
  auto r = Post("jira", body, {{"X-Hub-Signature", "sha256=" + HexHmac(body)}});
  EXPECT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["tasks"][0]["external_id"], "10000");
  EXPECT_EQ(j["tasks"][0]["task_id"], task_ids_["jira"]);
}

}  // namespace
}  // namespace debrief::testing
