// An adapter's health: what its recording HTTP client and the HTTP front tell it, and the same
// figures in /metrics.
#include "metrics/adapter_health.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mocks/fake_clock.h"
#include "mocks/spi_mocks.h"
#include "outbound/recording_http_client.h"

namespace debrief {
namespace {

using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::Return;
using ::testing::UnorderedElementsAre;

spi::HttpResponse Answer(int status, spi::HttpHeaders headers = {}) {
  spi::HttpResponse r;
  r.status = status;
  r.headers = std::move(headers);
  return r;
}

class AdapterHealthTest : public ::testing::Test {
 protected:
  AdapterHealthTest() { health_.Add("jira"); }
  metrics::Metrics metrics_;
  metrics::AdapterHealth health_{metrics_};
  testing::FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
};

TEST_F(AdapterHealthTest, TheRecorderCountsAnswersRateLimitsAndErrorsWithoutTheQuery) {
  testing::MockHttpClient inner;
  auto http = outbound::NewRecordingHttpClient(inner, health_, "jira", clock_);
  EXPECT_CALL(inner, Send)
      .WillOnce(Return(Answer(201)))
      .WillOnce(Return(Answer(404)))  // "not there" is an answer
      .WillOnce(Return(Answer(429, {{"retry-after", "3"}})))
      .WillOnce(Return(Answer(403, {{"x-ratelimit-remaining", "0"}})))
      .WillOnce(Return(Answer(503)))
      .WillOnce(Return(Answer(401)))
      .WillOnce(Return(absl::UnavailableError("POST https://jira.example/rest: timed out")));
  spi::HttpRequest req;
  req.method = "POST";
  req.url = "https://jira.example/rest/api/2/issue?token=s3cret";
  for (int i = 0; i < 7; ++i) {
    clock_.Advance(absl::Seconds(1));
    auto r = http->Send(req);
    if (i < 6) EXPECT_TRUE(r.ok()) << "the answer is passed on unchanged";
    if (i == 4) EXPECT_EQ(r->status, 503);
  }
  const auto v = health_.Of("jira", clock_.Now());
  EXPECT_EQ(v.calls_ok, 2);
  EXPECT_EQ(v.rate_limit_waits, 2);
  EXPECT_EQ(v.calls_failed, 3);
  EXPECT_EQ(v.last_success, absl::FromUnixSeconds(1'800'000'002));
  EXPECT_EQ(v.last_error_at, clock_.Now());
  EXPECT_THAT(v.last_error, HasSubstr("timed out"));

  // The 401 before it said what it was, with no query (where tokens may travel).
  testing::MockHttpClient again;
  auto http2 = outbound::NewRecordingHttpClient(again, health_, "jira", clock_);
  EXPECT_CALL(again, Send).WillOnce(Return(Answer(401)));
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(http2->Send(req).ok());
  EXPECT_EQ(health_.Of("jira", clock_.Now()).last_error,
            "HTTP 401 from POST https://jira.example/rest/api/2/issue");
  EXPECT_THAT(health_.Of("jira", clock_.Now()).last_error, Not(HasSubstr("s3cret")));

  EXPECT_EQ(metrics_.Value("debrief_adapter_calls_total", {{"adapter", "jira"}, {"outcome", "ok"}}),
            2);
  EXPECT_EQ(metrics_.Value("debrief_adapter_calls_total",
                           {{"adapter", "jira"}, {"outcome", "rate_limited"}}),
            2);
  EXPECT_EQ(
      metrics_.Value("debrief_adapter_calls_total", {{"adapter", "jira"}, {"outcome", "error"}}),
      4);
  EXPECT_EQ(metrics_.Value("debrief_adapter_last_error_timestamp_seconds", {{"adapter", "jira"}}),
            absl::ToUnixSeconds(clock_.Now()));
}

TEST_F(AdapterHealthTest, RefusalsAreThoseOfTheLastHourByReason) {
  const absl::Time t0 = clock_.Now();
  health_.WebhookRefused("jira", "bad_signature", t0);
  health_.WebhookRefused("jira", "bad_signature", t0 + absl::Minutes(30));
  health_.WebhookRefused("jira", "malformed", t0 + absl::Minutes(59));
  health_.WebhookRefused("nobody", "malformed", t0) /* not configured: ignored */;
  EXPECT_THAT(health_.Of("jira", t0 + absl::Minutes(59)).refusals_last_hour,
              UnorderedElementsAre(Pair("bad_signature", 2), Pair("malformed", 1)));
  EXPECT_THAT(health_.Of("jira", t0 + absl::Minutes(61)).refusals_last_hour,
              UnorderedElementsAre(Pair("bad_signature", 1), Pair("malformed", 1)));
  EXPECT_THAT(health_.Of("jira", t0 + absl::Hours(3)).refusals_last_hour,
              Eq(std::map<std::string, int64_t>{}))
      << "a minute's slot is reused, not added to, an hour later";
  health_.WebhookRefused("jira", "malformed", t0 + absl::Hours(3));
  EXPECT_THAT(health_.Of("jira", t0 + absl::Hours(3)).refusals_last_hour,
              UnorderedElementsAre(Pair("malformed", 1)));
}

TEST_F(AdapterHealthTest, WebhooksAndListingsAreStampedAndExported) {
  EXPECT_EQ(health_.Of("jira", clock_.Now()).last_webhook, absl::InfinitePast());
  EXPECT_EQ(metrics_.Value("debrief_adapter_last_webhook_timestamp_seconds", {{"adapter", "jira"}}),
            0)
      << "a configured adapter's series exist from the start";
  health_.WebhookAccepted("jira", clock_.Now());
  health_.WebhookAccepted("jira", clock_.Now() - absl::Minutes(1));  // a late thread
  EXPECT_EQ(health_.Of("jira", clock_.Now()).last_webhook, clock_.Now());
  health_.Reconciled("jira", clock_.Now(), clock_.Now() + absl::Minutes(5));
  health_.Reconciled("jira", absl::InfinitePast(), clock_.Now() + absl::Minutes(10));  // failed
  const auto v = health_.Of("jira", clock_.Now());
  EXPECT_EQ(v.reconciled_to, clock_.Now()) << "a failed pass keeps the watermark";
  EXPECT_EQ(v.next_reconcile, clock_.Now() + absl::Minutes(10));
  EXPECT_EQ(metrics_.Value("debrief_reconcile_next_run_timestamp_seconds", {{"adapter", "jira"}}),
            absl::ToUnixSeconds(clock_.Now() + absl::Minutes(10)));
}

}  // namespace
}  // namespace debrief
