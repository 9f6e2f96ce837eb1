#include "config/config_diff.h"

#include <gtest/gtest.h>

#include "config/config.h"

namespace debrief::config {
namespace {

v1::Config Parse(const std::string& yaml) {
  auto c = ParseConfig(yaml, "/srv/debrief");
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : v1::Config();
}

constexpr char kBase[] = R"(
helpdesks:
  - {id: zd, type: generic, settings: {secret: {env: ZD_SECRET}, url: "https://a.example"}}
  - {id: rt, type: generic, settings: {secret: {env: RT_SECRET}}}
trackers:
  - {id: tasks, type: builtin, settings: {base_url: "http://127.0.0.1/tasks/"}}
link_policy: {open_after_tickets: 3, window: 7d}
)";

TEST(ConfigDiff, TheSameFileIsNoChangeAndReorderedAdaptersAreNone) {
  EXPECT_TRUE(DiffConfigs(Parse(kBase), Parse(kBase)).empty());
  const std::string reordered = R"(
helpdesks:
  - {id: rt, type: generic, settings: {secret: {env: RT_SECRET}}}
  - {id: zd, type: generic, settings: {url: "https://a.example", secret: {env: ZD_SECRET}}}
trackers:
  - {id: tasks, type: builtin, settings: {base_url: "http://127.0.0.1/tasks/"}}
link_policy: {window: 7d, open_after_tickets: 3}
)";
  EXPECT_TRUE(DiffConfigs(Parse(kBase), Parse(reordered)).empty());
}

TEST(ConfigDiff, NamesEachSettingWithReadableValues) {
  const std::string next = R"(
helpdesks:
  - {id: zd, type: generic, settings: {secret: {env: ZD_SECRET2}, url: "https://b.example"}}
  - {id: fd, type: generic, settings: {secret: {env: FD_SECRET}}}
trackers:
  - {id: tasks, type: builtin, settings: {base_url: "http://127.0.0.1/tasks/"}}
link_policy: {open_after_tickets: 5, window: 36h}
)";
  std::vector<ConfigChange> changes = DiffConfigs(Parse(kBase), Parse(next));
  std::map<std::string, std::pair<std::string, std::string>> by_path;
  for (const auto& c : changes) by_path[c.path] = {c.before, c.after};
  EXPECT_EQ(by_path["helpdesks[zd].settings.secret.env"],
            std::make_pair(std::string("\"ZD_SECRET\""), std::string("\"ZD_SECRET2\"")));
  EXPECT_EQ(
      by_path["helpdesks[zd].settings.url"],
      std::make_pair(std::string("\"https://a.example\""), std::string("\"https://b.example\"")));
  EXPECT_EQ(by_path["helpdesks[rt]"], std::make_pair(std::string("type generic"), std::string()));
  EXPECT_EQ(by_path["helpdesks[fd]"], std::make_pair(std::string(), std::string("type generic")));
  EXPECT_EQ(by_path["link_policy.open_after_tickets"],
            std::make_pair(std::string("3"), std::string("5")));
  EXPECT_EQ(by_path["link_policy.window"], std::make_pair(std::string("168h"), std::string("36h")));
  EXPECT_EQ(changes.size(), 6u);
  EXPECT_TRUE(NeedRestart(changes).empty());
}

TEST(ConfigDiff, ASecretTypedInIsNeverShown) {
  const std::string a =
      R"(helpdesks: [{id: zd, type: generic, settings: {api_token: "s3cr3t-one"}}])";
  const std::string b =
      R"(helpdesks: [{id: zd, type: generic, settings: {api_token: "s3cr3t-two"}}])";
  std::vector<ConfigChange> changes = DiffConfigs(Parse(a), Parse(b));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].path, "helpdesks[zd].settings.api_token");
  EXPECT_EQ(changes[0].before, "(set)");
  EXPECT_EQ(changes[0].after, "(changed)");
}

TEST(ConfigDiff, ListenersTheStoreAndDataDirNeedARestart) {
  std::vector<ConfigChange> changes =
      DiffConfigs(Parse("http: {listen: 127.0.0.1:8080, public_url: https://a.example}\n"),
                  Parse("http: {listen: 0.0.0.0:8080, public_url: https://b.example, "
                        "allow_plaintext: true}\n"
                        "grpc: {listen: 127.0.0.1:9999}\nstore: {sqlite: {path: other.db}}\n"));
  std::vector<std::string> restart = NeedRestart(changes);
  ASSERT_EQ(restart.size(), 4u);
  EXPECT_EQ(restart[0], "http.listen: 127.0.0.1:8080 -> 0.0.0.0:8080");
  EXPECT_EQ(restart[1], "http.allow_plaintext: false -> true");
  EXPECT_EQ(restart[2], "grpc.listen: 127.0.0.1:9090 -> 127.0.0.1:9999");
  EXPECT_EQ(restart[3], "store.sqlite.path: /srv/debrief/debrief.db -> /srv/debrief/other.db");
  EXPECT_EQ(changes.size(), 5u);  // http.public_url applies without one
}

}  // namespace
}  // namespace debrief::config
