// The jobs' lease between replicas (server/job_lease.h), on a real store: one holder at a time,
// renewed while it runs, given up at once on Stop, taken over after it lapses.
#include "server/job_lease.h"

#include <gtest/gtest.h>

#include "mocks/spi_mocks.h"
#include "store/sqlite_store.h"

namespace debrief::server {
namespace {

class JobLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore({.path = dir_.file("d.db")}, clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  // Polls until pred holds, for at most `timeout`.
  template <typename Pred>
  static bool Eventually(Pred pred, absl::Duration timeout) {
    const absl::Time until = absl::Now() + timeout;
    while (absl::Now() < until) {
      if (pred()) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return pred();
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<spi::Store> store_;
};

TEST_F(JobLeaseTest, OneReplicaHoldsItAndAnotherTakesItOverWhenItStops) {
  JobLease a(*store_, clock_, "a", absl::Seconds(3));
  JobLease b(*store_, clock_, "b", absl::Seconds(3));
  a.Start();
  b.Start();
  EXPECT_TRUE(a.Held());
  EXPECT_FALSE(b.Held());
  // Renewed (every second): still the first one's once the lease it took first has lapsed.
  absl::SleepFor(absl::Milliseconds(1100));
  clock_.Advance(absl::Seconds(1.5));
  absl::SleepFor(absl::Milliseconds(1100));
  clock_.Advance(absl::Seconds(1.5));
  absl::SleepFor(absl::Milliseconds(1100));
  EXPECT_TRUE(a.Held());
  EXPECT_FALSE(b.Held());
  // Given up: the other replica's next renewal (a third of the lease) takes it.
  a.Stop();
  EXPECT_FALSE(a.Held());
  EXPECT_TRUE(Eventually([&] { return b.Held(); }, absl::Seconds(3)));
}

TEST_F(JobLeaseTest, AReplicaThatStopsRenewingLosesItAndAnotherTakesItWhenItLapses) {
  JobLease b(*store_, clock_, "b", absl::Seconds(3));
  // A replica that died holding the lease: its row stays until it lapses.
  ASSERT_TRUE(store_
                  ->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
                    auto h = tx.HoldLease(JobLease::kName, "dead", clock_.Now(),
                                          clock_.Now() + absl::Seconds(3));
                    if (!h.ok()) return h.status();
                    EXPECT_TRUE(*h);
                    return absl::OkStatus();
                  })
                  .ok());
  b.Start();
  EXPECT_FALSE(b.Held());
  clock_.Advance(absl::Seconds(4));
  EXPECT_TRUE(Eventually([&] { return b.Held(); }, absl::Seconds(3)));
}

}  // namespace
}  // namespace debrief::server
