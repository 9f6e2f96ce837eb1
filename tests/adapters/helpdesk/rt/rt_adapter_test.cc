// Request Tracker specifics the conformance suite does not cover: how the write-back reads
// RT's answers. The answers are those a real RT 5.0.3 gave (tests/e2e drives one).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "config/config.h"
#include "mocks/fake_clock.h"
#include "mocks/scripted_http.h"
#include "mocks/spi_mocks.h"
#include "register.h"

namespace debrief {
namespace {

using json = nlohmann::json;
using testing::FakeClock;
using testing::ScriptedHttp;
using testing::TempDir;

class RtWriteBack : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("RT_TEST_TOKEN", "rt-test-token", 1);
    setenv("RT_TEST_SECRET", "rt-test-secret-0123456789", 1);
    auto c = config::ParseConfig(
        "helpdesks:\n  - id: rt\n    type: rt\n    settings:\n      url: http://rt.test\n"
        "      token: {env: RT_TEST_TOKEN}\n      webhook_secret: {env: RT_TEST_SECRET}\n",
        dir_.path());
    ASSERT_TRUE(c.ok()) << c.status();
    adapters::RegisterBuiltinAdapters(registry_);
    spi::AdapterContext ctx{http_, clock_, dir_.path()};
    auto a = registry_.helpdesk("rt")->Create(c->helpdesks(0), ctx);
    ASSERT_TRUE(a.ok()) << a.status();
    adapter_ = std::move(*a);
    ticket_.set_helpdesk_id("rt");
    ticket_.set_ticket_id("58");
    tagged_.set_category_id("billing-charge");
    tagged_.set_confidence(0.9);
    http_.On("GET", "/history?query=", {{200, R"({"count":0,"items":[],"total":0})"}});
  }

  TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1795438800)};
  ScriptedHttp http_;
  spi::AdapterRegistry registry_;
  std::unique_ptr<spi::HelpdeskAdapter> adapter_;
  v1::Ticket ticket_;
  v1::Classification tagged_;
};

TEST_F(RtWriteBack, SetsTheFieldWithTheCommentInOneRequest) {
  http_.On("POST", "/ticket/58/comment",
           {{201, R"(["Comments added","Root cause billing-charge added"])"}});
  ASSERT_TRUE(adapter_->WriteBack(ticket_, tagged_, nullptr).ok());
  auto writes = http_.writes();
  ASSERT_EQ(writes.size(), 1u) << "no separate PUT: RT spends a bcrypt on every call";
  json body = json::parse(writes[0].body);
  EXPECT_EQ(body["CustomFields"]["Root cause"], "billing-charge");
  EXPECT_EQ(http_.requests().size(), 2u) << "the note lookup, then the comment";
}

TEST_F(RtWriteBack, AFieldRtIgnoredSilentlyIsAClearError) {
  // RT 5 answers a field that is not applied to the queue with no message at all.
  http_.On("POST", "/ticket/58/comment", {{201, R"(["Comments added"])"}});
  http_.On("GET", "/ticket/58",
           {{200, R"({"id":58,"CustomFields":[{"name":"Other","values":["x"]}]})"}});
  absl::Status s = adapter_->WriteBack(ticket_, tagged_, nullptr);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "Root cause")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "deploy/apps/rt/install.sh")) << s;
  EXPECT_FALSE(absl::StrContains(s.ToString(), "rt-test-token"));
}

TEST_F(RtWriteBack, AFieldThatHadTheValueAlreadyIsFine) {
  // A later note (the task got linked) sets the same value: RT says nothing of the field.
  http_.On("POST", "/ticket/58/comment", {{201, R"(["Comments added"])"}});
  http_.On(
      "GET", "/ticket/58",
      {{200, R"({"id":58,"CustomFields":[{"name":"Root cause","values":["billing-charge"]}]})"}});
  EXPECT_TRUE(adapter_->WriteBack(ticket_, tagged_, nullptr).ok());
}

TEST_F(RtWriteBack, AfterALostAnswerOnlyTheFieldIsSet) {
  http_.Clear();
  http_.On("GET", "/history?query=", {{200, R"({"count":1,"items":[{"id":"901"}],"total":1})"}});
  http_.On("PUT", "/ticket/58", {{200, R"(["Root cause billing-charge added"])"}});
  ASSERT_TRUE(adapter_->WriteBack(ticket_, tagged_, nullptr).ok());
  auto writes = http_.writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].method, "PUT") << "the note is not written twice";
}

TEST_F(RtWriteBack, NeedsReviewWritesTheNoteAndLeavesTheField) {
  tagged_.set_needs_review(true);
  http_.On("POST", "/ticket/58/comment", {{201, R"(["Comments added"])"}});
  ASSERT_TRUE(adapter_->WriteBack(ticket_, tagged_, nullptr).ok());
  auto writes = http_.writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_FALSE(json::parse(writes[0].body).contains("CustomFields"));
}

}  // namespace
}  // namespace debrief
