// Fault drill for the listings (reconciliation and backfill): the helpdesk goes down in the
// middle of one. The next run resumes at the page the listing was on, from the cursor stored
// after each durable page: nothing is listed twice, nothing is missed.
#include "ingress/reconciler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "debrief/spi/status.h"
#include "mocks/spi_mocks.h"
#include "store/sqlite_store.h"

namespace debrief::ingress {
namespace {

using ::testing::NiceMock;
using ::testing::ReturnRef;

// A helpdesk holding 1,000 tickets, listed 50 to a page; it answers 503 to the calls numbered
// in [down_from, down_to) (counting from 1), as a helpdesk restarting for an upgrade would.
class ListedHelpdesk : public NiceMock<testing::MockHelpdeskAdapter> {
 public:
  static constexpr int kTickets = 1000;
  static constexpr int kPage = 50;

  ListedHelpdesk() { ON_CALL(*this, id()).WillByDefault(ReturnRef(id_)); }
  void Down(int from, int to) { down_from_ = from, down_to_ = to; }
  // The call numbered `call` is refused with 429 and a Retry-After of `wait`.
  void RateLimit(int call, absl::Duration wait) { limited_call_ = call, retry_after_ = wait; }

  absl::StatusOr<spi::TicketPage> ListTickets(const std::string& cursor,
                                              absl::Time since) override {
    (void)since;
    ++calls_;
    if (calls_ >= down_from_ && calls_ < down_to_)
      return absl::UnavailableError("HTTP 503 Service Unavailable");
    if (calls_ == limited_call_)
      return spi::WithRetryAfter(absl::ResourceExhaustedError("HTTP 429 Too Many Requests"),
                                 retry_after_);
    int page = 0;
    if (!cursor.empty() && !absl::SimpleAtoi(cursor, &page))
      return absl::InvalidArgumentError("bad cursor");
    spi::TicketPage out;
    for (int i = page * kPage; i < (page + 1) * kPage && i < kTickets; ++i) {
      spi::ListedDelivery& d = out.deliveries.emplace_back();
      d.delivery_key = absl::StrCat("ticket-", i, "@1795000000");
      d.body = absl::StrCat(R"({"id":)", i, "}");
      ++served_[i];
    }
    out.more = (page + 1) * kPage < kTickets;
    out.next_cursor = out.more ? absl::StrCat(page + 1) : absl::StrCat(page);
    out.total = kTickets;
    return out;
  }

  int calls() const { return calls_; }
  // Tickets the helpdesk sent more than once, and those it never sent.
  int served_twice() const {
    int n = 0;
    for (const auto& [i, times] : served_) n += times > 1;
    return n;
  }
  int never_served() const { return kTickets - static_cast<int>(served_.size()); }

 private:
  std::string id_ = "support";
  int calls_ = 0, down_from_ = 0, down_to_ = 0, limited_call_ = 0;
  absl::Duration retry_after_;
  std::map<int, int> served_;
};

class ListingDrill : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore({.path = dir_.file("d.db")}, clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  // The distinct deliveries in the inbox.
  size_t Inbox() {
    auto pending = store_->PendingDeliveries(0, 100000);
    EXPECT_TRUE(pending.ok());
    std::set<std::string> keys;
    for (const auto& d : *pending) keys.insert(d.delivery_key);
    EXPECT_EQ(keys.size(), pending->size()) << "a ticket is in the inbox twice";
    return keys.size();
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<spi::Store> store_;
  ListedHelpdesk helpdesk_;
};

TEST_F(ListingDrill, AHelpdeskDownDuringReconciliationResumesFromTheWatermark) {
  Reconciler r(*store_, {{"support", &helpdesk_}}, clock_, {.max_pages = 50});
  helpdesk_.Down(8, 11);  // the 8th listing call fails; so do the two retries after it
  EXPECT_FALSE(r.RunOnce().ok());
  EXPECT_EQ(Inbox(), 7u * ListedHelpdesk::kPage) << "the pages before the outage are kept";
  EXPECT_EQ(testing::ReadCursor(*store_, ReconcileCursor("support")), "7");
  for (int i = 0; i < 2; ++i) {
    clock_.Advance(absl::Minutes(5));
    EXPECT_FALSE(r.RunOnce().ok());  // still down: nothing is listed, the watermark stays
  }
  EXPECT_EQ(testing::ReadCursor(*store_, ReconcileCursor("support")), "7");
  clock_.Advance(absl::Minutes(5));
  auto stored = r.RunOnce();
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(*stored, ListedHelpdesk::kTickets - 7 * ListedHelpdesk::kPage);
  EXPECT_EQ(Inbox(), static_cast<size_t>(ListedHelpdesk::kTickets));
  EXPECT_EQ(helpdesk_.served_twice(), 0);
  EXPECT_EQ(helpdesk_.never_served(), 0);
  // 20 pages listed once each, plus the three refused calls.
  EXPECT_EQ(helpdesk_.calls(), 20 + 3);
  std::printf(
      "[drill] helpdesk down during reconciliation (3 calls refused): %d tickets listed, "
      "0 twice, resumed at page 8 of 20\n",
      ListedHelpdesk::kTickets);
}

// A rate limit (429, Retry-After two minutes) is waited out; the clock set back an hour during
// the wait restarts it from the new time instead of adding the hour to it.
TEST_F(ListingDrill, ARateLimitIsWaitedOutAndAClockSetBackDoesNotProlongIt) {
  Reconciler r(*store_, {{"support", &helpdesk_}}, clock_, {.max_pages = 50});
  helpdesk_.RateLimit(3, absl::Minutes(2));
  EXPECT_FALSE(r.RunOnce().ok());
  EXPECT_EQ(Inbox(), 2u * ListedHelpdesk::kPage);
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(r.RunOnce().value_or(-1), 0);
  EXPECT_EQ(helpdesk_.calls(), 3) << "asked again inside its Retry-After";
  clock_.Advance(-absl::Hours(1));
  EXPECT_EQ(r.RunOnce().value_or(-1), 0);
  EXPECT_EQ(helpdesk_.calls(), 3) << "asked again inside its Retry-After";
  clock_.Advance(absl::Minutes(2) + absl::Seconds(1));
  auto stored = r.RunOnce();
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(*stored, ListedHelpdesk::kTickets - 2 * ListedHelpdesk::kPage);
  EXPECT_EQ(Inbox(), static_cast<size_t>(ListedHelpdesk::kTickets));
  EXPECT_EQ(helpdesk_.served_twice(), 0);
  std::printf(
      "[drill] helpdesk rate limit (Retry-After 2 min) with the clock set back 1 h during the "
      "wait: listing resumed 2 min after the step, %d tickets, 0 twice\n",
      ListedHelpdesk::kTickets);
}

TEST_F(ListingDrill, AHelpdeskDownDuringBackfillResumesWhereItStopped) {
  const absl::Time since = clock_.Now() - absl::Hours(24 * 365);
  const std::string cursor = BackfillCursor("support", since);
  helpdesk_.Down(13, 14);
  auto first = ListIntoInbox(*store_, helpdesk_, cursor, since, clock_);
  ASSERT_FALSE(first.ok());
  EXPECT_TRUE(absl::IsUnavailable(first.status())) << first.status();
  EXPECT_EQ(Inbox(), 12u * ListedHelpdesk::kPage);
  // debriefd was restarted meanwhile: a new listing reads the cursor from the store.
  auto second = ListIntoInbox(*store_, helpdesk_, cursor, since, clock_);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->caught_up);
  EXPECT_EQ(second->stored, ListedHelpdesk::kTickets - 12 * ListedHelpdesk::kPage);
  EXPECT_EQ(second->listed, second->stored) << "a ticket was listed again";
  EXPECT_EQ(Inbox(), static_cast<size_t>(ListedHelpdesk::kTickets));
  EXPECT_EQ(helpdesk_.served_twice(), 0);
  EXPECT_EQ(helpdesk_.never_served(), 0);
  std::printf(
      "[drill] helpdesk down during backfill: %d tickets listed, 0 twice, resumed at page "
      "13 of 20\n",
      ListedHelpdesk::kTickets);
}

}  // namespace
}  // namespace debrief::ingress
