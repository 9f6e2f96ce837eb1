#include "classify/keyword_classifier.h"

#include <gtest/gtest.h>

#include "classify/text.h"
#include "config/config.h"
#include "mocks/spi_mocks.h"

namespace debrief::classify {
namespace {

v1::Ticket T(const std::string& subject, const std::string& body) {
  v1::Ticket t;
  t.set_subject(subject);
  t.set_body(body);
  return t;
}

class KeywordClassifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = config::LoadConfig(std::string(DEBRIEF_SOURCE_DIR) + "/deploy/debrief.example.yaml");
    ASSERT_TRUE(c.ok()) << c.status();
    auto k = KeywordClassifier::Create(c->taxonomy(), clock_);
    ASSERT_TRUE(k.ok()) << k.status();
    classifier_ = std::move(*k);
  }
  testing::FakeClock clock_;
  std::unique_ptr<KeywordClassifier> classifier_;
};

TEST_F(KeywordClassifierTest, TagsClearComplaintsWithReasons) {
  auto c =
      classifier_->Classify(T("Charged twice", "I was charged twice this month, please refund"));
  EXPECT_EQ(c.category_id(), "billing-charge");
  EXPECT_FALSE(c.needs_review());
  EXPECT_GT(c.confidence(), 0.8);
  ASSERT_GT(c.reasons_size(), 0);
  EXPECT_NE(c.reasons(0).feature().find("charged twice"), std::string::npos);
  EXPECT_EQ(c.model(), "keyword-v1");
}

TEST_F(KeywordClassifierTest, TagsPraiseAndSuggestionsToo) {
  EXPECT_EQ(classifier_->Classify(T("Thanks!", "Your support team is amazing, thank you so much"))
                .category_id(),
            "praise-agent");
  EXPECT_EQ(
      classifier_->Classify(T("Idea", "It would be great if you added dark mode")).category_id(),
      "feature-request");
}

TEST_F(KeywordClassifierTest, SeedPhrasesMatchInflectedWords) {
  // "arrives"/"arrived" and "emails" meet the seed phrase's stems.
  auto c = classifier_->Classify(T("", "the password reset emails never arrived"));
  EXPECT_EQ(c.category_id(), "login-access");
}

TEST_F(KeywordClassifierTest, UnrelatedTextNeedsReviewInsteadOfAGuess) {
  auto c = classifier_->Classify(T("Office hours", "what are your office hours over the holidays"));
  EXPECT_TRUE(c.needs_review());
  EXPECT_TRUE(c.category_id().empty());
  EXPECT_EQ(c.confidence(), 0);
}

TEST_F(KeywordClassifierTest, EvidenceForTwoCausesLowersConfidence) {
  auto one = classifier_->Classify(T("", "the app crashes"));
  auto two = classifier_->Classify(T("", "the app crashes and I was charged twice"));
  EXPECT_LT(two.confidence(), one.confidence());
  EXPECT_GT(two.alternatives_size(), 0);
}

TEST_F(KeywordClassifierTest, LearnsFromAnAgentsCorrection) {
  v1::Ticket t = T("Parrot", "my parrot chewed through the charging cable of the scanner");
  EXPECT_TRUE(classifier_->Classify(t).needs_review());
  ASSERT_TRUE(classifier_->Learn(t, "damaged-item").ok());
  auto c = classifier_->Classify(T("", "the parrot chewed the scanner cable"));
  EXPECT_EQ(c.category_id(), "damaged-item");
  EXPECT_FALSE(classifier_->Learn(t, "no-such-category").ok());
}

TEST(Text, TokensAreFoldedStemmedAndStopWordsDropped) {
  EXPECT_EQ(ContentTokens("The REFUNDS were charged"),
            (std::vector<std::string>{"refund", "charg"}));
  EXPECT_EQ(Stem("deliveries"), "delivery");
  EXPECT_EQ(Stem("class"), "class");
}

}  // namespace
}  // namespace debrief::classify
