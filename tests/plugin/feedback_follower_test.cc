// Replicas learning each other's corrections (server/feedback_follower.h), on a real store: the
// classifier is a recording one, so the test sees exactly what was taught and how often.
#include "server/feedback_follower.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>

#include "mocks/spi_mocks.h"
#include "store/sqlite_store.h"

namespace debrief::server {
namespace {

using ::testing::ElementsAre;

// Remembers every ticket it is taught, as "ticket_id:category".
class RecordingClassifier : public classify::Classifier {
 public:
  v1::Classification Classify(const v1::Ticket&) const override { return {}; }
  absl::Status Learn(const v1::Ticket& ticket, const std::string& category_id) override {
    std::lock_guard<std::mutex> l(mu_);
    taught_.push_back(ticket.ticket_id() + ":" + category_id);
    return absl::OkStatus();
  }
  std::vector<std::string> Taught() {
    std::lock_guard<std::mutex> l(mu_);
    return taught_;
  }
  void Forget() {
    std::lock_guard<std::mutex> l(mu_);
    taught_.clear();
  }
  std::string name() const override { return "recording"; }
  absl::Status AddCategory(const v1::Category&, const std::vector<std::string>&) override {
    return absl::OkStatus();
  }

 private:
  std::mutex mu_;  // the follower's thread teaches while the test reads
  std::vector<std::string> taught_;
};

class FeedbackFollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore({.path = dir_.file("d.db")}, clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  // An agent's correction of ticket `id`, as any replica records it; returns its id.
  int64_t Correct(const std::string& id, const std::string& category) {
    int64_t feedback = 0;
    EXPECT_TRUE(store_
                    ->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
                      spi::TicketRecord r;
                      r.ticket.set_helpdesk_id("support");
                      r.ticket.set_ticket_id(id);
                      r.ticket.set_subject("subject " + id);
                      r.first_seen = clock_.Now();
                      if (auto s = tx.PutTicket(r); !s.ok()) return s;
                      auto f = tx.RecordFeedback("support", id, "", category, "ann", clock_.Now());
                      if (!f.ok()) return f.status();
                      feedback = *f;
                      return absl::OkStatus();
                    })
                    .ok());
    return feedback;
  }

  static v1::Ticket Ticket(const std::string& id) {
    v1::Ticket t;
    t.set_helpdesk_id("support");
    t.set_ticket_id(id);
    return t;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<spi::Store> store_;
  RecordingClassifier classifier_;
};

TEST_F(FeedbackFollowerTest, EachCorrectionIsLearnedOnceWhicheverReplicaMadeIt) {
  const int64_t before = Correct("0", "billing");  // taught at start-up already
  FeedbackFollower follower(*store_, classifier_, absl::Hours(1));
  follower.Start(before);
  const int64_t mine = Correct("1", "billing");
  ASSERT_TRUE(follower.LearnNow(mine, Ticket("1"), "billing").ok());
  Correct("2", "login");  // another replica's
  auto n = follower.CatchUp();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1);
  EXPECT_THAT(classifier_.Taught(), ElementsAre("1:billing", "2:login"));
  // Read already: this replica's own correction, read from the table before its own request
  // came back to teach it, is not taught twice either.
  const int64_t late = Correct("3", "shipping");
  ASSERT_TRUE(follower.CatchUp().ok());
  ASSERT_TRUE(follower.LearnNow(late, Ticket("3"), "shipping").ok());
  ASSERT_TRUE(follower.CatchUp().ok());
  EXPECT_THAT(classifier_.Taught(), ElementsAre("1:billing", "2:login", "3:shipping"));
}

TEST_F(FeedbackFollowerTest, AClassifierTaughtAfreshReadsTheCorrectionsAfterItsOwn) {
  FeedbackFollower follower(*store_, classifier_, absl::Hours(1));
  follower.Start(0);
  const int64_t first = Correct("1", "billing");
  Correct("2", "login");
  ASSERT_TRUE(follower.CatchUp().ok());
  EXPECT_THAT(classifier_.Taught(), ElementsAre("1:billing", "2:login"));
  // A reload taught a new classifier through the first correction only; meanwhile this
  // replica took a correction and taught it to the classifier going out.
  const int64_t during = Correct("3", "shipping");
  ASSERT_TRUE(follower.LearnNow(during, Ticket("3"), "shipping").ok());
  follower.Replace([&] { classifier_.Forget(); }, first);
  ASSERT_TRUE(follower.CatchUp().ok());
  EXPECT_THAT(classifier_.Taught(), ElementsAre("2:login", "3:shipping"));
}

TEST_F(FeedbackFollowerTest, ItsThreadLearnsAnotherReplicasCorrectionWithinItsInterval) {
  FeedbackFollower follower(*store_, classifier_, absl::Milliseconds(50));
  follower.Start(0);
  Correct("1", "billing");
  for (int i = 0; i < 100; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
    if (!classifier_.Taught().empty()) break;
  }
  follower.Stop();
  EXPECT_THAT(classifier_.Taught(), ElementsAre("1:billing"));
}

}  // namespace
}  // namespace debrief::server
