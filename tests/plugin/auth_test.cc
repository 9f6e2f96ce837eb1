#include "auth/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "debrief/v1/services.pb.h"
#include "mocks/fake_clock.h"

namespace debrief::auth {
namespace {

using testing::FakeClock;

// Every RPC of every service in services.proto has a rule, and no rule names an RPC that is not
// there: a new RPC is refused to everyone until it is given one, and this test says so.
TEST(AuthRules, EveryServiceMethodHasExactlyOneRule) {
  std::set<std::string> rpcs;
  const google::protobuf::FileDescriptor* file = v1::GetTicketRequest::descriptor()->file();
  for (int s = 0; s < file->service_count(); ++s) {
    const auto* service = file->service(s);
    for (int m = 0; m < service->method_count(); ++m)
      rpcs.insert(absl::StrCat(service->name(), ".", service->method(m)->name()));
  }
  const std::vector<std::string> ruled = RuledMethods();
  EXPECT_THAT(std::set<std::string>(ruled.begin(), ruled.end()), ::testing::ContainerEq(rpcs));
}

TEST(AuthRules, RolesAreOrderedAndUnknownMethodsAreRefused) {
  const Caller agent{
      .name = "ann", .role = Role::kAgent, .helpdesk_id = "", .installation_only = false};
  const Caller lead{
      .name = "lee", .role = Role::kLead, .helpdesk_id = "", .installation_only = false};
  const Caller admin{
      .name = "ada", .role = Role::kAdmin, .helpdesk_id = "", .installation_only = false};
  struct Row {
    const char* method;
    bool agent, lead, admin;
  };
  for (const Row& r :
       {Row{"Tickets.GetTicket", true, true, true}, Row{"Tagging.Feedback", true, true, true},
        Row{"Tagging.PromoteEmerging", false, true, true},
        Row{"Admin.CreateApiToken", false, false, true}, Row{"Admin.Backfill", false, false, true},
        Row{"Admin.MergePeople", false, false, true}, Row{"Admin.SplitPerson", false, false, true},
        Row{"Insights.CausesOverTime", false, true, true},
        Row{"Insights.CustomersVoice", false, true, true},
        Row{"Tickets.DropEverything", false, false, false}}) {
    EXPECT_EQ(Allowed(r.method, agent), r.agent) << r.method;
    EXPECT_EQ(Allowed(r.method, lead), r.lead) << r.method;
    EXPECT_EQ(Allowed(r.method, admin), r.admin) << r.method;
  }
  Caller installation = agent;
  installation.installation_only = true;
  EXPECT_TRUE(Allowed("Tagging.Feedback", installation));
  EXPECT_TRUE(Allowed("Improvements.LinkTicket", installation));
  EXPECT_FALSE(Allowed("Improvements.RequestTask", installation))
      << "a helpdesk that proves only its installation may not open tasks";
}

TEST(AuthTokens, SecretsAreRandomAndOnlyTheirHashIsKept) {
  const std::string a = NewTokenSecret(), b = NewTokenSecret();
  EXPECT_NE(a, b);
  EXPECT_TRUE(a.starts_with("dbt_")) << a;
  EXPECT_EQ(a.size(), 4u + 43u) << a;
  EXPECT_EQ(HashTokenSecret(a).size(), 64u);
  EXPECT_EQ(HashTokenSecret(a), HashTokenSecret(a));
  EXPECT_NE(HashTokenSecret(a), HashTokenSecret(b));
  EXPECT_EQ(HashTokenSecret(a).find(a.substr(4, 8)), std::string::npos);
}

TEST(AuthSessions, ASessionCarriesItsCallerUntilItExpires) {
  FakeClock clock;
  Sessions sessions("0123456789abcdef0123456789abcdef", clock, absl::Minutes(15));
  const Caller ann{.name = "ann@example.com",
                   .role = Role::kAgent,
                   .helpdesk_id = "zendesk",
                   .installation_only = false};
  const std::string token = sessions.Mint(ann);
  EXPECT_TRUE(token.starts_with("ds1.")) << token;
  auto back = sessions.Verify(token);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->name, "ann@example.com");
  EXPECT_EQ(back->role, Role::kAgent);
  EXPECT_EQ(back->helpdesk_id, "zendesk");
  clock.Advance(absl::Minutes(15));
  auto expired = sessions.Verify(token);
  EXPECT_TRUE(absl::IsUnauthenticated(expired.status()));
  EXPECT_THAT(std::string(expired.status().message()), ::testing::HasSubstr("expired"));
}

TEST(AuthSessions, AForgedOrAlteredSessionIsRefused) {
  FakeClock clock;
  Sessions sessions("0123456789abcdef0123456789abcdef", clock, absl::Minutes(15));
  Sessions other("another key, another debriefd!!", clock, absl::Minutes(15));
  const Caller ann{
      .name = "ann", .role = Role::kAgent, .helpdesk_id = "zendesk", .installation_only = false};
  const Caller admin{
      .name = "ann", .role = Role::kAdmin, .helpdesk_id = "", .installation_only = false};
  const std::string token = sessions.Mint(ann);
  // The claims of an admin session with the agent's signature.
  const std::string forged_admin =
      absl::StrCat(sessions.Mint(admin).substr(0, sessions.Mint(admin).rfind('.')),
                   token.substr(token.rfind('.')));
  for (const std::string& bad :
       {other.Mint(ann), forged_admin, std::string("ds1.e30."), std::string("ds1..."),
        std::string("dbt_x"), std::string(""), std::string("ds1.\xff\xfe.AAAA"),
        token.substr(0, token.size() - 2)}) {
    auto r = sessions.Verify(bad);
    EXPECT_TRUE(absl::IsUnauthenticated(r.status())) << bad << ": " << r.status();
  }
}

}  // namespace
}  // namespace debrief::auth
