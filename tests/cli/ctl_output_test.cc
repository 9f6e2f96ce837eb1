// debriefctl's output for people, compared with golden files (tests/cli/golden/NAME.txt) at a
// fixed clock, in UTC, without colour unless a case asks for it; and the scripts' formats.
// DEBRIEF_UPDATE_GOLDEN=1 rewrites the files from the output (then read the diff).
#include "cli/ctl_output.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "debrief/v1/services.pb.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace debrief::cli {
namespace {

// 2026-12-06 12:00 UTC.
const absl::Time kNow = absl::FromUnixSeconds(1796558400);

template <typename M>
M Parse(const std::string& text) {
  M m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << text;
  return m;
}

// A time `ago` before kNow, as a text-format Timestamp field.
std::string At(const std::string& field, absl::Duration ago) {
  return absl::StrCat(field, " { seconds: ", absl::ToUnixSeconds(kNow - ago), " }");
}

class CtlOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    SetClockForTest(kNow, absl::UTCTimeZone());
    SetColour(false);
    SetOutput(Output::kTable);
  }

  // The output against tests/cli/golden/NAME.txt.
  void Golden(const std::string& name, const std::string& got) {
    const std::string path = absl::StrCat(DEBRIEF_GOLDEN_DIR, "/", name, ".txt");
    if (std::getenv("DEBRIEF_UPDATE_GOLDEN") != nullptr) {
      std::ofstream(path) << got;
      return;
    }
    std::ifstream in(path);
    ASSERT_TRUE(in) << "no " << path << " (DEBRIEF_UPDATE_GOLDEN=1 writes it)";
    std::stringstream want;
    want << in.rdbuf();
    EXPECT_EQ(got, want.str()) << "the output of " << name << " changed; if on purpose, "
                               << "DEBRIEF_UPDATE_GOLDEN=1 rewrites " << path;
  }
};

v1::ListTasksResponse SomeTasks() {
  return Parse<v1::ListTasksResponse>(absl::StrCat(
      "tasks { id: 7 category_id: 'billing-charge' status: TASK_OPEN ticket_count: 12 "
      "customer_count: 9 tracker_id: 'jira' external_key: 'SUP-41' url: "
      "'https://jira.example/browse/SUP-41' title: 'Customers charged twice after renewal' "
      "weekly_tickets: [0, 1, 0, 1, 2, 3, 2, 3] ",
      At("first_seen", absl::Hours(24 * 20)), " ", At("last_seen", absl::Minutes(5)), " ",
      At("updated_at", absl::Hours(24 * 2)), " }",
      "tasks { id: 8 category_id: 'login-access' status: TASK_IN_PROGRESS flagged: true "
      "ticket_count: 3 customer_count: 3 tracker_id: 'tasks' external_id: '2' title: "
      "'Password reset mails arrive late' weekly_tickets: [0, 0, 0, 0, 0, 0, 2, 1] ",
      At("first_seen", absl::Hours(30)), " ", At("last_seen", absl::Hours(3)), " }",
      "tasks { id: 9 category_id: 'praise-agent' status: TASK_SHIPPED ticket_count: 1 "
      "customer_count: 1 tracker_id: 'tasks' title: 'Thank the agents customers praise' "
      "weekly_tickets: [1, 0, 0, 0, 0, 0, 0, 0] ",
      At("first_seen", absl::Hours(24 * 90)), " ", At("last_seen", absl::Hours(24 * 60)), " }"));
}

TEST_F(CtlOutput, TasksList) {
  Golden("tasks_list", Readable(SomeTasks()));
  SetOutput(Output::kWide);
  Golden("tasks_list_wide", Readable(SomeTasks()));
  EXPECT_EQ(Readable(v1::ListTasksResponse()), "No tasks.\n");
}

TEST_F(CtlOutput, TaskShow) {
  Golden("tasks_show",
         Readable(Parse<v1::GetTaskResponse>(absl::StrCat(
             "task { id: 7 category_id: 'billing-charge' status: TASK_SHIPPED ticket_count: 12 "
             "customer_count: 9 tracker_id: 'jira' external_key: 'SUP-41' url: "
             "'https://jira.example/browse/SUP-41' title: 'Customers charged twice' ",
             At("first_seen", absl::Hours(24 * 20)), " ", At("last_seen", absl::Hours(26)), " ",
             At("done_at", absl::Hours(24 * 2)), " ", At("shipped_at", absl::Hours(24)),
             " release: 'v2.3' verification { verdict: VERIFIED } }",
             "links { helpdesk_id: 'support' ticket_id: '1001' ",
             At("linked_at", absl::Hours(24 * 20)), " }",
             "links { helpdesk_id: 'shop' ticket_id: 'A-17' ", At("linked_at", absl::Hours(26)),
             " }", "history { status: TASK_OPEN ", At("at", absl::Hours(24 * 19)), " }",
             "history { status: TASK_IN_PROGRESS ", At("at", absl::Hours(24 * 3)), " }",
             "history { status: TASK_DONE ", At("at", absl::Hours(24 * 2)), " }",
             "history { status: TASK_SHIPPED release: 'v2.3' ", At("at", absl::Hours(24)), " }"))));
}

TEST_F(CtlOutput, TicketShow) {
  Golden("tickets_show",
         Readable(Parse<v1::GetTicketResponse>(
             "ticket { helpdesk_id: 'support' ticket_id: '1001' subject: 'Charged twice\\nplease "
             "help' status: 'open' } classification { category_id: 'billing-charge' confidence: "
             "0.8734 reasons { feature: '\"charged\"' weight: 1.25 } reasons { feature: "
             "'\"charged twice\"' weight: 0.5 } alternatives { category_id: 'cancel-subscription' "
             "confidence: 0.09 } alternatives { category_id: 'login-access' confidence: 0.001 } "
             "model: 'learned-v2' } task { id: 7 title: 'Customers charged twice' status: "
             "TASK_OPEN ticket_count: 12 }")));
  Golden("tickets_show_review",
         Readable(Parse<v1::GetTicketResponse>(
             "ticket { helpdesk_id: 'support' ticket_id: '1002' subject: 'Odd thing' } "
             "classification { category_id: 'data-sync' confidence: 0.31 needs_review: true }")));
}

v1::ListAdaptersResponse SomeAdapters() {
  return Parse<v1::ListAdaptersResponse>(absl::StrCat(
      "adapters { id: 'support' kind: 'helpdesk' type: 'zendesk' webhook_path: "
      "'/webhooks/support' health { ",
      At("last_webhook", absl::Minutes(2)), " ", At("last_success", absl::Minutes(1)),
      " calls_ok: 310 ", At("reconciled_to", absl::Minutes(4)), " ",
      At("next_reconcile", -absl::Minutes(1)), " outbox_pending: 2 } }",
      "adapters { id: 'shop' kind: 'helpdesk' type: 'generic' webhook_path: '/webhooks/shop' "
      "health { refusals_last_hour { key: 'bad_signature' value: 3 } refusals_last_hour { key: "
      "'malformed' value: 1 } ",
      At("last_error_at", absl::Minutes(7)),
      " last_error: 'HTTP 401 from POST https://shop.example/notes/9' calls_failed: 4 "
      "rate_limit_waits: 2 outbox_dead: 4 } }",
      "adapters { id: 'jira' kind: 'tracker' type: 'jira' webhook_path: '/webhooks/jira' "
      "webhook_url: 'https://debrief.example/webhooks/jira' health { ",
      At("last_success", absl::Hours(2)), " calls_ok: 41 outbox_dead: 1 } }"));
}

TEST_F(CtlOutput, AdaptersListAndCheck) {
  Golden("adapters_list", Readable(SomeAdapters()));
  SetOutput(Output::kWide);
  Golden("adapters_list_wide", Readable(SomeAdapters()));
  SetOutput(Output::kTable);
  EXPECT_EQ(Readable(Parse<v1::CheckAdapterResponse>("ok: true message: 'ok'")), "OK\n");
  EXPECT_EQ(Readable(Parse<v1::CheckAdapterResponse>(
                "ok: false message: 'PERMISSION_DENIED: check the API token'")),
            "FAILED: PERMISSION_DENIED: check the API token\n");
}

TEST_F(CtlOutput, TokensDeadLettersFailedActionsAuditReviewEmerging) {
  Golden("tokens_list",
         Readable(Parse<v1::ListApiTokensResponse>(absl::StrCat(
             "tokens { id: 1 name: 'ada' role: 'admin' ", At("created_at", absl::Hours(24 * 40)),
             " ", At("last_used_at", absl::Seconds(10)), " }",
             "tokens { id: 2 name: 'zendesk-app' role: 'agent' helpdesk_id: 'support' "
             "installation: true revoked: true ",
             At("created_at", absl::Hours(24 * 3)), " }"))));
  Golden("deliveries_list",
         Readable(Parse<v1::ListDeadLettersResponse>(absl::StrCat(
             "dead_letters { seq: 1234 adapter_id: 'support' delivery_key: 'd-77' ",
             At("received_at", absl::Hours(5)), " ", At("failed_at", absl::Hours(4)),
             " attempts: 5 error: 'gave up after 5 attempts: DATA_LOSS: corrupt ticket' }"))));
  Golden("actions_list",
         Readable(Parse<v1::ListDeadActionsResponse>(absl::StrCat(
             "dead_actions { id: 88 adapter_id: 'shop' kind: 'write_back' ticket { helpdesk_id: "
             "'shop' ticket_id: 'A-17' } task_id: 7 attempts: 1 error: 'PERMISSION_DENIED: "
             "write-back for ticket A-17: HTTP 401' ",
             At("created_at", absl::Minutes(30)), " }",
             "dead_actions { id: 80 adapter_id: 'jira' kind: 'create_task' task_id: 9 attempts: 3 "
             "error: 'FAILED_PRECONDITION: Jira: the project SUP does not exist' ",
             At("created_at", absl::Hours(24 * 2)), " }"))));
  Golden("audit", Readable(Parse<v1::ListAuditResponse>(absl::StrCat(
                      "entries { id: 12 actor: 'web-admin' action: 'Admin.RetryDeadAction' "
                      "target: 'all: true' outcome: 'ok' ",
                      At("at", absl::Minutes(3)), " }",
                      "entries { id: 11 actor: 'debriefctl:ops (gRPC ipv4:127.0.0.1:5100)' "
                      "action: 'Admin.RevokeApiToken' target: 'id: 99' outcome: 'NOT_FOUND' ",
                      At("at", absl::Hours(2)), " }"))));
  Golden("review", Readable(Parse<v1::ListReviewResponse>(absl::StrCat(
                       "tickets { ticket { helpdesk_id: 'support' ticket_id: '1002' } subject: "
                       "'The export looks odd' classification { category_id: 'data-sync' "
                       "confidence: 0.31 needs_review: true alternatives { category_id: "
                       "'app-crash' confidence: 0.22 } } worth: 0.91 cause_size: 17 ",
                       At("first_seen", absl::Minutes(50)), " }",
                       "tickets { ticket { helpdesk_id: 'shop' ticket_id: 'A-3' } subject: "
                       "'Hmm' classification { needs_review: true } worth: 1 ",
                       At("first_seen", absl::Hours(24 * 21)), " }"))));
  EXPECT_EQ(Readable(v1::ListReviewResponse()), "Nothing waits for review.\n");
  Golden("emerging_list",
         Readable(Parse<v1::ListEmergingResponse>(absl::StrCat(
             "issues { id: 3 size: 14 top_terms: 'invoice' top_terms: 'pdf' examples: 'Invoice "
             "PDF is blank' suggested_name: 'Invoice pdf blank' representatives { ticket { "
             "helpdesk_id: 'support' ticket_id: '88' } subject: 'The invoice PDF opens blank' "
             "similarity: 0.82 } ",
             At("first_seen", absl::Hours(24 * 6)), " ", At("last_seen", absl::Hours(1)), " }"))));
}

TEST_F(CtlOutput, Reload) {
  const std::string changes =
      "file: '/etc/debrief/debrief.yaml' changes { path: 'link_policy.open_after_tickets' "
      "before: '3' after: '5' } changes { path: 'helpdesks[shop]' after: 'type generic' } ";
  Golden("reload_dry_run", Readable(Parse<v1::ReloadResponse>(changes)));
  Golden("reload_applied", Readable(Parse<v1::ReloadResponse>(absl::StrCat(
                               changes, "applied: true ", At("loaded_at", absl::ZeroDuration())))));
  Golden("reload_restart",
         Readable(Parse<v1::ReloadResponse>(
             "file: '/etc/debrief/debrief.yaml' changes { path: 'http.listen' before: "
             "'127.0.0.1:8080' after: '0.0.0.0:8080' } restart_needed: 'http.listen: "
             "127.0.0.1:8080 -> 0.0.0.0:8080'")));
  EXPECT_EQ(Readable(Parse<v1::ReloadResponse>("file: 'debrief.yaml'")),
            "debrief.yaml: no setting changed.\n");
}

// Every kind of change between two taxonomy versions, the way debriefd words them.
const char* kTaxonomyChanges =
    "changes { kind: CATEGORY_RENAMED category_id: 'login-access' before: 'Cannot log in' "
    "after: 'Sign-in problems' } "
    "changes { kind: CATEGORY_MERGED category_id: 'billing-double' into: 'billing-charge' "
    "effect: \"42 tickets count as billing-charge's; task 7 marked a duplicate of task 3\" } "
    "changes { kind: CATEGORY_SPLIT category_id: 'app-crash' into: 'app-crash-ios' into: "
    "'app-crash-android' effect: '118 recent tickets classified again' } "
    "changes { kind: CATEGORY_RETIRED category_id: 'fax-support' } "
    "changes { kind: CATEGORY_RESTORED category_id: 'gift-cards' } "
    "changes { kind: CATEGORY_ADDED category_id: 'data-export' } "
    "changes { kind: CATEGORY_CHANGED category_id: 'shipping-delay' fields: 'keywords' fields: "
    "'routing' } ";

v1::TaxonomyHistoryResponse SomeTaxonomyVersions() {
  return Parse<v1::TaxonomyHistoryResponse>(absl::StrCat(
      "versions { version: 12 ", At("at", absl::Hours(24 * 3)),
      " actor: 'admin' source: '/var/lib/debrief/conf.d/taxonomy.yaml' changes { kind: "
      "CATEGORY_MERGED category_id: 'billing-double' into: 'billing-charge' effect: \"42 tickets "
      "count as billing-charge's\" } changes { kind: CATEGORY_ADDED category_id: 'data-export' } "
      "changes { kind: CATEGORY_CHANGED category_id: 'shipping-delay' fields: 'keywords' } }",
      "versions { version: 9 ", At("at", absl::Hours(24 * 30)),
      " actor: 'config file' source: '/etc/debrief/debrief.yaml' changes { kind: "
      "CATEGORY_RENAMED category_id: 'login-access' before: 'Login' after: 'Cannot log in' } }"));
}

TEST_F(CtlOutput, TaxonomyDiffAChangeALine) {
  const auto diff =
      Parse<v1::DiffTaxonomyResponse>(absl::StrCat("current_version: 4 ", kTaxonomyChanges));
  Golden("taxonomy_diff", Readable(diff));
  EXPECT_EQ(Readable(Parse<v1::DiffTaxonomyResponse>("current_version: 4")),
            "No change: the file is the running taxonomy (version 4).\n");
  Golden("taxonomy_diff_json", Json(diff));
}

TEST_F(CtlOutput, TaxonomyApplySaysWhichVersionRunsNow) {
  const auto applied = Parse<v1::ApplyTaxonomyResponse>(absl::StrCat(
      "applied: true file: '/var/lib/debrief/conf.d/taxonomy.yaml' version { version: 5 ",
      At("at", absl::ZeroDuration()), " actor: 'debriefctl:ops' ", kTaxonomyChanges, "}"));
  Golden("taxonomy_apply", Readable(applied));
  EXPECT_EQ(Readable(Parse<v1::ApplyTaxonomyResponse>(
                "applied: false file: '/var/lib/debrief/conf.d/taxonomy.yaml' version { version: "
                "4 actor: 'admin' }")),
            "No change; version 4 stays.\n");
  Golden("taxonomy_apply_json", Json(applied));
}

TEST_F(CtlOutput, TaxonomyHistoryNewestFirstWithItsChanges) {
  Golden("taxonomy_history", Readable(SomeTaxonomyVersions()));
  EXPECT_EQ(Readable(v1::TaxonomyHistoryResponse()), "No taxonomy version yet.\n");
  Golden("taxonomy_history_json", Json(SomeTaxonomyVersions()));
  // A name from the file never reaches the terminal with its control characters.
  auto versions = SomeTaxonomyVersions();
  versions.mutable_versions(1)->mutable_changes(0)->set_after("Sign-in\x1b[2J\nproblems");
  const std::string out = Readable(versions);
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_NE(out.find("-> \"Sign-in [2J problems\""), std::string::npos) << out;
}

TEST_F(CtlOutput, ColourOnlyWhenAskedAndNeverInsideTheAlignment) {
  const std::string plain = Readable(SomeTasks());
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  SetColour(true);
  const std::string coloured = Readable(SomeTasks());
  EXPECT_NE(coloured.find("\x1b[32mshipped\x1b[0m"), std::string::npos) << coloured;
  EXPECT_NE(coloured.find("\x1b[33min progress (flagged)\x1b[0m"), std::string::npos);
  EXPECT_EQ(coloured.rfind("\x1b[1mID\x1b[0m", 0), 0u) << "headers in bold";
  // The same text once the colour codes are taken out: the columns line up as without.
  std::string stripped = coloured;
  for (size_t at; (at = stripped.find('\x1b')) != std::string::npos;)
    stripped.erase(at, stripped.find('m', at) - at + 1);
  EXPECT_EQ(stripped, plain);
}

TEST_F(CtlOutput, AControlCharacterInATextNeverReachesTheTerminal) {
  auto tasks = SomeTasks();
  tasks.mutable_tasks(0)->set_title("Charged \x1b[31mtwice\x07\r\nnow");
  const std::string out = Readable(tasks);
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_EQ(out.find('\x07'), std::string::npos);
  EXPECT_NE(out.find("Charged  [31mtwice   now"), std::string::npos) << out;
}

TEST_F(CtlOutput, JsonIsTheProtobufMappingWithTheProtosFieldNamesAndYamlTheSame) {
  const auto tasks = SomeTasks();
  std::string want;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(tasks, &want, o).ok());
  EXPECT_EQ(Json(tasks), want) << "scripts read this format: it does not change";
  EXPECT_NE(Json(tasks).find("\"customer_count\""), std::string::npos);
  Golden("tasks_list_yaml", Yaml(tasks));
  EXPECT_EQ(Yaml(v1::ListTasksResponse()), "{}\n");
  // Every string of the YAML is JSON-quoted: it reads back as the same values.
  const std::string yaml = Yaml(tasks);
  EXPECT_NE(yaml.find("- id: \"7\"\n    category_id: \"billing-charge\""), std::string::npos)
      << yaml;
}

}  // namespace
}  // namespace debrief::cli
