#include "helpdesk/generic/generic_adapter.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "config/config.h"
#include "mocks/spi_mocks.h"

namespace debrief::adapters::generic {
namespace {

using ::testing::_;
using ::testing::Return;
using ::testing::StrictMock;

constexpr char kSecret[] = "it's a secret to everybody";

// The golden HMAC comes from the openssl command line, not from our code.
std::string OpensslHmacHex(const std::string& message) {
  testing::TempDir dir;
  std::ofstream(dir.file("m"), std::ios::binary) << message;
  std::string cmd =
      absl::StrCat("openssl dgst -sha256 -hmac \"", kSecret, "\" -hex < ", dir.file("m"));
  FILE* p = popen(cmd.c_str(), "r");
  char buf[256] = {0};
  size_t n = fread(buf, 1, sizeof(buf) - 1, p);
  pclose(p);
  std::string out(buf, n);
  // "SHA2-256(stdin)= <hex>\n"
  out = out.substr(out.rfind(' ') + 1);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

const char* kBody = R"({"event":"ticket.created","ticket":{"id":1234,"subject":"Charged twice",
  "description":"<p>I was charged twice.</p>\n\nOn Mon, 1 Jan 2026, Support wrote:\n> old text",
  "status":"new","channel":"email","tags":["vip"],
  "requester":{"id":"c-9","name":"Ann Lee","email":"ann@example.com"},
  "created_at":"2026-11-23T08:00:00Z","updated_at":"2026-11-23T08:05:00Z"}})";

class GenericHelpdeskTest : public ::testing::Test {
 protected:
  std::unique_ptr<spi::HelpdeskAdapter> Make(const std::string& settings_yaml) {
    setenv("GENERIC_TEST_SECRET", kSecret, 1);
    auto c = config::ParseConfig(
        absl::StrCat("helpdesks:\n  - id: support\n    type: generic\n    settings:\n",
                     settings_yaml),
        dir_.path());
    EXPECT_TRUE(c.ok()) << c.status();
    spi::AdapterRegistry reg;
    RegisterGenericHelpdesk(reg);
    spi::AdapterContext ctx{http_, clock_, dir_.path()};
    auto a = reg.helpdesk("generic")->Create(c->helpdesks(0), ctx);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? std::move(*a) : nullptr;
  }

  spi::InboundDelivery Signed(const std::string& body, const std::string& sig,
                              const std::string& ts = "") {
    spi::InboundDelivery d;
    d.body = body;
    d.received_at = clock_.Now();
    d.headers["x-debrief-signature"] = sig;
    if (!ts.empty()) d.headers["x-debrief-timestamp"] = ts;
    return d;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  StrictMock<testing::MockHttpClient> http_;
  const std::string basic_ = "      secret: {env: GENERIC_TEST_SECRET}\n";
  const std::string stamped_ = basic_ + "      timestamp_header: X-Debrief-Timestamp\n";
};

TEST_F(GenericHelpdeskTest, AcceptsASignatureComputedByOpenssl) {
  auto a = Make(basic_);
  auto r = a->Accept(Signed(kBody, OpensslHmacHex(kBody)));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->delivery_key.size(), 64u);  // SHA-256 of the body without a delivery id header
}

TEST_F(GenericHelpdeskTest, RefusesMissingOrWrongSignatures) {
  auto a = Make(basic_);
  spi::InboundDelivery none;
  none.body = kBody;
  EXPECT_TRUE(absl::IsUnauthenticated(a->Accept(none).status()));
  std::string good = OpensslHmacHex(kBody);
  std::string bad = good;
  bad[0] = bad[0] == 'a' ? 'b' : 'a';
  EXPECT_TRUE(absl::IsUnauthenticated(a->Accept(Signed(kBody, bad)).status()));
  EXPECT_TRUE(absl::IsUnauthenticated(a->Accept(Signed(kBody, "zz")).status()));
  // The right signature over a different body.
  EXPECT_TRUE(absl::IsUnauthenticated(a->Accept(Signed(std::string(kBody) + " ", good)).status()));
}

TEST_F(GenericHelpdeskTest, SignedTimestampsOutsideTheWindowAreRefused) {
  auto a = Make(stamped_);
  std::string now = std::to_string(absl::ToUnixSeconds(clock_.Now()));
  EXPECT_TRUE(a->Accept(Signed(kBody, OpensslHmacHex(now + "." + kBody), now)).ok());
  std::string old = std::to_string(absl::ToUnixSeconds(clock_.Now() - absl::Minutes(6)));
  auto stale = a->Accept(Signed(kBody, OpensslHmacHex(old + "." + kBody), old));
  EXPECT_TRUE(absl::IsUnauthenticated(stale.status()));
  EXPECT_NE(stale.status().message().find("replay window"), std::string::npos);
  // A valid body signature without the timestamp in it does not pass.
  EXPECT_FALSE(a->Accept(Signed(kBody, OpensslHmacHex(kBody), now)).ok());
}

TEST_F(GenericHelpdeskTest, MalformedBodiesAreAClearError) {
  auto a = Make(basic_);
  std::string not_json = "{\"ticket\":";
  auto r = a->Accept(Signed(not_json, OpensslHmacHex(not_json)));
  EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
  std::string no_id = R"({"ticket":{"subject":"x"}})";
  r = a->Accept(Signed(no_id, OpensslHmacHex(no_id)));
  EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_NE(r.status().message().find("/ticket/id"), std::string::npos);
}

TEST_F(GenericHelpdeskTest, SignDeliveryProducesWhatAcceptAccepts) {
  auto a = Make(stamped_ + "      delivery_id_header: X-Debrief-Delivery\n");
  auto h = a->SignDelivery(kBody, clock_.Now());
  ASSERT_TRUE(h.ok());
  spi::InboundDelivery d;
  d.body = kBody;
  d.received_at = clock_.Now();
  d.headers = *h;
  auto r = a->Accept(d);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->delivery_key, h->at("x-debrief-delivery"));
}

TEST_F(GenericHelpdeskTest, NormalizesTheTicketAndKeepsOnlyTheCustomersWords) {
  auto a = Make(basic_);
  spi::InboundDelivery d;
  d.body = kBody;
  auto r = a->Normalize(d);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->event.has_value());
  const v1::Ticket& t = r->event->ticket();
  EXPECT_EQ(r->event->type(), v1::TICKET_CREATED);
  EXPECT_EQ(t.ticket_id(), "1234");
  EXPECT_EQ(t.subject(), "Charged twice");
  EXPECT_EQ(t.body(), "I was charged twice.");
  EXPECT_EQ(t.requester().email(), "ann@example.com");
  EXPECT_EQ(t.tags(0), "vip");
  EXPECT_EQ(t.created_at().seconds(), 1795420800);
}

TEST_F(GenericHelpdeskTest, UnknownEventsAreIgnoredWithAReason) {
  auto a = Make(basic_ + "      events: {ticket.merged: ignore}\n");
  spi::InboundDelivery d;
  std::string odd = R"({"event":"user.birthday","ticket":{"id":1}})";
  d.body = odd;
  auto r = a->Normalize(d);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->event.has_value());
  EXPECT_NE(r->ignored_reason.find("user.birthday"), std::string::npos);
  std::string merged = R"({"event":"ticket.merged","ticket":{"id":1}})";
  d.body = merged;
  EXPECT_FALSE(a->Normalize(d)->event.has_value());
  std::string solved = R"({"event":"ticket.updated","ticket":{"id":1,"status":"Solved"}})";
  d.body = solved;
  EXPECT_EQ(a->Normalize(d)->event->type(), v1::TICKET_SOLVED);
}

TEST_F(GenericHelpdeskTest, WithoutAWriteBackUrlNothingIsSent) {
  auto a = Make(basic_);  // StrictMock: any HTTP call fails the test
  v1::Ticket t;
  t.set_ticket_id("1");
  EXPECT_TRUE(a->WriteBack(t, v1::Classification(), nullptr).ok());
}

TEST_F(GenericHelpdeskTest, WriteBackIsAnInternalNoteAndHonoursRetryAfter) {
  setenv("GENERIC_TEST_TOKEN", "tok-123", 1);
  auto a = Make(basic_ +
                "      write_back: {url: \"https://hd.example/api/tickets/{ticket_id}/notes\", "
                "bearer_token: {env: GENERIC_TEST_TOKEN}}\n");
  v1::Ticket t;
  t.set_ticket_id("77");
  v1::Classification c;
  c.set_category_id("billing");
  v1::ImprovementTask task;
  task.set_id(3);
  task.set_external_key("DEBRIEF-3");
  spi::HttpRequest seen;
  EXPECT_CALL(http_, Send(_))
      .WillOnce([&](const spi::HttpRequest& r) {
        seen = r;
        return spi::HttpResponse{429, {{"retry-after", "17"}}, ""};
      })
      .WillOnce(Return(spi::HttpResponse{503, {}, ""}))
      .WillOnce(Return(spi::HttpResponse{404, {}, ""}))
      .WillOnce(Return(spi::HttpResponse{201, {}, ""}));
  absl::Status s = a->WriteBack(t, c, &task);
  EXPECT_TRUE(absl::IsResourceExhausted(s));
  EXPECT_EQ(spi::RetryAfter(s), absl::Seconds(17));
  EXPECT_EQ(seen.url, "https://hd.example/api/tickets/77/notes");
  auto body = nlohmann::json::parse(seen.body);
  EXPECT_EQ(body["internal"], true);
  EXPECT_EQ(body["category"], "billing");
  EXPECT_NE(body["note"].get<std::string>().find("DEBRIEF-3"), std::string::npos);
  bool auth = false;
  for (auto& [k, v] : seen.headers) auth |= (k == "Authorization" && v == "Bearer tok-123");
  EXPECT_TRUE(auth);
  EXPECT_TRUE(absl::IsUnavailable(a->WriteBack(t, c, &task)));
  EXPECT_TRUE(absl::IsNotFound(a->WriteBack(t, c, &task)));  // not retried
  EXPECT_TRUE(a->WriteBack(t, c, &task).ok());
}

TEST_F(GenericHelpdeskTest, NotesAreInternalUnlessAReplyAndCarryTheirKeyAndTags) {
  auto a = Make(basic_ + "      write_back: {url: \"https://hd.example/t/{ticket_id}/notes\"}\n");
  v1::Ticket t;
  t.set_ticket_id("9");
  std::vector<spi::HttpRequest> seen;
  EXPECT_CALL(http_, Send(_)).Times(2).WillRepeatedly([&](const spi::HttpRequest& r) {
    seen.push_back(r);
    return spi::HttpResponse{200, {}, ""};
  });
  spi::TicketNote note;
  note.idempotency_key = "debrief-fixed-3-9";
  note.body = "Fixed";
  note.add_tags = {"debrief-fixed"};
  ASSERT_TRUE(a->PostNote(t, note).ok());
  note.idempotency_key = "debrief-reply-3-support/c1";
  note.is_public = true;
  note.add_tags.clear();
  ASSERT_TRUE(a->PostNote(t, note).ok());
  ASSERT_EQ(seen.size(), 2u);
  auto internal = nlohmann::json::parse(seen[0].body);
  EXPECT_EQ(internal["internal"], true);
  EXPECT_EQ(internal["public"], false);
  EXPECT_EQ(internal["tags"], nlohmann::json::array({"debrief-fixed"}));
  auto reply = nlohmann::json::parse(seen[1].body);
  EXPECT_EQ(reply["public"], true);
  EXPECT_EQ(reply["internal"], false);
  auto key = [](const spi::HttpRequest& r) {
    for (auto& [k, v] : r.headers)
      if (k == "Idempotency-Key") return v;
    return std::string();
  };
  EXPECT_EQ(key(seen[0]), "debrief-fixed-3-9");
  EXPECT_EQ(key(seen[1]), "debrief-reply-3-support/c1");
  EXPECT_EQ(seen[0].url, "https://hd.example/t/9/notes");
}

TEST_F(GenericHelpdeskTest, ConfigErrorsAreClear) {
  auto c = config::ParseConfig("helpdesks: [{id: s, type: generic, settings: {secert: x}}]",
                               dir_.path());
  ASSERT_TRUE(c.ok());
  spi::AdapterRegistry reg;
  RegisterGenericHelpdesk(reg);
  spi::AdapterContext ctx{http_, clock_, dir_.path()};
  auto a = reg.helpdesk("generic")->Create(c->helpdesks(0), ctx);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("secert"), std::string::npos) << a.status();
}

// An id is the literal digits of an integer, or text: the largest 64-bit integer keeps its
// digits (it once became ticket -1), and a float or a boolean is refused (1e2 once became
// ticket "100.0").
TEST_F(GenericHelpdeskTest, TicketIdsAreTextOrTheDigitsOfAnInteger) {
  auto a = Make(basic_);
  auto with_id = [](const std::string& id) {
    return absl::StrCat(R"({"event":"ticket.created","ticket":{"id":)", id,
                        R"(,"subject":"s","description":"d"}})");
  };
  for (const std::string id : {"18446744073709551615", "-9223372036854775808", "\"A-17\""}) {
    const std::string body = with_id(id);
    auto accepted = a->Accept(Signed(body, OpensslHmacHex(body)));
    ASSERT_TRUE(accepted.ok()) << id << ": " << accepted.status();
    auto n = a->Normalize(Signed(body, ""));
    ASSERT_TRUE(n.ok()) << n.status();
    std::string want = id;
    if (want.front() == '"') want = want.substr(1, want.size() - 2);
    EXPECT_EQ(n->event->ticket().ticket_id(), want);
  }
  for (const std::string id : {"1e2", "100.0", "true", "null", "{}", "18446744073709551616"}) {
    const std::string body = with_id(id);
    auto accepted = a->Accept(Signed(body, OpensslHmacHex(body)));
    EXPECT_TRUE(absl::IsInvalidArgument(accepted.status())) << id << ": " << accepted.status();
    EXPECT_NE(accepted.status().message().find("digits of an integer"), std::string::npos)
        << accepted.status();
  }
}

// A signature over a timestamp makes each sending unique: the delivery carries a replay key,
// the same for the same signed message however the signature is spelled.
TEST_F(GenericHelpdeskTest, ATimestampedSignatureGivesAReplayKey) {
  auto a = Make(stamped_);
  const std::string ts = std::to_string(absl::ToUnixSeconds(clock_.Now()));
  const std::string sig = OpensslHmacHex(ts + "." + kBody);
  auto first = a->Accept(Signed(kBody, sig, ts));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->replay_key.empty());
  std::string upper = sig;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto again = a->Accept(Signed(kBody, upper, ts));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->replay_key, first->replay_key);
  // Without a timestamp a resend cannot be told from a new sending: no replay key.
  auto plain = Make(basic_);
  EXPECT_TRUE(plain->Accept(Signed(kBody, OpensslHmacHex(kBody)))->replay_key.empty());
}

}  // namespace
}  // namespace debrief::adapters::generic
