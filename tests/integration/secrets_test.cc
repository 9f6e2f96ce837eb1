// No secret anywhere it should not be: debriefd runs a whole scenario with known secrets (the
// webhook secret, the JSON API's session key, an API token, the local administrator's token)
// and every place a secret could leak to is searched for each of them: every log line, every
// file in the data directory (the SQLite files, the builtin tracker's tasks), every HTTP and
// gRPC answer, /metrics and debriefctl's output. Only the files made to hold a secret, and the
// one answer that hands out a new API token, may contain it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "integration/debriefd_process.h"

namespace debrief::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string Json(const google::protobuf::Message& m) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out);
  return out;
}

TEST(Secrets, NoSecretIsInALogAFileAnAnswerOrTheTracker) {
  TempDir dir;
  // Debug logging: every line debriefd can write is searched.
  Debriefd d(dir.path(), /*open_after=*/3, "log: {level: debug}\n");
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;

  // Everything debriefd answered, by where it came from.
  std::map<std::string, std::string> answers;
  auto keep = [&](const std::string& where, const std::string& what) { answers[where] += what; };

  // Webhooks: four signed complaints (a task opens at three), one with a wrong signature, one
  // whose signature header carries the secret itself, as a confused sender might.
  for (int i = 1; i <= 4; ++i) {
    auto r = d.Post(TicketJson(absl::StrCat(i), "Charged twice",
                               "I was charged twice for my subscription", absl::StrCat("c", i)),
                    absl::StrCat("d-", i));
    ASSERT_TRUE(r.ok()) << r.status();
    keep("webhook", r->body);
  }
  auto bad = d.Post(TicketJson("5", "x", "y", "c5"), "d-5", "sha256=00");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 401);
  keep("webhook refused", bad->body);
  auto leaked = d.Post(TicketJson("6", "x", "y", "c6"), "d-6", kWebhookSecret);
  ASSERT_TRUE(leaked.ok());
  keep("webhook refused", leaked->body);

  // An API token, handed out once (that answer is the one place it may appear), then used on
  // the JSON API, and a wrong one.
  std::string api_token;
  {
    grpc::ClientContext ctx;
    v1::CreateApiTokenRequest req;
    req.set_name("lead-dashboard");
    req.set_role("lead");
    v1::CreateApiTokenResponse res;
    ASSERT_TRUE(d.admin()->CreateApiToken(&ctx, req, &res).ok());
    api_token = res.secret();
    ASSERT_FALSE(api_token.empty());
  }
  auto api = [&](const std::string& method, const std::string& bearer) {
    auto r =
        d.PostTo("/api/v1/" + method, "{}",
                 {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + bearer}});
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok())
      keep("api " + method, r->body + absl::StrJoin(r->headers, "\n", absl::PairFormatter(": ")));
  };
  ASSERT_TRUE(WaitFor([&] {
    grpc::ClientContext ctx;
    v1::ListTasksResponse res;
    return d.improvements()->ListTasks(&ctx, v1::ListTasksRequest(), &res).ok() &&
           res.tasks_size() == 1 && !res.tasks(0).external_id().empty();
  }));
  for (const char* m : {"Improvements/ListTasks", "Tagging/ListCategories",
                        "Insights/TasksByImpact", "Insights/CustomersVoice", "Admin/ListApiTokens"})
    api(m, api_token);
  api("Improvements/ListTasks", api_token + "x");
  api("Improvements/ListTasks", d.token());  // the local token is not for the JSON API

  // gRPC answers an administrator reads.
  {
    grpc::ClientContext c1, c2, c3, c4, c5, c6;
    v1::GetConfigResponse config;
    ASSERT_TRUE(d.admin()->GetConfig(&c1, v1::GetConfigRequest(), &config).ok());
    keep("GetConfig", Json(config));
    v1::ListAdaptersResponse adapters;
    ASSERT_TRUE(d.admin()->ListAdapters(&c2, v1::ListAdaptersRequest(), &adapters).ok());
    keep("ListAdapters", Json(adapters));
    v1::ListApiTokensResponse tokens;
    ASSERT_TRUE(d.admin()->ListApiTokens(&c3, v1::ListApiTokensRequest(), &tokens).ok());
    keep("ListApiTokens", Json(tokens));
    v1::ListAuditResponse audit;
    ASSERT_TRUE(d.admin()->ListAudit(&c4, v1::ListAuditRequest(), &audit).ok());
    keep("ListAudit", Json(audit));
    v1::ListTasksResponse tasks;
    ASSERT_TRUE(d.improvements()->ListTasks(&c5, v1::ListTasksRequest(), &tasks).ok());
    keep("ListTasks", Json(tasks));
    v1::ShowTrackerTaskRequest show;
    show.set_external_id(tasks.tasks(0).external_id());
    v1::ShowTrackerTaskResponse shown;
    ASSERT_TRUE(d.admin()->ShowTrackerTask(&c6, show, &shown).ok());
    keep("ShowTrackerTask", Json(shown));
    EXPECT_FALSE(shown.task().description().empty());
  }
  for (const char* path : {"/metrics", "/healthz", "/readyz"}) {
    auto r = d.Get(path);
    ASSERT_TRUE(r.ok());
    keep(path, r->body);
  }
  for (const std::string& cmd :
       {absl::StrCat(" config check ", dir.file("debrief.yaml")), std::string(" adapters list"),
        std::string(" tokens list"), std::string(" audit"), std::string(" tasks list")}) {
    std::string printed;
    // The environment holds the webhook secret, as debriefd's does.
    EXPECT_EQ(
        RunCommand(absl::StrCat("DEBRIEF_IT_SECRET=", kWebhookSecret, " ", d.ctl(), cmd), &printed),
        0)
        << cmd << ": " << printed;
    keep(absl::StrCat("debriefctl", cmd), printed);
  }
  // A reload and a clean stop write their own log lines.
  d.Signal(SIGHUP);
  absl::SleepFor(absl::Milliseconds(500));
  const std::string local_token = d.token();
  EXPECT_EQ(d.Terminate(), 0);

  const std::map<std::string, std::string> secrets = {
      {"webhook secret", kWebhookSecret},
      {"session key", ReadAll(dir.file("session-key")).substr(0, 64)},
      {"API token", api_token},
      {"local token", local_token},
  };
  for (const auto& [name, value] : secrets) ASSERT_GE(value.size(), 16u) << name;

  // Where each secret belongs, and nowhere else.
  const std::set<std::string> holders = {"session-key", "debriefctl.token"};
  std::map<std::string, std::string> places = answers;
  places["debriefd's log"] = ReadAll(dir.file("debriefd.log"));
  ASSERT_GT(places["debriefd's log"].size(), 1000u);
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (!e.is_regular_file()) continue;
    const std::string name = e.path().filename().string();
    if (holders.count(name) || name == "debrief.yaml") continue;
    places["file " + name] = ReadAll(e.path().string());
    ++files;
  }
  ASSERT_GE(files, 3) << "the databases and the builtin tracker's file are searched";
  // The search finds a secret where it is: the files made to hold them.
  EXPECT_NE(ReadAll(dir.file("debriefctl.token")).find(secrets.at("local token")),
            std::string::npos);
  EXPECT_NE(ReadAll(dir.file("session-key")).find(secrets.at("session key")), std::string::npos);
  int hits = 0;
  size_t searched = 0;
  for (const auto& [where, text] : places) {
    searched += text.size();
    for (const auto& [name, value] : secrets) {
      if (text.find(value) != std::string::npos) {
        ++hits;
        ADD_FAILURE() << "the " << name << " is in " << where;
      }
    }
  }
  std::printf("[secrets] %zu places, %zu bytes searched for 4 secrets: %d hits\n", places.size(),
              searched, hits);
}

}  // namespace
}  // namespace debrief::testing
