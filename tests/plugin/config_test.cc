#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "config/adapter_file.h"
#include "mocks/spi_mocks.h"
#include "settings/settings.h"

namespace debrief::config {
namespace {

using settings::ParseHumanDuration;
using settings::ResolveSecret;
using settings::ToDuration;

TEST(Config, FillsDefaultsForAnEmptyFile) {
  auto c = ParseConfig("", "/srv/debrief");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->http().listen(), "127.0.0.1:8080");
  EXPECT_EQ(c->grpc().listen(), "127.0.0.1:9090");
  EXPECT_EQ(c->store().sqlite().path(), "/srv/debrief/debrief.db");
  EXPECT_EQ(c->link_policy().open_after_tickets(), 3u);
  EXPECT_EQ(ToDuration(c->link_policy().window(), absl::ZeroDuration()), absl::Hours(24 * 7));
}

TEST(Config, APostgresStoreNeedsAConnectionStringWithoutAPassword) {
  auto c = ParseConfig(
      "store: {postgres: {conninfo: \"host=db.internal dbname=debrief user=debrief\", "
      "password: {file: pg-password}}}",
      "/srv/debrief");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->store().has_postgres());
  EXPECT_FALSE(c->store().has_sqlite()) << "one store, not both";
  EXPECT_EQ(c->store().postgres().max_batch(), 512u);
  EXPECT_EQ(c->store().postgres().read_connections(), 4u);

  auto missing = ParseConfig("store: {postgres: {max_batch: 64}}", "/srv/debrief");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()),
              ::testing::HasSubstr("store.postgres.conninfo is required"));
  for (const char* secret :
       {"host=db dbname=debrief password=hunter2", "host=db password = hunter2",
        "postgresql://debrief:hunter2@db.internal/debrief",
        "postgresql://debrief@db.internal/debrief?passwor%64=hunter2"}) {
    auto leaky = ParseConfig(absl::StrCat("store: {postgres: {conninfo: \"", secret, "\"}}"),
                             "/srv/debrief");
    ASSERT_FALSE(leaky.ok()) << secret;
    EXPECT_THAT(std::string(leaky.status().message()),
                ::testing::HasSubstr("must not hold a password"));
    EXPECT_THAT(std::string(leaky.status().message()),
                ::testing::Not(::testing::HasSubstr("hunter2")));
  }
  // A connection string libpq cannot read is refused without quoting it (the part it could
  // not read may be the password).
  auto unreadable = ParseConfig(
      "store: {postgres: {conninfo: \"postgresql://debrief:hunter2%zz@db/debrief\"}}", "/x");
  ASSERT_FALSE(unreadable.ok());
  EXPECT_THAT(std::string(unreadable.status().message()),
              ::testing::HasSubstr("is not a libpq connection string"));
  EXPECT_THAT(std::string(unreadable.status().message()),
              ::testing::Not(::testing::HasSubstr("hunter2")));
  auto no_password = ParseConfig(
      "store: {postgres: {conninfo: \"postgresql://debrief@db.internal/debrief\"}}", "/x");
  EXPECT_TRUE(no_password.ok()) << no_password.status();
}

TEST(Config, AUnknownKeyIsAnErrorThatNamesIt) {
  auto c = ParseConfig("http:\n  listne: 127.0.0.1:1\n", "/tmp");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(c.status()));
  EXPECT_NE(c.status().message().find("http.listne"), std::string::npos) << c.status();
}

TEST(Config, ReadsHumanDurationsEnumsAndNumbers) {
  auto c = ParseConfig(R"(
link_policy: {open_after_tickets: 5, window: 36h}
taxonomy:
  review_threshold: 0.7
  categories:
    - {id: billing, name: Billing, kind: complaint, keywords: [refund]}
    - {id: kudos, name: Kudos, kind: Praise}
)",
                       "/tmp");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->link_policy().open_after_tickets(), 5u);
  EXPECT_EQ(ToDuration(c->link_policy().window(), absl::ZeroDuration()), absl::Hours(36));
  EXPECT_DOUBLE_EQ(c->taxonomy().review_threshold(), 0.7);
  EXPECT_EQ(c->taxonomy().categories(1).kind(), v1::PRAISE);
}

TEST(Config, RejectsBadValuesWithTheirPath) {
  auto bad_kind = ParseConfig("taxonomy: {categories: [{id: x, kind: rant}]}", "/tmp");
  EXPECT_NE(bad_kind.status().message().find("taxonomy.categories[0].kind"), std::string::npos)
      << bad_kind.status();
  auto bad_duration = ParseConfig("link_policy: {window: soon}", "/tmp");
  EXPECT_NE(bad_duration.status().message().find("link_policy.window"), std::string::npos);
  auto bad_regex =
      ParseConfig("taxonomy: {categories: [{id: x, kind: complaint, keywords: ['(']}]}", "/tmp");
  EXPECT_NE(bad_regex.status().message().find("keyword"), std::string::npos);
  auto dup = ParseConfig("helpdesks: [{id: a, type: generic}, {id: a, type: generic}]", "/tmp");
  EXPECT_NE(dup.status().message().find("used twice"), std::string::npos);
  auto route = ParseConfig(
      "trackers: [{id: t, type: builtin}]\n"
      "taxonomy: {categories: [{id: x, kind: complaint, routing: {tracker_id: nope}}]}",
      "/tmp");
  EXPECT_NE(route.status().message().find("unknown tracker nope"), std::string::npos);
}

// A listener reachable from other hosts speaks TLS, or the config says who does it for it.
TEST(Config, AListenerOffLoopbackNeedsTlsOrAllowPlaintext) {
  auto open_http = ParseConfig("http: {listen: 0.0.0.0:8080}", "/srv/d");
  ASSERT_FALSE(open_http.ok());
  EXPECT_THAT(std::string(open_http.status().message()),
              ::testing::AllOf(::testing::HasSubstr("http.listen 0.0.0.0:8080 is reachable"),
                               ::testing::HasSubstr("http.allow_plaintext: true")));
  auto open_grpc = ParseConfig("grpc: {listen: \"[::]:9090\"}", "/srv/d");
  ASSERT_FALSE(open_grpc.ok());
  EXPECT_THAT(std::string(open_grpc.status().message()), ::testing::HasSubstr("grpc.listen"));
  EXPECT_TRUE(ParseConfig("http: {listen: 0.0.0.0:8080, allow_plaintext: true}", "/srv/d").ok());
  EXPECT_TRUE(
      ParseConfig("http: {listen: \"[::1]:8080\"}\ngrpc: {listen: localhost:9}", "/d").ok());
  EXPECT_TRUE(ParseConfig("http: {listen: \"[::ffff:127.0.0.1]:80\"}\n"
                          "grpc: {listen: \"[0:0:0:0:0:0:0:1]:9\"}",
                          "/d")
                  .ok());
  EXPECT_FALSE(ParseConfig("grpc: {listen: 127.corp.example:9090}", "/d").ok());  // a name
  auto tls = ParseConfig(
      "http: {listen: 0.0.0.0:8443, tls: {cert_file: tls/cert.pem, key_file: tls/key.pem}}\n"
      "grpc: {listen: 0.0.0.0:9443, tls: {cert_file: /etc/c.pem, key_file: /etc/k.pem, "
      "client_ca_file: ca.pem, client_roles: {ops-robot: admin}}}",
      "/srv/d");
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_EQ(tls->http().tls().cert_file(), "/srv/d/tls/cert.pem");  // from data_dir
  EXPECT_EQ(tls->grpc().tls().client_ca_file(), "/srv/d/ca.pem");
  EXPECT_EQ(tls->grpc().tls().client_roles().at("ops-robot"), "admin");
  EXPECT_TRUE(tls->grpc().local_token());  // by default
  struct Bad {
    const char* yaml;
    const char* says;
  };
  for (const Bad& b :
       {Bad{"http: {tls: {cert_file: c.pem}}", "http.tls needs both cert_file and key_file"},
        Bad{"http: {tls: {cert_file: c, key_file: k, client_ca_file: ca}}",
            "client certificates are for the gRPC listener"},
        Bad{"grpc: {tls: {cert_file: c, key_file: k, client_ca_file: ca, "
            "client_roles: {bot: root}}}",
            "\"root\" is not agent, lead or admin"},
        Bad{"grpc: {tls: {cert_file: c, key_file: k, client_roles: {bot: admin}}}",
            "client_roles needs client_ca_file"}}) {
    auto c = ParseConfig(b.yaml, "/srv/d");
    ASSERT_FALSE(c.ok()) << b.yaml;
    EXPECT_THAT(std::string(c.status().message()), ::testing::HasSubstr(b.says)) << b.yaml;
  }
}

// Found by the config fuzzer: bytes that are not UTF-8 made the JSON step throw, which ended
// debriefd (at start, or at a SIGHUP reload). They are an error naming the line now.
TEST(Config, AFileThatIsNotUtf8IsAnErrorNamingTheLine) {
  auto c = ParseConfig(
      "data_dir: /srv\nhttp: {listen: 0.\xff\xff"
      "0.0.0:8443}\n",
      "/tmp");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "config: line 2 is not UTF-8 text; save the file as UTF-8");
  auto fuzzed = ParseConfig(
      "http: {listen: 0.\377\3770.0.0:8443, tls: {cert_file: c.pem, key_file: k.pem}}\n"
      "grpc: {tls: {cert_file: c, key_file: k, client_ca_file: ca, client_roles: {bot: admin}}}\n",
      "/tmp");
  EXPECT_FALSE(fuzzed.ok());
}

TEST(Config, MergesTheTaxonomyFile) {
  testing::TempDir dir;
  std::ofstream(dir.file("tax.yaml")) << "categories:\n  - {id: a, name: A, kind: complaint}\n";
  std::ofstream(dir.file("debrief.yaml")) << "taxonomy: {file: tax.yaml}\n";
  auto c = LoadConfig(dir.file("debrief.yaml"));
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->taxonomy().categories_size(), 1);
  EXPECT_EQ(c->taxonomy().categories(0).id(), "a");
}

TEST(Config, TheShippedExampleAndTaxonomyLoad) {
  auto c = LoadConfig(std::string(DEBRIEF_SOURCE_DIR) + "/deploy/debrief.example.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_GE(c->taxonomy().categories_size(), 10);
  EXPECT_EQ(c->helpdesks(0).type(), "generic");
  EXPECT_EQ(c->default_tracker(), "tasks");
}

TEST(Config, SecretsComeFromEnvOrFileAndErrorsNeverShowValues) {
  setenv("DEBRIEF_TEST_SECRET", "s3cr3t", 1);
  v1::SecretRef env;
  env.set_env("DEBRIEF_TEST_SECRET");
  EXPECT_EQ(*ResolveSecret(env), "s3cr3t");
  testing::TempDir dir;
  std::ofstream(dir.file("k")) << "from-file\n";
  v1::SecretRef file;
  file.set_file(dir.file("k"));
  EXPECT_EQ(*ResolveSecret(file), "from-file");
  v1::SecretRef missing;
  missing.set_env("DEBRIEF_TEST_UNSET_VARIABLE");
  auto m = ResolveSecret(missing);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("DEBRIEF_TEST_UNSET_VARIABLE"), std::string::npos);
}

// A relative secret file lives under data_dir; one marked `create` is made by debriefd at its
// first start (random, 0600, kept afterwards) and is an error for tools that only read it.
TEST(Config, ASecretFileMarkedCreateIsMadeOnceUnderDataDir) {
  testing::TempDir dir;
  v1::SecretRef ref;
  ref.set_file("webhook-secret");
  ref.set_create(true);
  auto reader = ResolveSecret(ref, dir.path(), /*create=*/false);
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("debriefd makes it"), std::string::npos);
  auto made = ResolveSecret(ref, dir.path(), /*create=*/true);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(made->size(), 64u);
  EXPECT_EQ(std::filesystem::status(dir.file("webhook-secret")).permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(*ResolveSecret(ref, dir.path(), /*create=*/true), *made);  // kept
  EXPECT_EQ(*ResolveSecret(ref, dir.path(), /*create=*/false), *made);
  v1::SecretRef plain;
  plain.set_file("webhook-secret");
  EXPECT_EQ(*ResolveSecret(plain, dir.path()), *made);  // relative to data_dir

  // `debriefctl config check` takes a file debriefd will make as fine, and makes nothing.
  testing::TempDir fresh;
  testing::MockHttpClient http;
  testing::FakeClock clock;
  spi::AdapterContext check{http, clock, fresh.path(), spi::AdapterContext::SecretFiles::kCheck};
  EXPECT_TRUE(ResolveSecret(ref, check).ok());
  EXPECT_FALSE(std::filesystem::exists(fresh.file("webhook-secret")));
  spi::AdapterContext read{http, clock, fresh.path()};
  EXPECT_FALSE(ResolveSecret(ref, read).ok());
}

TEST(Config, ParsesDurations) {
  EXPECT_EQ(*ParseHumanDuration("500ms"), absl::Milliseconds(500));
  EXPECT_EQ(*ParseHumanDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseHumanDuration("2w"), absl::Hours(24 * 14));
  EXPECT_FALSE(ParseHumanDuration("5 parsecs").ok());
}

}  // namespace
}  // namespace debrief::config

namespace debrief::config {
namespace {

// The file the console writes for an adapter reads back as the same settings, whatever the
// strings hold (YAML's own syntax, words YAML would take for null or booleans, other scripts).
TEST(Config, AnAdapterFileReadsBackAsTheSameSettings) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / absl::StrCat("debrief-conf-", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir / "conf.d");
  v1::AdapterConfig a;
  a.set_id("shop");
  a.set_type("generic");
  auto& f = *a.mutable_settings()->mutable_fields();
  const std::vector<std::string> hostile = {
      "null",      "~",          "yes",         "no",        "true",
      "0x10",      "1e3",        "- item",      "a: b",      "#not a comment",
      "  leading", "trailing  ", "\"quoted\"",  "'single'",  "{flow}",
      "[list]",    "& anchor",   "* alias",     "! tag",     "%directive",
      "@at",       "`tick`",     "line\nbreak", "tab\there", "ünïcødé ✓",
      "日本語",    "",           "|",           ">"};
  for (size_t i = 0; i < hostile.size(); ++i) f[absl::StrCat("k", i)].set_string_value(hostile[i]);
  f["n"].set_number_value(42);
  f["b"].set_bool_value(true);
  (*f["ref"].mutable_struct_value()->mutable_fields())["file"].set_string_value("secrets/x y");
  auto* list = f["l"].mutable_list_value();
  list->add_values()->set_string_value("a, b");
  list->add_values()->set_string_value("null");
  (*f["m"].mutable_struct_value()->mutable_fields())["ticket.created"].set_string_value("created");
  std::ofstream(dir / "conf.d" / "shop.yaml")
      << AdapterFileYaml("helpdesk", a, "a note\nover two lines");
  std::ofstream(dir / "debrief.yaml") << "{}\n";
  auto c = LoadConfig((dir / "debrief.yaml").string());
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->helpdesks_size(), 1);
  EXPECT_EQ(c->conf_dir(), (dir / "conf.d").string());
  const auto& back = c->helpdesks(0).settings().fields();
  for (size_t i = 0; i < hostile.size(); ++i) {
    const std::string k = absl::StrCat("k", i);
    ASSERT_TRUE(back.contains(k)) << k;
    EXPECT_EQ(back.at(k).string_value(), hostile[i]) << k;
  }
  EXPECT_EQ(back.at("n").string_value(), "42");  // scalars come back as text, read by type
  EXPECT_EQ(back.at("b").string_value(), "true");
  EXPECT_EQ(back.at("ref").struct_value().fields().at("file").string_value(), "secrets/x y");
  ASSERT_EQ(back.at("l").list_value().values_size(), 2);
  EXPECT_EQ(back.at("l").list_value().values(1).string_value(), "null");
  EXPECT_EQ(back.at("m").struct_value().fields().at("ticket.created").string_value(), "created");

  // Anything besides adapters in conf_dir is refused, naming the file.
  std::ofstream(dir / "conf.d" / "z.yaml") << "loop: {quotes: 2}\n";
  auto refused = LoadConfig((dir / "debrief.yaml").string());
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("z.yaml"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace debrief::config

namespace debrief::config {
namespace {

// A key written under both of its names is an error, not a guess at which one counts.
TEST(Config, ASettingWrittenUnderBothItsNamesIsRefused) {
  auto c = ParseConfig("http: {max_body_bytes: 5, maxBodyBytes: 6}\n", "");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), ::testing::HasSubstr("written twice"));
  auto unset = ParseConfig("http: {max_body_bytes: null, maxBodyBytes: 6}\n", "");
  ASSERT_FALSE(unset.ok());
  EXPECT_THAT(std::string(unset.status().message()), ::testing::HasSubstr("written twice"));
}

}  // namespace
}  // namespace debrief::config
