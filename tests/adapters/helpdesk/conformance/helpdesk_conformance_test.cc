// One conformance suite that every helpdesk adapter runs (in the manner of Arrow's
// GenericFileSystemTest): each vendor supplies its settings, recorded payloads and how its
// helpdesk signs a webhook, computed by the openssl command line (an independent
// implementation), and the same tests hold it to the same contract.
#include <gtest/gtest.h>

#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/rest.h"
#include "config/config.h"
#include "ingress/reconciler.h"
#include "mocks/fake_clock.h"
#include "mocks/scripted_http.h"
#include "mocks/spi_mocks.h"
#include "register.h"
#include "store/sqlite_store.h"

namespace debrief {
namespace {

using json = nlohmann::json;
using Headers = std::map<std::string, std::string>;
using testing::FakeClock;
using testing::OpensslHmac;
using testing::ScriptedHttp;
using testing::Slurp;
using testing::TempDir;

constexpr char kSecret[] = "conformance-secret-0123456789";
constexpr char kToken[] = "conformance-api-token";

// What a vendor brings to the suite.
struct VendorCase {
  std::string type;
  std::string settings_yaml;  // secrets from CONFORMANCE_SECRET / CONFORMANCE_TOKEN
  std::string testdata;       // folder under tests/adapters/helpdesk
  // The headers the helpdesk sends, computed with openssl.
  std::function<Headers(const std::string& body, absl::Time now, const std::string& key)> sign;
  bool signs_timestamp = false;
  std::string created_ticket_id, created_subject;
  // Listing: the URL part of the listing call, a part the second page's URL must carry (the
  // cursor left by the first), and extra answers (first messages) a listing needs.
  std::string list_url, resume_url_part;
  std::function<void(ScriptedHttp&, const std::string& testdata)> listing_extras;
  // Whether a write request posts something the customer sees.
  std::function<bool(const spi::HttpRequest&)> is_public_write;
  // The URL part of the call that reads existing notes (to write each note once).
  std::string notes_read_url;
};

void PrintTo(const VendorCase& c, std::ostream* os) { *os << c.type; }

std::string TestData(const VendorCase& c, const std::string& file) {
  return absl::StrCat(DEBRIEF_SOURCE_DIR, "/tests/adapters/helpdesk/", c.testdata, "/testdata/",
                      file);
}

std::vector<VendorCase> Cases() {
  std::vector<VendorCase> cases;
  {
    VendorCase c;
    c.type = "zendesk";
    c.testdata = "zendesk";
    c.settings_yaml =
        "      url: http://zendesk.test\n      email: bot@example.com\n"
        "      api_token: {env: CONFORMANCE_TOKEN}\n      signing_secret: {env: "
        "CONFORMANCE_SECRET}\n"
        "      root_cause_field_id: 360001\n";
    c.sign = [](const std::string& body, absl::Time now, const std::string& key) {
      std::string ts = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now, absl::UTCTimeZone());
      return Headers{{"x-zendesk-webhook-signature-timestamp", ts},
                     {"x-zendesk-webhook-signature", OpensslHmac("sha256", key, ts + body, true)}};
    };
    c.signs_timestamp = true;
    c.created_ticket_id = "5158";
    c.created_subject = "Charged twice";
    c.list_url = "/api/v2/incremental/tickets/cursor.json";
    c.resume_url_part = "cursor=MTU3NjYxMzUzOS4wfHw0Njd8";
    c.listing_extras = [](ScriptedHttp&, const std::string&) {};
    c.is_public_write = [](const spi::HttpRequest& r) {
      json b = json::parse(r.body, nullptr, false);
      return b.contains("ticket") && b["ticket"].contains("comment") &&
             b["ticket"]["comment"].value("public", true);
    };
    c.notes_read_url = "/comments.json";
    cases.push_back(c);
  }
  {
    VendorCase c;
    c.type = "zammad";
    c.testdata = "zammad";
    c.settings_yaml =
        "      url: http://zammad.test\n      token: {env: CONFORMANCE_TOKEN}\n"
        "      hmac_secret: {env: CONFORMANCE_SECRET}\n      page_size: 2\n";
    c.sign = [](const std::string& body, absl::Time, const std::string& key) {
      return Headers{{"x-hub-signature", "sha1=" + OpensslHmac("sha1", key, body, false)},
                     {"x-zammad-delivery", "6ea1b5bd-3c7d-4a0c-9e0f-6a2c83f5b2d1"},
                     {"x-zammad-trigger", "Debrief"}};
    };
    c.created_ticket_id = "81";
    c.created_subject = "Webhook-Test";
    c.list_url = "/api/v1/tickets/search";
    // The first page's newest ticket was updated at 2026-11-02T10:06:00Z.
    c.resume_url_part = "updated_at%3A%3E%3D2026-11-02T10%3A06%3A00Z";
    c.listing_extras = [](ScriptedHttp& http, const std::string& dir) {
      http.On("GET", "/ticket_articles/by_ticket/", {{200, Slurp(dir + "/articles.json")}});
    };
    c.is_public_write = [](const spi::HttpRequest& r) {
      json b = json::parse(r.body, nullptr, false);
      return b.contains("internal") && !b["internal"].get<bool>();
    };
    c.notes_read_url = "/ticket_articles/by_ticket/";
    cases.push_back(c);
  }
  {
    VendorCase c;
    c.type = "freshdesk";
    c.testdata = "freshdesk";
    c.settings_yaml =
        "      url: http://freshdesk.test\n      api_key: {env: CONFORMANCE_TOKEN}\n"
        "      webhook_secret: {env: CONFORMANCE_SECRET}\n      root_cause_field: cf_root_cause\n"
        "      page_size: 2\n";
    // Freshdesk signs nothing: the automation rule sends the shared secret in a header.
    c.sign = [](const std::string&, absl::Time, const std::string& key) {
      return Headers{{"x-debrief-token", key}};
    };
    c.created_ticket_id = "4271";
    c.created_subject = "Charged twice";
    c.list_url = "/api/v2/tickets?updated_since";
    c.resume_url_part = "updated_since=2026-11-02T10%3A06%3A00Z";
    c.listing_extras = [](ScriptedHttp&, const std::string&) {};
    c.is_public_write = [](const spi::HttpRequest& r) { return absl::EndsWith(r.url, "/reply"); };
    c.notes_read_url = "/conversations";
    cases.push_back(c);
  }
  {
    VendorCase c;
    c.type = "rt";
    c.testdata = "rt";
    c.settings_yaml =
        "      url: http://rt.test\n      token: {env: CONFORMANCE_TOKEN}\n"
        "      webhook_secret: {env: CONFORMANCE_SECRET}\n      page_size: 2\n";
    // The scrip in deploy/apps/rt signs "<unix time>.<body>" with HMAC-SHA256, hex.
    c.sign = [](const std::string& body, absl::Time now, const std::string& key) {
      std::string ts = std::to_string(absl::ToUnixSeconds(now));
      return Headers{
          {"x-debrief-timestamp", ts},
          {"x-debrief-signature", "sha256=" + OpensslHmac("sha256", key, ts + "." + body, false)},
          {"x-debrief-delivery", "rt-301"}};
    };
    c.signs_timestamp = true;
    c.created_ticket_id = "17";
    c.created_subject = "Charged twice";
    c.list_url = "/REST/2.0/tickets?query=";
    c.resume_url_part = "LastUpdated%20%3E%3D%20%272026-11-02%2010%3A06%3A00%27";
    c.listing_extras = [](ScriptedHttp& http, const std::string& dir) {
      http.On("GET", "/history?query=", {{200, Slurp(dir + "/history_create.json")}});
      http.On("GET", "/attachments", {{200, Slurp(dir + "/attachments.json")}});
    };
    c.is_public_write = [](const spi::HttpRequest& r) {
      return absl::EndsWith(r.url, "/correspond");
    };
    c.notes_read_url = "/history?query=";
    cases.push_back(c);
  }
  return cases;
}

class HelpdeskConformance : public ::testing::TestWithParam<VendorCase> {
 protected:
  void SetUp() override {
    setenv("CONFORMANCE_SECRET", kSecret, 1);
    setenv("CONFORMANCE_TOKEN", kToken, 1);
    auto c =
        config::ParseConfig(absl::StrCat("helpdesks:\n  - id: desk\n    type: ", GetParam().type,
                                         "\n    settings:\n", GetParam().settings_yaml),
                            dir_.path());
    ASSERT_TRUE(c.ok()) << c.status();
    adapters::RegisterBuiltinAdapters(registry_);
    spi::AdapterContext ctx{http_, clock_, dir_.path()};
    auto a = registry_.helpdesk(GetParam().type)->Create(c->helpdesks(0), ctx);
    ASSERT_TRUE(a.ok()) << a.status();
    adapter_ = std::move(*a);
  }

  std::string Data(const std::string& file) { return Slurp(TestData(GetParam(), file)); }

  spi::InboundDelivery Delivery(const std::string& body, Headers headers) {
    headers["content-type"] = "application/json";
    stash_.push_back(body);
    return spi::InboundDelivery{std::move(headers), stash_.back(), clock_.Now()};
  }
  spi::InboundDelivery Signed(const std::string& body, absl::Time at) {
    return Delivery(body, GetParam().sign(body, at, kSecret));
  }

  v1::Ticket TicketOf(const std::string& id) {
    v1::Ticket t;
    t.set_helpdesk_id("desk");
    t.set_ticket_id(id);
    t.mutable_requester()->set_email("ann@example.com");
    return t;
  }

  TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1795438800)};
  ScriptedHttp http_;
  spi::AdapterRegistry registry_;
  std::unique_ptr<spi::HelpdeskAdapter> adapter_;
  std::deque<std::string> stash_;  // bodies the deliveries' string_views point into
};

TEST_P(HelpdeskConformance, AcceptsADeliverySignedAsTheHelpdeskSignsIt) {
  auto a = adapter_->Accept(Signed(Data("created.json"), clock_.Now()));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_FALSE(a->delivery_key.empty());
  // And what `debriefctl replay` signs is accepted too.
  std::string body = Data("created.json");
  auto h = adapter_->SignDelivery(body, clock_.Now());
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_TRUE(adapter_->Accept(Delivery(body, *h)).ok());
}

TEST_P(HelpdeskConformance, RefusesABadSignature) {
  std::string body = Data("created.json");
  auto wrong_key = adapter_->Accept(Delivery(body, GetParam().sign(body, clock_.Now(), "guess")));
  EXPECT_TRUE(absl::IsUnauthenticated(wrong_key.status())) << wrong_key.status();
  // A body changed after signing.
  Headers h = GetParam().sign(body, clock_.Now(), kSecret);
  std::string tampered = body;
  tampered.insert(tampered.size() - 1, " ");
  auto changed = adapter_->Accept(Delivery(tampered, h));
  if (GetParam().type != "freshdesk")  // a shared secret does not cover the body
    EXPECT_TRUE(absl::IsUnauthenticated(changed.status())) << changed.status();
  // No signature at all.
  auto none = adapter_->Accept(Delivery(body, {}));
  EXPECT_TRUE(absl::IsUnauthenticated(none.status()));
  EXPECT_FALSE(none.status().message().empty());
}

TEST_P(HelpdeskConformance, RefusesAStaleTimestamp) {
  if (!GetParam().signs_timestamp)
    GTEST_SKIP() << GetParam().type
                 << " signs no timestamp; redeliveries are caught by the delivery key";
  auto stale = adapter_->Accept(Signed(Data("created.json"), clock_.Now() - absl::Hours(1)));
  EXPECT_TRUE(absl::IsUnauthenticated(stale.status())) << stale.status();
  EXPECT_TRUE(absl::StrContains(stale.status().message(), "replay window"));
}

TEST_P(HelpdeskConformance, ARedeliveryHasTheSameKey) {
  std::string body = Data("created.json");
  auto first = adapter_->Accept(Signed(body, clock_.Now()));
  clock_.Advance(absl::Seconds(30));  // the helpdesk retries: signed again, later
  auto again = adapter_->Accept(Signed(body, clock_.Now()));
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->delivery_key, again->delivery_key);
}

TEST_P(HelpdeskConformance, AMalformedBodyIsAClearError) {
  for (std::string body : {std::string("{\"ticket\": "), std::string("[1,2,3]"),
                           std::string("{\"unrelated\": true}")}) {
    auto r = adapter_->Accept(Signed(body, clock_.Now()));
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << body << ": " << r.status();
    EXPECT_FALSE(r.status().message().empty());
  }
}

TEST_P(HelpdeskConformance, NormalisesACreatedTicket) {
  auto d = Signed(Data("created.json"), clock_.Now());
  ASSERT_TRUE(adapter_->Accept(d).ok());
  auto n = adapter_->Normalize(d);
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_TRUE(n->event.has_value()) << n->ignored_reason;
  EXPECT_EQ(n->event->type(), v1::TICKET_CREATED);
  const v1::Ticket& t = n->event->ticket();
  EXPECT_EQ(t.ticket_id(), GetParam().created_ticket_id);
  EXPECT_EQ(t.subject(), GetParam().created_subject);
  EXPECT_FALSE(t.body().empty());
  EXPECT_FALSE(absl::StrContains(t.body(), "wrote:")) << "quoted reply kept: " << t.body();
  EXPECT_FALSE(absl::StrContains(t.body(), "<div")) << "HTML kept: " << t.body();
  EXPECT_FALSE(t.requester().id().empty() && t.requester().email().empty());
  EXPECT_FALSE(t.url().empty());
}

TEST_P(HelpdeskConformance, AnUnknownEventIsIgnoredWithAReason) {
  auto d = Signed(Data("unknown_event.json"), clock_.Now());
  ASSERT_TRUE(adapter_->Accept(d).ok());
  auto n = adapter_->Normalize(d);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_FALSE(n->event.has_value());
  EXPECT_FALSE(n->ignored_reason.empty());
}

TEST_P(HelpdeskConformance, WriteBackIsRetriedOn429And5xxHonouringRetryAfter) {
  v1::Classification c;
  c.set_category_id("billing");
  c.set_confidence(0.9);
  for (const char* m : {"PUT", "POST"}) http_.On(m, "", {{429, "{}", {{"retry-after", "7"}}}});
  absl::Status s = adapter_->WriteBack(TicketOf("17"), c, nullptr);
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  ASSERT_TRUE(spi::RetryAfter(s).has_value());
  EXPECT_EQ(*spi::RetryAfter(s), absl::Seconds(7));

  http_.Clear();
  for (const char* m : {"PUT", "POST"})
    http_.On(m, "", {{503, "busy", {{"retry-after", "Sun, 23 Nov 2026 10:30:00 GMT"}}}});
  clock_.Advance(absl::FromUnixSeconds(1795429780) - clock_.Now());  // 2026-11-23T10:29:40Z
  s = adapter_->WriteBack(TicketOf("17"), c, nullptr);
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  ASSERT_TRUE(spi::RetryAfter(s).has_value());
  EXPECT_EQ(*spi::RetryAfter(s), absl::Seconds(20));

  http_.Clear();
  EXPECT_TRUE(adapter_->WriteBack(TicketOf("17"), c, nullptr).ok());
  // Secrets never reach an error.
  http_.On("PUT", "", {{401, "{\"error\":\"Couldn't authenticate you\"}"}});
  http_.On("POST", "", {{401, "{\"error\":\"Couldn't authenticate you\"}"}});
  s = adapter_->WriteBack(TicketOf("17"), c, nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(absl::StrContains(s.ToString(), kToken));
  EXPECT_FALSE(absl::IsUnavailable(s) || absl::IsResourceExhausted(s)) << "not retryable";
}

TEST_P(HelpdeskConformance, NotesAreInternalUnlessAReplyIsAsked) {
  v1::Classification c;
  c.set_category_id("billing");
  c.set_confidence(0.9);
  ASSERT_TRUE(adapter_->WriteBack(TicketOf("17"), c, nullptr).ok());
  ASSERT_TRUE(
      adapter_->PostNote(TicketOf("17"), {"fixed:1:17", "The fix shipped.", false, {}}).ok());
  auto writes = http_.writes();
  ASSERT_FALSE(writes.empty());
  for (const auto& w : writes)
    EXPECT_FALSE(GetParam().is_public_write(w)) << w.method << " " << w.url << " " << w.body;

  http_.Clear();
  ASSERT_TRUE(adapter_->PostNote(TicketOf("17"), {"reply:1:c9", "We fixed it.", true, {}}).ok());
  bool any_public = false;
  for (const auto& w : http_.writes()) any_public |= GetParam().is_public_write(w);
  EXPECT_TRUE(any_public);
}

TEST_P(HelpdeskConformance, ANoteIsWrittenOnceAfterAnUnknownOutcome) {
  // The helpdesk already shows the note (a write whose answer was lost): no second write.
  spi::TicketNote note{"fixed:1:17", "The fix shipped.", false, {}};
  const std::string marker = adapters::NoteMarker(note.idempotency_key);
  json shown = json::array();
  shown.push_back({{"body", marker}, {"html_body", marker}});
  const bool list_answer = GetParam().type == "zammad" || GetParam().type == "freshdesk";
  http_.On(
      "GET", GetParam().notes_read_url,
      {{200, list_answer
                 ? shown.dump()
                 : json{{"comments", shown}, {"items", {{{"id", "1"}}}}, {"count", 1}}.dump()}});
  ASSERT_TRUE(adapter_->PostNote(TicketOf("17"), note).ok());
  for (const auto& w : http_.writes())
    EXPECT_FALSE(absl::StrContains(w.body, adapters::NoteId(note.idempotency_key)))
        << "wrote the note again: " << w.url;
}

TEST_P(HelpdeskConformance, ReconciliationResumesFromItsWatermark) {
  store::SqliteOptions so;
  so.path = dir_.file("debrief.db");
  auto store = store::OpenSqliteStore(so, clock_);
  ASSERT_TRUE(store.ok()) << store.status();
  const std::string dir = absl::StrCat(DEBRIEF_SOURCE_DIR, "/tests/adapters/helpdesk/",
                                       GetParam().testdata, "/testdata");
  http_.On("GET", GetParam().list_url,
           {{200, Data("list_page1.json")}, {200, Data("list_page2.json")}});
  GetParam().listing_extras(http_, dir);
  const absl::Time since = absl::FromUnixSeconds(1793613600);  // 2026-11-02T10:00:00Z
  const std::string cursor = ingress::ReconcileCursor("desk");

  // Interrupted after the first page: its tickets are in the inbox and the cursor is kept.
  auto first = ingress::ListIntoInbox(**store, *adapter_, cursor, since, clock_,
                                      [](const ingress::ListingProgress&) { return false; });
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->stored, 2);
  auto pending = (*store)->PendingDeliveries(0, 100);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  for (const auto& d : *pending) {
    auto n = adapter_->Normalize({d.headers, d.body, d.received_at});
    ASSERT_TRUE(n.ok()) << n.status();
    ASSERT_TRUE(n->event.has_value()) << n->ignored_reason;
    EXPECT_FALSE(n->event->ticket().subject().empty());
  }

  // The next run starts where the first stopped, not from `since`.
  auto second = ingress::ListIntoInbox(**store, *adapter_, cursor, since, clock_);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->caught_up);
  std::vector<std::string> list_urls;
  for (const auto& r : http_.requests())
    if (absl::StrContains(r.url, GetParam().list_url)) list_urls.push_back(r.url);
  ASSERT_EQ(list_urls.size(), 2u);
  EXPECT_TRUE(absl::StrContains(list_urls[1], GetParam().resume_url_part)) << list_urls[1];
  pending = (*store)->PendingDeliveries(0, 100);
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->size(), 3u);
  // The listed ticket's words were fetched where the listing lacks them.
  bool login_loop_has_words = false;
  for (const auto& d : *pending) {
    auto n = adapter_->Normalize({d.headers, d.body, d.received_at});
    if (n.ok() && n->event && n->event->ticket().subject() == "Login loop")
      login_loop_has_words = absl::StrContains(n->event->ticket().body(), "keeps reloading");
  }
  EXPECT_TRUE(login_loop_has_words);

  // Listing the same tickets again adds nothing.
  auto third = ingress::ListIntoInbox(**store, *adapter_, cursor, since, clock_);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->stored, 0);
  (*store)->Close();
}

INSTANTIATE_TEST_SUITE_P(Vendors, HelpdeskConformance, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.type; });

}  // namespace
}  // namespace debrief
