// Every helpdesk adapter and every tracker that receives webhooks tells an admin what to do on
// the vendor's side (Setup): the webhook URL to paste, never a secret's value. (Without
// http.public_url the URL is a path, and debriefd puts the step that sets it first.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "debrief/spi/adapter_factory.h"
#include "google/protobuf/util/json_util.h"
#include "register.h"

namespace debrief {
namespace {

constexpr char kSecretVar[] = "DEBRIEF_TEST_SECRET";
constexpr char kSecretValue[] = "s3cr3t-value";
constexpr char kPublicUrl[] = "https://debrief.example.com";

// Settings each type accepts, every secret in $DEBRIEF_TEST_SECRET.
std::string SettingsJson(const std::string& type) {
  const std::string s = R"({"env": "DEBRIEF_TEST_SECRET"})";
  if (type == "generic") return absl::StrCat(R"({"secret": )", s, "}");
  if (type == "zendesk")
    return absl::StrCat(R"({"subdomain": "acme", "email": "bot@acme.example", "api_token": )", s,
                        R"(, "signing_secret": )", s, "}");
  if (type == "freshdesk")
    return absl::StrCat(R"({"domain": "acme", "api_key": )", s, R"(, "webhook_secret": )", s, "}");
  if (type == "zammad")
    return absl::StrCat(R"({"url": "https://zammad.example.com", "token": )", s,
                        R"(, "hmac_secret": )", s, "}");
  if (type == "rt")
    return absl::StrCat(R"({"url": "https://rt.example.com", "token": )", s,
                        R"(, "webhook_secret": )", s, R"(, "queue": "Support Desk"})");
  if (type == "jira")
    return absl::StrCat(
        R"({"url": "https://acme.atlassian.net", "email": "bot@acme.example", "api_token": )", s,
        R"(, "webhook_secret": )", s, R"(, "project": "SUP"})");
  if (type == "gitlab")
    return absl::StrCat(R"({"project": "acme/shop", "token": )", s, R"(, "webhook_secret": )", s,
                        "}");
  if (type == "linear")
    return absl::StrCat(R"({"api_key": )", s, R"(, "webhook_secret": )", s,
                        R"(, "team_id": "6f3e1c52-0000-4000-8000-000000000000"})");
  if (type == "github")
    return absl::StrCat(R"({"repository": "acme/shop", "token": )", s, R"(, "webhook_secret": )", s,
                        "}");
  return "{}";
}

v1::AdapterConfig Config(const std::string& type, const std::string& settings_json) {
  v1::AdapterConfig config;
  config.set_id(absl::StrCat("test-", type));
  config.set_type(type);
  auto s = google::protobuf::util::JsonStringToMessage(settings_json, config.mutable_settings());
  EXPECT_TRUE(s.ok()) << type << ": " << s;
  return config;
}

std::string Text(const std::vector<spi::SetupStep>& steps) {
  std::string all;
  for (const auto& s : steps) absl::StrAppend(&all, s.title, "\n", s.detail, "\n", s.value, "\n");
  return all;
}

class SetupSteps : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(setenv(kSecretVar, kSecretValue, 1), 0);
    adapters::RegisterBuiltinAdapters(registry_);
    ASSERT_TRUE(registry_.status().ok()) << registry_.status();
  }
  void TearDown() override { unsetenv(kSecretVar); }

  // The steps of a helpdesk or tracker type.
  std::vector<spi::SetupStep> Steps(const std::string& type, const v1::AdapterConfig& config,
                                    const spi::SetupContext& where) const {
    if (const auto* h = registry_.helpdesk(type)) return h->Setup(config, where);
    if (const auto* t = registry_.tracker(type)) return t->Setup(config, where);
    ADD_FAILURE() << "no adapter type " << type;
    return {};
  }

  // Every helpdesk type, and the trackers whose status comes by webhook.
  std::vector<std::string> Types() const {
    std::vector<std::string> types = registry_.helpdesk_types();
    for (const char* t : {"jira", "gitlab", "linear", "github"}) types.push_back(t);
    return types;
  }

  spi::AdapterRegistry registry_;
};

TEST_F(SetupSteps, GiveTheWebhookUrlAndNeverASecret) {
  for (const std::string& type : Types()) {
    SCOPED_TRACE(type);
    v1::AdapterConfig config = Config(type, SettingsJson(type));
    spi::SetupContext where{absl::StrCat(kPublicUrl, "/webhooks/", config.id()), true};
    auto steps = Steps(type, config, where);
    ASSERT_FALSE(steps.empty());
    bool has_url = false;
    for (const auto& s : steps) {
      EXPECT_FALSE(s.title.empty());
      EXPECT_FALSE(s.detail.empty());
      has_url = has_url || s.value == where.webhook_url;
    }
    EXPECT_TRUE(has_url) << Text(steps);
    EXPECT_FALSE(absl::StrContains(Text(steps), kSecretValue)) << Text(steps);
    EXPECT_FALSE(absl::StrContains(Text(steps), "http.public_url")) << Text(steps);
  }
}

TEST_F(SetupSteps, WithoutAPublicUrlTheStepsGiveThePath) {
  for (const std::string& type : Types()) {
    SCOPED_TRACE(type);
    v1::AdapterConfig config = Config(type, SettingsJson(type));
    spi::SetupContext where{absl::StrCat("/webhooks/", config.id()), false};
    auto steps = Steps(type, config, where);
    ASSERT_FALSE(steps.empty());
    EXPECT_TRUE(absl::StrContains(Text(steps), where.webhook_url)) << Text(steps);
    EXPECT_FALSE(absl::StrContains(Text(steps), kSecretValue)) << Text(steps);
  }
}

// Settings that do not parse still give the steps, with the URL, only without what the settings
// would have filled in.
TEST_F(SetupSteps, SettingsThatDoNotParseStillGiveTheSteps) {
  for (const std::string& type : Types()) {
    SCOPED_TRACE(type);
    v1::AdapterConfig config = Config(type, R"({"no_such_setting": 1})");
    spi::SetupContext where{absl::StrCat(kPublicUrl, "/webhooks/", config.id()), true};
    auto steps = Steps(type, config, where);
    ASSERT_FALSE(steps.empty());
    bool has_url = false;
    for (const auto& s : steps) has_url = has_url || s.value == where.webhook_url;
    EXPECT_TRUE(has_url) << Text(steps);
  }
}

TEST_F(SetupSteps, RtInstallCommandCarriesTheUrlTheIdAndTheQueue) {
  v1::AdapterConfig config = Config("rt", SettingsJson("rt"));
  config.set_id("helpdesk-7");
  spi::SetupContext where{"https://debrief.example.com/hooks-in/rt", true};
  auto steps = Steps("rt", config, where);
  const spi::SetupStep* install = nullptr;
  for (const auto& s : steps)
    if (absl::StrContains(s.value, "/usr/share/debrief/apps/rt/install.sh")) install = &s;
  ASSERT_NE(install, nullptr) << Text(steps);
  EXPECT_TRUE(absl::StrContains(install->value, where.webhook_url)) << install->value;
  EXPECT_TRUE(absl::StrContains(install->value, "DEBRIEF_HELPDESK_ID=helpdesk-7"))
      << install->value;
  EXPECT_TRUE(absl::StrContains(install->value, "RT_QUEUE='Support Desk'")) << install->value;
  EXPECT_TRUE(absl::StrContains(install->value, "DEBRIEF_SECRET_FILE=")) << install->value;
  EXPECT_FALSE(absl::StrContains(Text(steps), kSecretValue)) << Text(steps);
}

TEST_F(SetupSteps, HelpdeskAppsNameTheirPackagesAndParameters) {
  for (const auto& [type, package, parameter] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"zendesk", "/usr/share/debrief/apps/debrief-zendesk-app.zip",
            "Debrief URL: https://debrief.example.com;"},
           {"freshdesk", "/usr/share/debrief/apps/debrief-freshdesk-app.zip",
            "Debrief host: debrief.example.com;"}}) {
    SCOPED_TRACE(type);
    v1::AdapterConfig config = Config(type, SettingsJson(type));
    spi::SetupContext where{absl::StrCat(kPublicUrl, "/webhooks/", config.id()), true};
    std::string all = Text(Steps(type, config, where));
    EXPECT_TRUE(absl::StrContains(all, package)) << all;
    EXPECT_TRUE(absl::StrContains(all, parameter)) << all;
    EXPECT_TRUE(absl::StrContains(all, config.id())) << all;
  }
}

}  // namespace
}  // namespace debrief
