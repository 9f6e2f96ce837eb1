// Adapters added, changed and removed on a running debriefd without hand-written YAML
// (Admin.SaveAdapter, RemoveAdapter, CheckAdapter on a draft, ListAdapterTypes): the file in
// conf_dir is what a person would write, secrets land in 0600 files and nowhere else, a failing
// check or reload changes nothing, and the adapter takes webhooks at once.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "google/protobuf/util/json_util.h"
#include "integration/debriefd_process.h"

namespace debrief::testing {
namespace {

namespace fs = std::filesystem;
namespace pb = google::protobuf;

absl::Status ToStatus(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

v1::AdapterDraft ShopDraft(const std::string& id, const std::string& secret) {
  v1::AdapterDraft d;
  d.set_kind("helpdesk");
  d.mutable_config()->set_id(id);
  d.mutable_config()->set_type("generic");
  auto& f = *d.mutable_config()->mutable_settings()->mutable_fields();
  f["timestamp_header"].set_string_value("X-Debrief-Timestamp");
  f["delivery_id_header"].set_string_value("X-Debrief-Delivery");
  if (!secret.empty()) (*d.mutable_secrets())["secret"] = secret;
  return d;
}

absl::StatusOr<v1::SaveAdapterResponse> Save(Debriefd& d, const v1::AdapterDraft& draft,
                                             bool replace = false, bool skip_check = false) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("debrief-actor", "adapters-test");
  v1::SaveAdapterRequest req;
  *req.mutable_draft() = draft;
  req.set_replace(replace);
  req.set_skip_check(skip_check);
  v1::SaveAdapterResponse res;
  grpc::Status s = d.admin()->SaveAdapter(&ctx, req, &res);
  if (!s.ok()) return ToStatus(s);
  return res;
}

int Mode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 0777);
}

TEST(Adapters, TypesCarryTheirSettingsWithTheCommentsAsHelp) {
  TempDir dir;
  Debriefd d(dir.path());
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;
  grpc::ClientContext ctx;
  v1::ListAdapterTypesResponse res;
  ASSERT_TRUE(d.admin()->ListAdapterTypes(&ctx, v1::ListAdapterTypesRequest(), &res).ok());
  std::map<std::string, const v1::AdapterType*> by_type;
  for (const auto& t : res.types()) by_type[t.type()] = &t;
  for (const char* t : {"generic", "zendesk", "freshdesk", "zammad", "rt"}) {
    ASSERT_TRUE(by_type.contains(t)) << t;
    EXPECT_EQ(by_type[t]->kind(), "helpdesk");
  }
  for (const char* t : {"builtin", "redmine", "jira", "github", "gitlab", "linear"}) {
    ASSERT_TRUE(by_type.contains(t)) << t;
    EXPECT_EQ(by_type[t]->kind(), "tracker");
  }
  const v1::AdapterType& redmine = *by_type["redmine"];
  EXPECT_TRUE(absl::StrContains(redmine.help(), "Redmine")) << redmine.help();
  std::map<std::string, const v1::SettingField*> fields;
  for (const auto& f : redmine.fields()) fields[f.path()] = &f;
  ASSERT_TRUE(fields.contains("api_key"));
  EXPECT_EQ(fields["api_key"]->type(), "secret");
  EXPECT_TRUE(absl::StrContains(fields["api_key"]->help(), "X-Redmine-API-Key"));
  EXPECT_EQ(fields["tracker_id"]->type(), "int");
  EXPECT_EQ(fields["fields"]->type(), "map");
  EXPECT_EQ(fields["wont_do_statuses"]->type(), "list");
  // A group's settings, by their dotted path.
  const v1::SettingField* write_back = nullptr;
  for (const auto& f : by_type["generic"]->fields())
    if (f.name() == "write_back") write_back = &f;
  ASSERT_NE(write_back, nullptr);
  EXPECT_EQ(write_back->type(), "group");
  bool bearer = false;
  for (const auto& f : write_back->fields())
    bearer = bearer || (f.path() == "write_back.bearer_token" && f.type() == "secret");
  EXPECT_TRUE(bearer);
}

TEST(Adapters, SavedIntoConfDirTakesWebhooksAtOnceAndIsRemovedAgain) {
  TempDir dir;
  Debriefd d(dir.path());
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;
  EXPECT_EQ(d.Post(TicketJson("S1", "Hello", "hello", "c1"), "s-1", "", "shop")->status, 404);

  auto saved = Save(d, ShopDraft("shop", kWebhookSecret));
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_TRUE(saved->reload().applied());
  EXPECT_EQ(saved->check(), "ok");
  const std::string file = dir.file("conf.d/shop.yaml");
  EXPECT_EQ(saved->file(), file);
  const std::string secret_file = dir.file("secrets/shop.secret");
  ASSERT_EQ(saved->secret_files_size(), 1);
  EXPECT_EQ(saved->secret_files(0), secret_file);
  EXPECT_EQ(Mode(secret_file), 0600);
  EXPECT_EQ(Slurp(secret_file), absl::StrCat(kWebhookSecret, "\n"));
  // The file a person would write: the secret by reference only.
  const std::string yaml = Slurp(file);
  EXPECT_TRUE(absl::StrContains(yaml, "helpdesks:\n  - id: shop\n    type: generic\n")) << yaml;
  EXPECT_TRUE(absl::StrContains(yaml, "secret: {file: secrets/shop.secret}")) << yaml;
  EXPECT_FALSE(absl::StrContains(yaml, kWebhookSecret)) << yaml;
  EXPECT_EQ(saved->setup().webhook_path(), "/webhooks/shop");
  ASSERT_GT(saved->setup().steps_size(), 1);
  // No http.public_url here: the first step says how to set it.
  EXPECT_EQ(saved->setup().steps(0).title(), "Set Debrief's public address");
  EXPECT_TRUE(absl::StrContains(saved->setup().steps(0).detail(), "http.public_url"));

  // It takes webhooks signed with the secret typed, now.
  EXPECT_EQ(d.Post(TicketJson("S1", "Hello", "hello", "c1"), "s-1", "", "shop")->status, 202);
  {
    grpc::ClientContext ctx;
    v1::ListAdaptersResponse res;
    ASSERT_TRUE(d.admin()->ListAdapters(&ctx, v1::ListAdaptersRequest(), &res).ok());
    std::map<std::string, std::string> files;
    for (const auto& a : res.adapters()) files[a.id()] = a.file();
    EXPECT_EQ(files["shop"], file);
    EXPECT_EQ(files["support"], "");  // written in debrief.yaml: not the console's to change
  }

  // The same id again is refused unless replacing; an adapter of debrief.yaml is not the
  // console's to change.
  EXPECT_EQ(Save(d, ShopDraft("shop", "")).status().code(), absl::StatusCode::kAlreadyExists);
  auto theirs = Save(d, ShopDraft("support", ""), /*replace=*/true);
  EXPECT_EQ(theirs.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(theirs.status().message(), "debrief.yaml")) << theirs.status();

  // Saved again without its secret: the secret stays.
  v1::AdapterDraft again = ShopDraft("shop", "");
  (*again.mutable_config()->mutable_settings()->mutable_fields())["signature_encoding"]
      .set_string_value("hex");
  ASSERT_TRUE(Save(d, again, /*replace=*/true).ok());
  EXPECT_TRUE(absl::StrContains(Slurp(file), "secret: {file: secrets/shop.secret}"));
  EXPECT_EQ(d.Post(TicketJson("S3", "Hello", "hello", "c1"), "s-3", "", "shop")->status, 202);

  // A secret unset on purpose goes, with its file; the others stay.
  v1::AdapterDraft with_token = ShopDraft("shop", "");
  (*with_token.mutable_config()->mutable_settings()->mutable_fields())["write_back"]
      .mutable_struct_value()
      ->mutable_fields()
      ->insert({"url", [] {
                  pb::Value v;
                  v.set_string_value("http://127.0.0.1:9/{ticket_id}");
                  return v;
                }()});
  (*with_token.mutable_secrets())["write_back.bearer_token"] = "bearer-value";
  // (Its write-back endpoint is not there: saved without the check.)
  auto with = Save(d, with_token, /*replace=*/true, /*skip_check=*/true);
  ASSERT_TRUE(with.ok()) << with.status();
  const std::string token_file = dir.file("secrets/shop.write_back.bearer_token");
  EXPECT_TRUE(fs::exists(token_file));
  EXPECT_TRUE(
      absl::StrContains(Slurp(file), "bearer_token: {file: secrets/shop.write_back.bearer_token}"));
  v1::AdapterDraft without = ShopDraft("shop", "");
  without.add_unset_secrets("write_back.bearer_token");
  ASSERT_TRUE(Save(d, without, /*replace=*/true).ok());
  EXPECT_FALSE(absl::StrContains(Slurp(file), "bearer_token")) << Slurp(file);
  EXPECT_FALSE(fs::exists(token_file));
  EXPECT_TRUE(absl::StrContains(Slurp(file), "secret: {file: secrets/shop.secret}"));
  v1::AdapterDraft wrong = ShopDraft("shop", "");
  wrong.add_unset_secrets("timestamp_header");  // not a secret
  EXPECT_EQ(Save(d, wrong, true).status().code(), absl::StatusCode::kInvalidArgument);

  // A file of conf_dir written by hand with two adapters is not the console's to change.
  std::ofstream(dir.file("conf.d/pair.yaml"))
      << "helpdesks:\n  - {id: pair, type: generic, settings: {secret: {env: DEBRIEF_IT_SECRET}}}\n"
         "  - {id: pair2, type: generic, settings: {secret: {env: DEBRIEF_IT_SECRET}}}\n";
  {
    grpc::ClientContext ctx;
    v1::ReloadResponse res;
    ASSERT_TRUE(d.admin()->Reload(&ctx, v1::ReloadRequest(), &res).ok());
    grpc::ClientContext rm_ctx;
    v1::RemoveAdapterRequest rm;
    rm.set_id("pair");
    v1::RemoveAdapterResponse removed;
    EXPECT_EQ(d.admin()->RemoveAdapter(&rm_ctx, rm, &removed).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_TRUE(fs::exists(dir.file("conf.d/pair.yaml")));
    EXPECT_EQ(Save(d, ShopDraft("pair", kWebhookSecret), true).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }

  // The audit log has every call, and never the secret.
  {
    grpc::ClientContext ctx;
    v1::ListAuditResponse res;
    ASSERT_TRUE(d.admin()->ListAudit(&ctx, v1::ListAuditRequest(), &res).ok());
    int saves = 0;
    for (const auto& e : res.entries()) {
      EXPECT_FALSE(absl::StrContains(e.target(), kWebhookSecret)) << e.target();
      if (e.action() == "Admin.SaveAdapter") ++saves;
    }
    EXPECT_EQ(saves, 8);
  }

  // Removed: its file and secret go, its webhooks are unknown again.
  grpc::ClientContext ctx;
  v1::RemoveAdapterRequest rm;
  rm.set_id("shop");
  v1::RemoveAdapterResponse removed;
  ASSERT_TRUE(d.admin()->RemoveAdapter(&ctx, rm, &removed).ok());
  EXPECT_TRUE(removed.reload().applied());
  EXPECT_FALSE(fs::exists(file));
  EXPECT_FALSE(fs::exists(secret_file));
  EXPECT_EQ(d.Post(TicketJson("S2", "Hello", "hello", "c1"), "s-2", "", "shop")->status, 404);
}

TEST(Adapters, AFailingCheckOrReloadChangesNothing) {
  TempDir dir;
  Debriefd d(dir.path());
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;

  // A tracker nobody answers for: the check says why, nothing is written.
  v1::AdapterDraft redmine;
  redmine.mutable_config()->set_id("rm");
  redmine.mutable_config()->set_type("redmine");
  (*redmine.mutable_config()->mutable_settings()->mutable_fields())["url"].set_string_value(
      "http://127.0.0.1:1");
  (*redmine.mutable_secrets())["api_key"] = "wrong-key";
  {
    grpc::ClientContext ctx;
    v1::CheckAdapterRequest req;
    *req.mutable_draft() = redmine;
    v1::CheckAdapterResponse res;
    ASSERT_TRUE(d.admin()->CheckAdapter(&ctx, req, &res).ok());
    EXPECT_FALSE(res.ok());
    EXPECT_TRUE(absl::StrContains(res.message(), "127.0.0.1:1")) << res.message();
    EXPECT_FALSE(absl::StrContains(res.message(), "wrong-key")) << res.message();
  }
  auto refused = Save(d, redmine);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "nothing was saved"));
  EXPECT_FALSE(fs::exists(dir.file("conf.d/rm.yaml")));
  EXPECT_FALSE(fs::exists(dir.file("secrets/rm.api_key")));

  // Hostile drafts: a path for an id, a secret at a setting that is not one, a secret on two
  // lines, a type nobody has.
  v1::AdapterDraft bad = ShopDraft("../../etc/x", kWebhookSecret);
  EXPECT_EQ(Save(d, bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = ShopDraft("shop", "");
  (*bad.mutable_secrets())["timestamp_header"] = "x";
  EXPECT_EQ(Save(d, bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = ShopDraft("shop", std::string("nul\0byte", 8));
  EXPECT_EQ(Save(d, bad).status().code(), absl::StatusCode::kInvalidArgument);
  // A draft that names a secret instead of typing it (another adapter's file, any file, a
  // variable) would have the check send that secret to the draft's URL: refused.
  for (const char* ref : {R"({"file": "secrets/other.api_key"})", R"({"file": "/etc/passwd"})",
                          R"({"file": "secrets/rm.api_key"})", R"({"env": "DEBRIEF_IT_SECRET"})",
                          R"({"file": "secrets/rm.api_key", "create": true})"}) {
    v1::AdapterDraft named = redmine;
    named.clear_secrets();
    pb::Value v;
    ASSERT_TRUE(pb::util::JsonStringToMessage(ref, &v).ok());
    (*named.mutable_config()->mutable_settings()->mutable_fields())["api_key"] = v;
    grpc::ClientContext ctx;
    v1::CheckAdapterRequest req;
    *req.mutable_draft() = named;
    v1::CheckAdapterResponse res;
    ASSERT_TRUE(d.admin()->CheckAdapter(&ctx, req, &res).ok());
    EXPECT_FALSE(res.ok()) << ref;
    EXPECT_TRUE(absl::StrContains(res.message(), "a secret is typed")) << res.message();
    EXPECT_EQ(Save(d, named).status().code(), absl::StatusCode::kInvalidArgument) << ref;
  }
  bad = ShopDraft("shop", kWebhookSecret);
  bad.mutable_config()->set_type("nosuch");
  EXPECT_EQ(Save(d, bad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir.file("conf.d/shop.yaml")));
  // A group unset under one spelling and set under the other, its secret named: the check
  // sees the same setting the adapter would read, and refuses it.
  for (const char* settings :
       {R"({"write_back": null, "writeBack": {"url": "http://127.0.0.1:1/{ticket_id}",
           "bearerToken": {"env": "DEBRIEF_IT_SECRET"}}})",
        R"({"write_back": {"url": "http://127.0.0.1:1/"}, "writeBack": {"url": "http://x/",
           "bearerToken": {"env": "DEBRIEF_IT_SECRET"}}})"}) {
    v1::AdapterDraft sneaky = ShopDraft("sneaky", kWebhookSecret);
    pb::Struct extra;
    ASSERT_TRUE(pb::util::JsonStringToMessage(settings, &extra).ok());
    for (const auto& [k, v] : extra.fields())
      (*sneaky.mutable_config()->mutable_settings()->mutable_fields())[k] = v;
    EXPECT_EQ(Save(d, sneaky).status().code(), absl::StatusCode::kInvalidArgument) << settings;
    EXPECT_FALSE(fs::exists(dir.file("conf.d/sneaky.yaml")));
  }

  // Saved, then changed while debrief.yaml is broken by hand: the reload fails, the file and
  // the secret stay as they were, and the adapter keeps taking webhooks with the old secret.
  ASSERT_TRUE(Save(d, ShopDraft("shop", kWebhookSecret)).ok());
  const std::string file = dir.file("conf.d/shop.yaml");
  const std::string before = Slurp(file);
  const std::string config = Slurp(dir.file("debrief.yaml"));
  std::ofstream(dir.file("debrief.yaml")) << config << "link_policy_typo: {}\n";
  v1::AdapterDraft changed = ShopDraft("shop", "a-new-secret");
  (*changed.mutable_config()->mutable_settings()->mutable_fields())["signature_prefix"]
      .set_string_value("sha256=");
  auto failed = Save(d, changed, /*replace=*/true);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(absl::StrContains(failed.status().message(), "not saved")) << failed.status();
  EXPECT_TRUE(absl::StrContains(failed.status().message(), "link_policy_typo")) << failed.status();
  EXPECT_EQ(Slurp(file), before);
  EXPECT_EQ(Slurp(dir.file("secrets/shop.secret")), absl::StrCat(kWebhookSecret, "\n"));
  EXPECT_EQ(d.Post(TicketJson("K1", "Hello", "hello", "c1"), "k-1", "", "shop")->status, 202);

  // A conf_dir file with more than adapters in it is refused by name.
  std::ofstream(dir.file("debrief.yaml")) << config;
  std::ofstream(dir.file("conf.d/extra.yaml")) << "loop: {quotes: 2}\n";
  grpc::ClientContext ctx;
  v1::ReloadResponse res;
  grpc::Status s = d.admin()->Reload(&ctx, v1::ReloadRequest(), &res);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.error_message(), "extra.yaml")) << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), "loop")) << s.error_message();
}

}  // namespace
}  // namespace debrief::testing

namespace debrief::testing {
namespace {

// debriefctl adapters add with flags (a script) and in a terminal (questions, a secret
// generated and shown once), edit, and remove.
TEST(Adapters, DebriefctlAddsWithFlagsAndInATerminal) {
  TempDir dir;
  Debriefd d(dir.path());
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;

  const std::string secret_file = dir.file("typed-secret");
  std::ofstream(secret_file) << kWebhookSecret << "\n";
  ASSERT_EQ(RunCommand(absl::StrCat(d.ctl(), " -o json adapters add generic --id flags1 ",
                                    "--secret secret=@", secret_file,
                                    " --set timestamp_header=X-Debrief-Timestamp",
                                    " --set delivery_id_header=X-Debrief-Delivery"),
                       &out),
            0)
      << out;
  EXPECT_TRUE(absl::StrContains(out, "\"webhook_path\": \"/webhooks/flags1\"")) << out;
  EXPECT_FALSE(absl::StrContains(out, kWebhookSecret)) << out;
  EXPECT_EQ(d.Post(TicketJson("F1", "Hello", "hello", "c1"), "f-1", "", "flags1")->status, 202);

  // Edit keeps what it is not told, the secret's file among it.
  ASSERT_EQ(RunCommand(absl::StrCat(d.ctl(), " -o json adapters edit flags1 ",
                                    "--set events=ticket.opened=created,ticket.done=solved"),
                       &out),
            0)
      << out;
  const std::string yaml = Slurp(dir.file("conf.d/flags1.yaml"));
  EXPECT_TRUE(absl::StrContains(yaml, "ticket.opened: created")) << yaml;
  EXPECT_TRUE(absl::StrContains(yaml, "secret: {file: secrets/flags1.secret}")) << yaml;
  EXPECT_TRUE(absl::StrContains(yaml, "timestamp_header: X-Debrief-Timestamp")) << yaml;
  EXPECT_EQ(d.Post(TicketJson("F2", "Hello", "hello", "c1"), "f-2", "", "flags1")->status, 202);

  // A check that fails says why, and saves nothing.
  EXPECT_NE(RunCommand(absl::StrCat(d.ctl(), " adapters add redmine --id rm",
                                    " --set url=http://127.0.0.1:1 --secret api_key=k"),
                       &out),
            0);
  EXPECT_TRUE(absl::StrContains(out, "the check failed, nothing was saved")) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("conf.d/rm.yaml")));

  // In a terminal: every setting asked, the secret generated and shown once, the write-back
  // group set only when asked into.
  ASSERT_EQ(RunCommand(absl::StrCat("python3 ", DEBRIEF_SOURCE_DIR, "/tests/cli/adapters_pty.py '",
                                    R"({"secret": "generate", "write_back": "y", )",
                                    R"("write_back.method": "PUT"}' -- )", d.ctl(),
                                    " adapters add generic --id desk"),
                       &out),
            0)
      << out;
  EXPECT_TRUE(absl::StrContains(out, "HMAC-SHA256 key")) << out;  // the setting's help
  const size_t at = out.find("secret (generated; shown this once");
  ASSERT_NE(at, std::string::npos) << out;
  const size_t line = out.find('\n', at);
  const std::string generated(absl::StripAsciiWhitespace(out.substr(line + 1, 66)));
  ASSERT_EQ(generated.size(), 64u) << out;
  const std::string desk = Slurp(dir.file("conf.d/desk.yaml"));
  EXPECT_TRUE(absl::StrContains(desk, "method: PUT")) << desk;
  EXPECT_FALSE(absl::StrContains(desk, generated)) << desk;
  const std::string body = TicketJson("D1", "Hello", "hello", "c1");
  auto r =
      d.PostTo("/webhooks/desk", body,
               {{"Content-Type", "application/json"},
                {"X-Debrief-Signature",
                 adapters::HexEncode(adapters::Hmac(adapters::Digest::kSha256, generated, body))}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 202) << r->body;

  ASSERT_EQ(RunCommand(absl::StrCat(d.ctl(), " adapters remove desk"), &out), 0) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("conf.d/desk.yaml")));
}

}  // namespace
}  // namespace debrief::testing
