// The JSON API and the panel's sign-in, against a running debriefd: nothing answers without a
// token, each role reaches what auth::Allowed says, an agent of one helpdesk reads no other
// helpdesk's tickets, and every forged, expired or misdirected sign-in from a helpdesk is
// refused with its reason and counted.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/util/json_util.h"
#include "integration/debriefd_process.h"

namespace debrief::testing {
namespace {

using json = nlohmann::json;

constexpr int64_t kInstallation = 777;
constexpr char kZendeskUrl[] = "http://127.0.0.1:9";
constexpr char kRtUrl[] = "http://127.0.0.1:10";
constexpr char kRtKey[] = "rt-sidebar-key-of-at-least-32-bytes-long";

std::string B64Url(absl::string_view bytes) {
  std::string out;
  absl::WebSafeBase64Escape(bytes, &out);
  return out;
}

// An RSA key pair as Zendesk keeps one per app installation.
struct KeyPair {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  ~KeyPair() { EVP_PKEY_free(key); }
  std::string PublicPem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<size_t>(n));
    BIO_free(bio);
    return pem;
  }
  std::string SignRs256(absl::string_view data) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                   data.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(data.data()), data.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    return sig;
  }
};

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

// The claims Zendesk signs when an agent opens the app in a ticket's sidebar.
json ZendeskClaims() {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  return {{"iss", "127.0.0.1:9"},
          {"aud", absl::StrCat(kZendeskUrl, "/api/v2/apps/installations/", kInstallation, ".json")},
          {"sub", "http://127.0.0.1:9/api/v2/users/4242.json"},
          {"iat", now - 5},
          {"exp", now + 300},
          {"context", {{"product", "support"}, {"location", "ticket_sidebar"}}}};
}

std::string Jwt(const json& header, const json& claims, const KeyPair& key) {
  const std::string signed_part = absl::StrCat(B64Url(header.dump()), ".", B64Url(claims.dump()));
  return absl::StrCat(signed_part, ".", B64Url(key.SignRs256(signed_part)));
}

std::string Form(const std::map<std::string, std::string>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    std::string e;
    for (unsigned char c : v) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.')
        e.push_back(static_cast<char>(c));
      else
        absl::StrAppend(&e, "%", absl::Hex(c, absl::kZeroPad2));
    }
    absl::StrAppend(&out, out.empty() ? "" : "&", k, "=", e);
  }
  return out;
}

std::string RtProof(const std::string& user, const std::string& ticket, int64_t expires,
                    const std::string& key = kRtKey) {
  const std::string sig =
      absl::BytesToHexString(HmacSha256(key, absl::StrCat(user, "\n", ticket, "\n", expires)));
  return Form(
      {{"user", user}, {"ticket", ticket}, {"expires", absl::StrCat(expires)}, {"signature", sig}});
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.path() + "/zendesk-app.pem") << zendesk_key_.PublicPem();
    std::ofstream(dir_.path() + "/rt-sidebar-key") << kRtKey;
    std::string yaml = IntegrationConfig(dir_.path());
    yaml = absl::StrReplaceAll(yaml, {{"trackers:\n", absl::StrCat(R"(  - id: shop
    type: generic
    settings:
      secret: {env: DEBRIEF_IT_SECRET}
      timestamp_header: X-Debrief-Timestamp
      delivery_id_header: X-Debrief-Delivery
  - id: zd
    type: zendesk
    settings:
      url: ")",
                                                                   kZendeskUrl, R"("
      email: agent@example.com
      api_token: {env: DEBRIEF_IT_SECRET}
      signing_secret: {env: DEBRIEF_IT_SECRET}
      app_public_key: {file: zendesk-app.pem}
      app_installation_id: )",
                                                                   kInstallation, R"(
  - id: rt
    type: rt
    settings:
      url: ")",
                                                                   kRtUrl, R"("
      token: {env: DEBRIEF_IT_SECRET}
      webhook_secret: {env: DEBRIEF_IT_SECRET}
      sidebar_key: {file: rt-sidebar-key}
trackers:
)")}});
    yaml += "api: {session_ttl: 2s}\n";
    d_ = std::make_unique<Debriefd>(dir_.path(), RawConfig{yaml});
    std::string out;
    ASSERT_TRUE(d_->Start(&out)) << out;
  }

  // An API token made through gRPC (debriefctl tokens create).
  std::string Token(const std::string& role, const std::string& helpdesk = "",
                    int64_t* id = nullptr) {
    grpc::ClientContext ctx;
    v1::CreateApiTokenRequest req;
    req.set_name(absl::StrCat(role, "-", helpdesk));
    req.set_role(role);
    req.set_helpdesk_id(helpdesk);
    v1::CreateApiTokenResponse res;
    grpc::Status s = d_->admin()->CreateApiToken(&ctx, req, &res);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (id) *id = res.token().id();
    return res.secret();
  }

  spi::HttpResponse Call(const std::string& method, const json& body, const std::string& bearer) {
    spi::HttpHeaders h = {{"Content-Type", "application/json"}};
    if (!bearer.empty()) h.emplace_back("Authorization", "Bearer " + bearer);
    auto r = d_->PostTo("/api/v1/" + method, body.dump(), h);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : spi::HttpResponse{};
  }

  spi::HttpResponse SignIn(const std::string& helpdesk, const std::string& form) {
    auto r = d_->PostTo("/app/signin/" + helpdesk, form,
                        {{"Content-Type", "application/x-www-form-urlencoded"}});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : spi::HttpResponse{};
  }

  double Refused(const std::string& reason) {
    auto m = d_->Get("/metrics");
    if (!m.ok()) return -1;
    const std::string key = absl::StrCat("debrief_api_refused_total{reason=\"", reason, "\"} ");
    const size_t at = m->body.find(key);
    return at == std::string::npos ? 0 : std::stod(m->body.substr(at + key.size()));
  }

  // A ticket of the `support` helpdesk (or another generic one), delivered and tagged.
  void Deliver(const std::string& id, const std::string& subject,
               const std::string& body = "I was charged twice this month",
               const std::string& helpdesk = "support") {
    auto r =
        d_->Post(TicketJson(id, subject, body, "cust-" + id), "d-" + helpdesk + id, "", helpdesk);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->status, 202) << r->body;
    ASSERT_TRUE(WaitFor([&] {
      grpc::ClientContext ctx;
      v1::GetTicketRequest req;
      req.mutable_ticket()->set_helpdesk_id(helpdesk);
      req.mutable_ticket()->set_ticket_id(id);
      v1::GetTicketResponse res;
      return d_->tickets()->GetTicket(&ctx, req, &res).ok() && res.has_classification();
    }));
  }

  TempDir dir_;
  KeyPair zendesk_key_;
  std::unique_ptr<Debriefd> d_;
};

json Ticket(const std::string& helpdesk, const std::string& id) {
  return {{"ticket", {{"helpdeskId", helpdesk}, {"ticketId", id}}}};
}

TEST_F(ApiTest, NothingAnswersWithoutAToken) {
  const double before = Refused("unauthenticated");
  for (const std::string& bearer : {std::string(""), std::string("dbt_unknown"),
                                    std::string("ds1.e30.AAAA"), std::string("garbage")}) {
    spi::HttpResponse r = Call("Tickets/GetTicket", Ticket("support", "1"), bearer);
    EXPECT_EQ(r.status, 401) << bearer << ": " << r.body;
    EXPECT_FALSE(json::parse(r.body, nullptr, false).value("error", "").empty()) << r.body;
    EXPECT_EQ(r.Header("www-authenticate"), "Bearer realm=\"debrief\"");
  }
  EXPECT_EQ(Refused("unauthenticated"), before + 4);
}

TEST_F(ApiTest, AnAgentReadsAndCorrectsItsHelpdesksTicketsOnly) {
  Deliver("41", "Charged twice");
  const std::string agent = Token("agent", "support");
  spi::HttpResponse t = Call("Tickets/GetTicket", Ticket("support", "41"), agent);
  ASSERT_EQ(t.status, 200) << t.body;
  const json got = json::parse(t.body);
  EXPECT_EQ(got["ticket"]["ticketId"], "41");
  EXPECT_FALSE(got["classification"]["categoryId"].get<std::string>().empty());
  EXPECT_EQ(t.Header("cache-control"), "no-store");

  json feedback = Ticket("support", "41");
  feedback["categoryId"] = "login-access";
  feedback["agent"] = "someone else";
  spi::HttpResponse f = Call("Tagging/Feedback", feedback, agent);
  ASSERT_EQ(f.status, 200) << f.body;
  EXPECT_EQ(json::parse(f.body)["classification"]["categoryId"], "login-access");

  const double other = Refused("other_helpdesk"), forbidden = Refused("forbidden");
  spi::HttpResponse o = Call("Tickets/GetTicket", Ticket("zd", "41"), agent);
  EXPECT_EQ(o.status, 403) << o.body;
  EXPECT_TRUE(absl::StrContains(o.body, "helpdesk support only")) << o.body;
  spi::HttpResponse a = Call("Admin/ListApiTokens", json::object(), agent);
  EXPECT_EQ(a.status, 403) << a.body;
  // The review queue of its own helpdesk only, whether it names one or not: two unsure
  // tickets, one a helpdesk, wait; the agent of `support` lists its own.
  const std::string unsure = "Hello, a question about something, please call me back";
  Deliver("42", "A question", unsure);
  Deliver("43", "A question", unsure, "shop");
  spi::HttpResponse q = Call("Tagging/ListReview", {{"helpdeskId", "shop"}}, agent);
  EXPECT_EQ(q.status, 403) << q.body;
  const std::string lead = Token("lead");
  spi::HttpResponse all = Call("Tagging/ListReview", json::object(), lead);
  ASSERT_EQ(all.status, 200) << all.body;
  std::set<std::string> everyone;
  for (const auto& item : json::parse(all.body).value("tickets", json::array()))
    everyone.insert(item["ticket"]["helpdeskId"].get<std::string>());
  EXPECT_EQ(everyone, (std::set<std::string>{"shop", "support"})) << all.body;
  spi::HttpResponse own = Call("Tagging/ListReview", json::object(), agent);
  ASSERT_EQ(own.status, 200) << own.body;
  const json mine = json::parse(own.body).value("tickets", json::array());
  ASSERT_FALSE(mine.empty()) << own.body;
  for (const auto& item : mine) EXPECT_EQ(item["ticket"]["helpdeskId"], "support") << own.body;
  EXPECT_EQ(Refused("other_helpdesk"), other + 2);
  EXPECT_EQ(Refused("forbidden"), forbidden + 1);

  spi::HttpResponse bad = Call("Tickets/GetTicket", {{"ticket", 5}}, agent);
  EXPECT_EQ(bad.status, 400) << bad.body;
  spi::HttpResponse unknown = Call("Tickets/DropAll", json::object(), agent);
  EXPECT_EQ(unknown.status, 404) << unknown.body;
}

TEST_F(ApiTest, AnAdminManagesTokensAndARevokedTokenIsRefused) {
  const std::string admin = Token("admin");
  int64_t id = 0;
  const std::string lead = Token("lead", "", &id);
  EXPECT_EQ(Call("Tagging/ListCategories", json::object(), lead).status, 200);
  spi::HttpResponse list = Call("Admin/ListApiTokens", json::object(), admin);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_FALSE(absl::StrContains(list.body, lead)) << "a token's secret is never shown again";
  EXPECT_EQ(Call("Admin/RevokeApiToken", {{"id", std::to_string(id)}}, admin).status, 200);
  spi::HttpResponse r = Call("Tagging/ListCategories", json::object(), lead);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "revoked")) << r.body;
}

TEST_F(ApiTest, ASessionStandsForItsTokenUntilItExpires) {
  const std::string agent = Token("agent", "support");
  spi::HttpResponse s = Call("session", json::object(), agent);
  ASSERT_EQ(s.status, 200) << s.body;
  const json session = json::parse(s.body);
  const std::string token = session["token"];
  EXPECT_TRUE(absl::StartsWith(token, "ds1.")) << token;
  EXPECT_EQ(session["helpdeskId"], "support");
  EXPECT_EQ(Call("Tagging/ListCategories", json::object(), token).status, 200);
  EXPECT_EQ(Call("Tickets/GetTicket", Ticket("rt", "1"), token).status, 403);
  absl::SleepFor(absl::Seconds(2.2));  // api.session_ttl: 2s
  spi::HttpResponse late = Call("Tagging/ListCategories", json::object(), token);
  EXPECT_EQ(late.status, 401) << late.body;
  EXPECT_TRUE(absl::StrContains(late.body, "expired")) << late.body;
}

TEST_F(ApiTest, ZendeskSignsInItsAgentWithAnRs256Token) {
  const json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  spi::HttpResponse r = SignIn("zd", Form({{"token", Jwt(header, ZendeskClaims(), zendesk_key_)}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const size_t at = r.body.find("<script id=\"debrief-session\" type=\"application/json\">");
  ASSERT_NE(at, std::string::npos) << r.body;
  const size_t start = r.body.find('>', at) + 1;
  const json session = json::parse(r.body.substr(start, r.body.find("</script>", start) - start));
  EXPECT_EQ(session["helpdeskId"], "zd");
  EXPECT_EQ(session["name"], "zendesk user 4242");
  EXPECT_EQ(session["role"], "agent");
  // The page may be framed by the helpdesks that sign agents in, and by nothing else.
  const std::string csp = r.Header("content-security-policy");
  EXPECT_TRUE(absl::StrContains(csp, "frame-ancestors http://127.0.0.1:10 http://127.0.0.1:9"))
      << csp;
  EXPECT_TRUE(absl::StrContains(csp, "script-src 'self'")) << csp;
  EXPECT_EQ(r.Header("referrer-policy"), "no-referrer");
  // The session reads the zd helpdesk's tickets, not support's.
  EXPECT_EQ(Call("Tickets/GetTicket", Ticket("support", "1"), session["token"]).status, 403);
}

TEST_F(ApiTest, EveryForgedOrMisdirectedZendeskTokenIsRefusedAndCounted) {
  KeyPair other;
  const json rs256 = {{"alg", "RS256"}, {"typ", "JWT"}};
  auto with = [](const char* key, json value) {
    json c = ZendeskClaims();
    c[key] = std::move(value);
    return c;
  };
  const std::string claims = B64Url(ZendeskClaims().dump());
  const std::string pem = zendesk_key_.PublicPem();
  struct Case {
    const char* what;
    std::string token;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"signed by another key", Jwt(rs256, ZendeskClaims(), other), "signature"},
      {"alg none",
       absl::StrCat(B64Url(json{{"alg", "none"}, {"typ", "JWT"}}.dump()), ".", claims, "."),
       "only RS256"},
      {"HS256 keyed with the public key",
       [&] {
         const std::string part =
             absl::StrCat(B64Url(json{{"alg", "HS256"}, {"typ", "JWT"}}.dump()), ".", claims);
         return absl::StrCat(part, ".", B64Url(HmacSha256(pem, part)));
       }(),
       "only RS256"},
      {"another installation",
       Jwt(rs256, with("aud", "http://127.0.0.1:9/api/v2/apps/installations/778.json"),
           zendesk_key_),
       "installation"},
      {"another account", Jwt(rs256, with("iss", "evil.zendesk.com"), zendesk_key_), "account"},
      {"expired", Jwt(rs256, with("exp", absl::ToUnixSeconds(absl::Now()) - 600), zendesk_key_),
       "expired"},
      {"another location",
       Jwt(rs256, with("context", {{"product", "support"}, {"location", "top_bar"}}), zendesk_key_),
       "place"},
      {"no token", "", "token"},
  };
  const double before = Refused("signin");
  for (const Case& c : cases) {
    spi::HttpResponse r = SignIn("zd", c.token.empty() ? "other=1" : Form({{"token", c.token}}));
    EXPECT_EQ(r.status, 401) << c.what << ": " << r.body;
    EXPECT_TRUE(absl::StrContains(r.body, c.reason)) << c.what << ": " << r.body;
    EXPECT_FALSE(absl::StrContains(r.body, "debrief-session")) << c.what;
  }
  EXPECT_EQ(Refused("signin"), before + static_cast<double>(cases.size()));
}

TEST_F(ApiTest, RequestTrackerSignsInItsUserForOneTicket) {
  const int64_t soon = absl::ToUnixSeconds(absl::Now()) + 300;
  spi::HttpResponse ok = SignIn("rt", RtProof("alice", "17", soon));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(absl::StrContains(ok.body, "\"ticketId\":\"17\"")) << ok.body;
  EXPECT_TRUE(absl::StrContains(ok.body, "\"name\":\"alice\"")) << ok.body;

  // Signed for ticket 17, presented for 18.
  std::string moved =
      absl::StrReplaceAll(RtProof("alice", "17", soon), {{"ticket=17", "ticket=18"}});
  const double before = Refused("signin");
  EXPECT_EQ(SignIn("rt", moved).status, 401);
  EXPECT_EQ(SignIn("rt", RtProof("alice", "17", soon - 600)).status, 401) << "expired";
  EXPECT_EQ(SignIn("rt", RtProof("alice", "17", soon + 7200)).status, 401) << "too long";
  EXPECT_EQ(SignIn("rt", RtProof("alice", "17", soon, "another key of at least 32 bytes!!")).status,
            401);
  EXPECT_EQ(SignIn("support", RtProof("alice", "17", soon)).status, 404)
      << "the generic helpdesk signs no one in";
  EXPECT_EQ(Refused("signin"), before + 5);
}

TEST_F(ApiTest, ThePanelIsServedWithItsAssetsAndHeaders) {
  auto page = d_->Get("/app/ticket/support/41");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->status, 200);
  EXPECT_TRUE(absl::StrContains(page->body, "/app/app.js")) << page->body;
  EXPECT_FALSE(absl::StrContains(page->body, "debrief-session"));
  auto js = d_->Get("/app/app.js");
  ASSERT_TRUE(js.ok());
  EXPECT_EQ(js->status, 200);
  EXPECT_TRUE(absl::StartsWith(js->Header("content-type"), "text/javascript"));
  EXPECT_FALSE(js->Header("etag").empty());
  auto missing = d_->Get("/app/../../etc/passwd");
  ASSERT_TRUE(missing.ok());
  EXPECT_NE(missing->status, 200);
  auto get_signin = d_->Get("/app/signin/zd");
  ASSERT_TRUE(get_signin.ok());
  EXPECT_EQ(get_signin->status, 405);
}

// An admin tells Debrief that two addresses are one customer (debriefctl or the JSON API): the
// agent's journey joins their tickets until the admin splits them again. Agents may not.
TEST_F(ApiTest, AnAdminJoinsTwoIdentitiesIntoOneJourneyAndSplitsThem) {
  Deliver("51", "Charged twice");
  Deliver("52", "Charged twice again");
  const std::string agent = Token("agent", "support");
  const std::string admin = Token("admin");
  auto journey = [&] {
    spi::HttpResponse r = Call("Tickets/GetJourney", Ticket("support", "51"), agent);
    EXPECT_EQ(r.status, 200) << r.body;
    const json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("entries") ? j["entries"].size() : size_t{0};
  };
  EXPECT_EQ(journey(), 1u);

  const json merge = {{"person", {{"email", "cust-52@example.com"}}},
                      {"into", {{"ticket", {{"helpdeskId", "support"}, {"ticketId", "51"}}}}}};
  EXPECT_EQ(Call("Admin/MergePeople", merge, agent).status, 403);
  EXPECT_EQ(journey(), 1u);

  std::string out;
  const std::string ctl = d_->ctl();
  ASSERT_EQ(RunCommand(ctl + " people merge CUST-52@example.com support/51", &out), 0) << out;
  EXPECT_EQ(json::parse(out)["identities"], 2) << out;
  EXPECT_EQ(journey(), 2u);

  spi::HttpResponse split =
      Call("Admin/SplitPerson", {{"person", {{"email", "cust-52@example.com"}}}}, admin);
  EXPECT_EQ(split.status, 200) << split.body;
  EXPECT_EQ(journey(), 1u);
  split = Call("Admin/SplitPerson", {{"person", {{"email", "cust-52@example.com"}}}}, admin);
  EXPECT_EQ(split.status, 404) << "merged with nobody now: " << split.body;

  EXPECT_NE(RunCommand(ctl + " people merge nobody support/51", &out), 0);
  EXPECT_TRUE(absl::StrContains(out, "HELPDESK/TICKET")) << out;
  EXPECT_NE(RunCommand(ctl + " people merge support/999 support/51", &out), 0);
  EXPECT_TRUE(absl::StrContains(out, "unknown")) << out;
}

}  // namespace
}  // namespace debrief::testing

namespace debrief::testing {
namespace {

// What the JSON door answers is what gRPC answers: the same service underneath.
json JsonOf(const google::protobuf::Message& m) {
  std::string text;
  google::protobuf::util::JsonPrintOptions out;
  out.always_print_primitive_fields = true;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(m, &text, out).ok());
  return json::parse(text);
}

TEST_F(ApiTest, ALeadReadsTheInsightsAsGrpcGivesThemAndAnAgentMayNot) {
  Deliver("51", "Charged twice");
  Deliver("52", "Charged twice again");
  const std::string lead = Token("lead");
  const std::string agent = Token("agent");
  const double forbidden = Refused("forbidden");
  for (const char* method : {"Insights/CausesOverTime", "Insights/TasksByImpact",
                             "Insights/FixOutcomes", "Insights/CustomersVoice"}) {
    spi::HttpResponse r = Call(method, json::object(), agent);
    EXPECT_EQ(r.status, 403) << method << ": " << r.body;
    EXPECT_EQ(Call(method, json::object(), lead).status, 200) << method;
  }
  EXPECT_EQ(Refused("forbidden"), forbidden + 4);

  spi::HttpResponse causes = Call("Insights/CausesOverTime", json::object(), lead);
  ASSERT_EQ(causes.status, 200) << causes.body;
  const json got = json::parse(causes.body);
  ASSERT_EQ(got["weeks"].size(), 26u) << "26 weeks by default";
  int64_t tickets = 0;
  for (const json& c : got["causes"]) {
    ASSERT_EQ(c["weeklyTickets"].size(), 26u);
    tickets += std::stoll(c["tickets"].get<std::string>());
  }
  EXPECT_EQ(tickets, 2) << causes.body;

  grpc::ClientContext ctx;
  v1::CausesOverTimeResponse res;
  ASSERT_TRUE(d_->insights()->CausesOverTime(&ctx, v1::CausesOverTimeRequest(), &res).ok());
  EXPECT_EQ(got, JsonOf(res));

  spi::HttpResponse inverted =
      Call("Insights/CausesOverTime",
           {{"filter", {{"from", "2026-06-01T00:00:00Z"}, {"to", "2026-01-01T00:00:00Z"}}}}, lead);
  EXPECT_EQ(inverted.status, 400) << inverted.body;
  EXPECT_TRUE(absl::StrContains(inverted.body, "before")) << inverted.body;
}

}  // namespace
}  // namespace debrief::testing
