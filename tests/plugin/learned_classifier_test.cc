#include "classify/learned_classifier.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

#include "classify/evaluate.h"
#include "classify/factory.h"
#include "classify/linear_model.h"
#include "classify/normalize.h"
#include "classify/review_worth.h"
#include "config/config.h"
#include "mocks/spi_mocks.h"

namespace debrief::classify {
namespace {

TEST(Normalize, FoldsCaseAcrossScriptsAndFoldsUrlsEmailsNumbers) {
  EXPECT_EQ(TokenizeText("ÉCOLE Straße ПРИВЕТ Ωmega"),
            (std::vector<std::string>{"école", "strasse", "привет", "ωmega"}));
  EXPECT_EQ(TokenizeText("see https://x.io/a?b=1 or mail bob@example.com about order #4,471.50"),
            (std::vector<std::string>{"see", "_url_", "or", "mail", "_email_", "about", "order",
                                      "_num_"}));
  EXPECT_EQ(TokenizeText("I can't log-in"), (std::vector<std::string>{"i", "cant", "log", "in"}));
}

TEST(Normalize, TicketBodiesLoseHtmlQuotedRepliesAndSignatures) {
  auto t = ModelTokens("Re: Refund", "<p>Still <b>no</b> refund.</p>\n--\nAnn\nSales lead");
  EXPECT_EQ(t, (std::vector<std::string>{"re", "refund", "still", "no", "refund"}));
  auto q =
      ModelTokens("", "Thanks!\n\nOn Mon, 1 Jan 2026 at 09:00, Support wrote:\n> charged twice");
  EXPECT_EQ(q, (std::vector<std::string>{"thanks"}));
}

TEST(Features, HashingIsDeterministicSortedAndUnitLengthPerBlock) {
  FeatureExtractor fx(FeatureExtractor::Defaults());
  FeatureVector a, b;
  fx.Extract({"refund", "please", "refund"}, &a);
  fx.Extract({"refund", "please", "refund"}, &b);
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.value, b.value);
  // Explained vectors hold the same features as plain ones, each with the word or pair it
  // came from; each distinct word or pair is named once.
  FeatureVector e;
  const std::vector<std::string> tokens = {"refund", "please", "refund"};
  fx.Extract(tokens, &e, /*explain=*/true);
  EXPECT_EQ(e.index, a.index);
  EXPECT_EQ(e.value, a.value);
  ASSERT_EQ(e.origin.size(), e.index.size());
  for (uint32_t o : e.origin) ASSERT_LT(o >> 2, tokens.size());
  // Each distinct word or pair is named by one origin (its first occurrence).
  std::set<uint32_t> origins(e.origin.begin(), e.origin.end());
  std::vector<std::string> named;
  for (uint32_t o : origins) named.push_back(FeatureVector::OriginText(tokens, o));
  EXPECT_EQ(std::set<std::string>(named.begin(), named.end()).size(), named.size());
  EXPECT_EQ(std::set<std::string>(named.begin(), named.end()),
            (std::set<std::string>{"refund", "please", "refund please", "please refund",
                                   "refund … refund"}));
  double sq = 0;
  for (float v : a.value) sq += v * v;
  EXPECT_NEAR(sq, 2.0, 0.05);  // words block + character block, each of length 1
  // A long text does not outweigh a short one.
  FeatureVector lng;
  std::vector<std::string> many(200, "refund");
  fx.Extract(many, &lng);
  double sq2 = 0;
  for (float v : lng.value) sq2 += v * v;
  EXPECT_NEAR(sq2, 2.0, 0.05);
}

TEST(Features, SkipPairsAddWordsOneApartOnlyWhenAsked) {
  auto origins = [](const v1::HashingParams& p) {
    FeatureExtractor fx(p);
    FeatureVector e;
    const std::vector<std::string> tokens = {"charged", "me", "twice"};
    fx.Extract(tokens, &e, /*explain=*/true);
    std::set<std::string> named;
    for (uint32_t o : e.origin) named.insert(FeatureVector::OriginText(tokens, o));
    return named;
  };
  v1::HashingParams with = FeatureExtractor::Defaults();
  ASSERT_TRUE(with.skip_pairs());
  auto a = origins(with);
  EXPECT_TRUE(a.count("charged … twice"));
  EXPECT_TRUE(a.count("charged me") && a.count("me twice"));
  v1::HashingParams without = with;
  without.set_skip_pairs(false);  // as in a model written before skip pairs existed
  auto b = origins(without);
  EXPECT_FALSE(b.count("charged … twice"));
  EXPECT_TRUE(b.count("charged me") && b.count("me twice"));
  EXPECT_FALSE(FeatureExtractor::Defaults(/*few_shot=*/true).skip_pairs());
}

// The character n-gram block of `tokens`' features: what follows the word block (which the
// same params without n-grams give alone).
std::map<uint32_t, float> CharBlock(const std::vector<std::string>& tokens, uint32_t char_words) {
  v1::HashingParams p = FeatureExtractor::Defaults();
  p.set_char_words(char_words);
  FeatureVector x, words;
  FeatureExtractor(p).Extract(tokens, &x);
  v1::HashingParams no_chars = p;
  no_chars.set_char_min(0);
  FeatureExtractor(no_chars).Extract(tokens, &words);
  std::map<uint32_t, float> out;
  for (size_t i = words.index.size(); i < x.index.size(); ++i) out[x.index[i]] = x.value[i];
  return out;
}

TEST(Features, CharacterNgramsComeFromTheFirstDistinctWordsOnly) {
  // With char_words 2, "gamma" (the third distinct word) adds no n-grams; a repeat of
  // "alpha" is no new word; 0 keeps every word's.
  const auto capped = CharBlock({"alpha", "beta", "alpha", "gamma"}, 2);
  const auto first_two = CharBlock({"alpha", "beta", "alpha"}, 0);
  std::set<uint32_t> a, b;
  for (const auto& [k, v] : capped) a.insert(k);
  for (const auto& [k, v] : first_two) b.insert(k);
  EXPECT_EQ(a, b);
  EXPECT_GT(CharBlock({"alpha", "beta", "alpha", "gamma"}, 0).size(), capped.size());
  EXPECT_EQ(FeatureExtractor::Defaults().char_words(), FeatureExtractor::kCharWords);
}

TEST(Features, ARepeatedWordsNgramsCountEveryTime) {
  // "ab" twice and "cd" once share no n-gram: each of ab's weighs 1 + ln 2 times cd's.
  v1::HashingParams p = FeatureExtractor::Defaults();
  p.set_word_ngrams(1);
  p.set_skip_pairs(false);
  FeatureExtractor fx(p);
  FeatureVector twice, once;
  fx.Extract({"ab", "ab", "cd"}, &twice);
  fx.Extract({"ab", "cd"}, &once);
  ASSERT_EQ(twice.index, once.index);
  // Blocks: words (ab, cd) then characters (ab's n-grams, then cd's, in order).
  const size_t n = twice.index.size(), half = (n - 2) / 2;
  EXPECT_NEAR(twice.value[2] / twice.value[2 + half], 1.0f + std::log(2.0f), 1e-4);
  EXPECT_NEAR(once.value[2] / once.value[2 + half], 1.0f, 1e-6);
}

std::vector<LabeledText> ToyData() {
  std::vector<LabeledText> d;
  const char* billing[] = {"I was charged twice",      "refund my double charge",
                           "wrong amount billed",      "invoice shows extra fee",
                           "charged after cancelling", "overcharged on card"};
  const char* login[] = {"cannot log in",         "password reset never arrives",
                         "locked out of account", "two factor code rejected",
                         "sign in fails",         "login page error"};
  const char* delivery[] = {"parcel not arrived",   "where is my order",
                            "tracking not updated", "package lost in transit",
                            "late delivery again",  "courier never came"};
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < 6; ++i) {
      d.push_back({billing[i], "billing"});
      d.push_back({login[i], "login"});
      d.push_back({delivery[i], "delivery"});
    }
  return d;
}

class LearnedClassifierTest : public ::testing::Test {
 protected:
  std::unique_ptr<LearnedClassifier> Train(uint64_t seed = 1) {
    TrainConfig tc;
    tc.options.seed = seed;
    tc.hashing = FeatureExtractor::Defaults();
    tc.hashing->set_bits(16);
    auto c = LearnedClassifier::Train({}, ToyData(), tc, clock_);
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(*c);
  }
  v1::Ticket T(const std::string& body) {
    v1::Ticket t;
    t.set_body(body);
    return t;
  }
  testing::FakeClock clock_;
};

TEST_F(LearnedClassifierTest, LearnsFromLabelledDataAndExplainsItself) {
  auto c = Train();
  auto r = c->Classify(T("I got charged twice for one order"));
  EXPECT_EQ(r.category_id(), "billing");
  EXPECT_EQ(r.model(), "linear-v1");
  ASSERT_GT(r.reasons_size(), 0);
  bool charged = false;
  for (const auto& reason : r.reasons())
    charged |= reason.feature().find("charged") != std::string::npos;
  EXPECT_TRUE(charged) << r.DebugString();
  EXPECT_EQ(c->Classify(T("my password reset email is missing")).category_id(), "login");
}

TEST_F(LearnedClassifierTest, FeaturesFollowTheDataSizeUnlessGiven) {
  TrainConfig tc;
  auto few = LearnedClassifier::Train({}, ToyData(), tc, clock_);  // 18 per category
  ASSERT_TRUE(few.ok()) << few.status();
  EXPECT_FALSE((*few)->ToProto().hashing().skip_pairs());
  EXPECT_EQ((*few)->ToProto().hashing().char_max(), 5u);
  auto data = ToyData();
  for (int i = 0; i < 2; ++i) data.insert(data.end(), data.begin(), data.begin() + 54);
  auto many = LearnedClassifier::Train({}, data, tc, clock_);  // 54 per category
  ASSERT_TRUE(many.ok()) << many.status();
  EXPECT_TRUE((*many)->ToProto().hashing().skip_pairs());
  EXPECT_EQ((*many)->ToProto().hashing().char_max(), 6u);
  tc.adjust_hashing = [](v1::HashingParams* h) { h->set_bits(16); };
  auto adjusted = LearnedClassifier::Train({}, ToyData(), tc, clock_);
  ASSERT_TRUE(adjusted.ok()) << adjusted.status();
  EXPECT_EQ((*adjusted)->ToProto().hashing().bits(), 16u);
  EXPECT_EQ((*adjusted)->ToProto().hashing().char_max(), 5u) << "still the few-shot defaults";
  tc.adjust_hashing = nullptr;
  tc.hashing = FeatureExtractor::Defaults();
  tc.hashing->set_char_max(4);
  auto given = LearnedClassifier::Train({}, ToyData(), tc, clock_);
  ASSERT_TRUE(given.ok()) << given.status();
  EXPECT_EQ((*given)->ToProto().hashing().char_max(), 4u);
  EXPECT_TRUE((*given)->ToProto().hashing().skip_pairs());
}

TEST_F(LearnedClassifierTest, TrainingIsDeterministicForASeed) {
  auto a = Train(7)->ToProto(), b = Train(7)->ToProto();
  a.clear_trained_at();
  b.clear_trained_at();
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
}

TEST_F(LearnedClassifierTest, SaveLoadRoundTripGivesTheSamePredictions) {
  auto c = Train();
  testing::TempDir dir;
  ASSERT_TRUE(c->Save(dir.file("m.model")).ok());
  auto loaded = LearnedClassifier::Load(dir.file("m.model"), clock_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  for (const char* text : {"charged twice", "cannot sign in", "where is the parcel", "hello"}) {
    auto p1 = c->Predict(text), p2 = (*loaded)->Predict(text);
    EXPECT_EQ(p1.label, p2.label) << text;
    EXPECT_NEAR(p1.probability, p2.probability, 0.01) << text;  // half-precision weights
  }
}

TEST_F(LearnedClassifierTest, RejectsCorruptOrForeignModelFiles) {
  testing::TempDir dir;
  std::ofstream(dir.file("junk")) << "not a model";
  EXPECT_FALSE(LearnedClassifier::Load(dir.file("junk"), clock_).ok());
  auto m = Train()->ToProto();
  m.set_format_version(99);
  EXPECT_TRUE(absl::IsFailedPrecondition(LearnedClassifier::FromProto(m, clock_).status()));
  m = Train()->ToProto();
  m.mutable_rows(0)->set_weights("x");
  EXPECT_TRUE(absl::IsInvalidArgument(LearnedClassifier::FromProto(m, clock_).status()));
  m = Train()->ToProto();
  m.mutable_rows(0)->set_feature(1u << 20);
  EXPECT_FALSE(LearnedClassifier::FromProto(m, clock_).ok());
}

TEST_F(LearnedClassifierTest, AnOnlineCorrectionMovesThePrediction) {
  auto c = Train();
  const std::string text = "the hamster ate the scanner cable";
  v1::Ticket t = T(text);
  std::string before = c->Classify(t).category_id();
  std::string target = before == "delivery" ? "billing" : "delivery";
  ASSERT_TRUE(c->Learn(t, target).ok());
  EXPECT_EQ(c->Classify(t).category_id(), target);
  EXPECT_EQ(c->Classify(T("a hamster chewed my scanner cable")).category_id(), target);
  EXPECT_TRUE(absl::IsNotFound(c->Learn(t, "nope")));
}

TEST_F(LearnedClassifierTest, ConfidenceRisesWithEvidenceAndLowConfidenceNeedsReview) {
  auto c = Train();
  float weak = c->Predict("charged").probability;
  float strong = c->Predict("charged twice refund overcharged invoice fee").probability;
  EXPECT_LT(weak, strong);
  auto nothing = c->Classify(T("!!!"));
  EXPECT_TRUE(nothing.needs_review());
  EXPECT_EQ(nothing.confidence(), 0);
}

TEST_F(LearnedClassifierTest, AnOutOfScopeClassIsReportedAsNoCategory) {
  auto data = ToyData();
  for (const char* s : {"what is the weather", "tell me a joke", "who won the match", "play music",
                        "how tall is everest", "set an alarm"})
    for (int i = 0; i < 3; ++i) data.push_back({s, "oos"});
  TrainConfig tc;
  tc.hashing = FeatureExtractor::Defaults();
  tc.hashing->set_bits(16);
  auto c = LearnedClassifier::Train({}, data, tc, clock_);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Classify(T("tell me a joke about the weather"));
  EXPECT_TRUE(r.category_id().empty());
  EXPECT_TRUE(r.needs_review());
  auto report = Evaluate(**c, {{"tell me a joke", "oos"}, {"charged twice", "billing"}});
  EXPECT_TRUE(report.has_oos);
  EXPECT_EQ(report.oos_recall, 1.0);
}

TEST_F(LearnedClassifierTest, ATextIsReadAsATicketBodyWithoutItsQuotedReply) {
  // Training rows and texts to predict lose what a ticket's body loses: a quoted earlier
  // message about something else changes nothing.
  auto c = Train();
  const std::string text = "I was charged twice for my order";
  const std::string quoted = text +
                             "\n\nOn Mon, 1 Jan 2026 at 09:00, Support wrote:\n> password reset "
                             "never arrives\n> locked out of account";
  EXPECT_EQ(c->Predict(quoted).label, c->Predict(text).label);
  EXPECT_FLOAT_EQ(c->Predict(quoted).probability, c->Predict(text).probability);
}

TEST_F(LearnedClassifierTest, EvaluationReportsCalibration) {
  auto c = Train();
  auto data = ToyData();
  auto report = Evaluate(*c, data);
  ASSERT_EQ(report.reliability.size(), 10u);
  size_t n = 0;
  for (const auto& b : report.reliability) {
    n += b.count;
    if (b.count == 0) continue;
    EXPECT_GE(b.confidence, 0.0);
    EXPECT_LE(b.confidence, 1.0);
  }
  EXPECT_EQ(n, data.size());
  EXPECT_GE(report.calibration_error, 0.0);
  EXPECT_LE(report.calibration_error, 1.0);
  EXPECT_NE(report.ToText().find("calibration error"), std::string::npos);
  EXPECT_NE(report.ToJson().find("\"reliability\""), std::string::npos);
}

TEST_F(LearnedClassifierTest, StartsFromTheTaxonomyAloneAndRejectsUnknownLabels) {
  auto cfg = config::LoadConfig(std::string(DEBRIEF_SOURCE_DIR) + "/deploy/debrief.example.yaml");
  ASSERT_TRUE(cfg.ok());
  auto c = MakeClassifier(*cfg, clock_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->Classify(T("I was charged twice this month")).category_id(), "billing-charge");
  EXPECT_EQ((*c)->Classify(T("the app crashes when I open it")).category_id(), "app-crash");
  TrainConfig tc;
  auto bad = LearnedClassifier::Train(cfg->taxonomy(), {{"x", "no-such"}}, tc, clock_);
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));
}

TEST_F(LearnedClassifierTest, AModelServesATaxonomyWithNewCategoriesButNotMissingOnes) {
  auto c = Train();
  v1::TaxonomyConfig tax;
  for (const char* id : {"billing", "login", "delivery", "kudos"}) {
    v1::Category* cat = tax.add_categories();
    cat->set_id(id);
    cat->set_name(id);
    cat->set_kind(v1::COMPLAINT);
  }
  tax.mutable_categories(3)->add_seed_phrases("thank you so much, great support");
  ASSERT_TRUE(c->ApplyTaxonomy(tax).ok());
  EXPECT_EQ(c->Classify(T("thank you so much for the great support")).category_id(), "kudos");
  v1::TaxonomyConfig smaller;
  *smaller.add_categories() = tax.categories(0);
  auto s = c->ApplyTaxonomy(smaller);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_NE(s.message().find("login"), std::string::npos);
}

TEST(ReviewWorth, ACloseCallIsWorthMostAndNoGuessNothing) {
  v1::Classification close, clear, none;
  close.set_category_id("billing");
  close.set_confidence(0.41);
  close.set_runner_up(0.39);  // out of scope, say: no alternative names it
  close.add_alternatives()->set_confidence(0.1);
  clear.set_category_id("billing");
  clear.set_confidence(0.6);
  clear.add_alternatives()->set_confidence(0.1);  // a classification without runner_up
  none.set_confidence(0.8);                       // out of scope on top: no category
  EXPECT_NEAR(ReviewWorth(close), 0.98, 1e-9);
  EXPECT_NEAR(ReviewWorth(clear), 0.5, 1e-9);
  EXPECT_EQ(ReviewWorth(none), 0.0);
}

TEST(Dataset, ReadsQuotedCsvAndSplitsStratified) {
  testing::TempDir dir;
  std::ofstream(dir.file("d.csv"))
      << "text,category\n\"hello, \"\"world\"\"\",a\nplain,b\n\"two\nlines\",a\n";
  auto rows = ReadLabeledCsv(dir.file("d.csv"));
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].text, "hello, \"world\"");
  EXPECT_EQ((*rows)[2].text, "two\nlines");
  std::vector<LabeledText> tr, ho;
  SplitStratified(*rows, 0.5, 1, &tr, &ho);
  EXPECT_EQ(tr.size() + ho.size(), 3u);
  std::ofstream(dir.file("bad.csv")) << "words,label\nx,y\n";
  EXPECT_FALSE(ReadLabeledCsv(dir.file("bad.csv")).ok());
}

// Predictions read the weights in 8 bits a weight: each score is the exact one (from the
// weights training keeps) within the rounding, after a batch fit, an online step and a new
// class alike, and a row training never saw weighs nothing.
TEST(LinearModel, PredictionsReadAnEightBitCopyThatFollowsTheWeights) {
  // Not a multiple of 8 (the padding weighs nothing), and more than one pass of 96.
  for (const int kClasses : {13, 100}) {
    SCOPED_TRACE(kClasses);
    LinearModel m(kClasses, 1u << 10);
    std::vector<Example> data;
    for (int i = 0; i < 300; ++i) {
      Example& e = data.emplace_back();
      e.label = i % kClasses;
      for (uint32_t k = 0; k < 12; ++k) {
        e.x.index.push_back(static_cast<uint32_t>((i * 37 + k * 101 + e.label * 7) % 1024));
        e.x.value.push_back(0.1f + 0.05f * static_cast<float>(k % 5));
      }
    }
    TrainOptions o;
    o.epochs = 3;
    m.Fit(data, o);
    auto check = [&](const FeatureVector& x, const char* when) {
      std::vector<float> got(m.classes());
      m.Scores(x, got.data());
      std::vector<float> p;
      m.Probabilities(x, 1.0f, &p);
      for (int c = 0; c < m.classes(); ++c) {
        double exact = 0, bound = 1e-5;
        for (size_t i = 0; i < x.index.size(); ++i) {
          const float* row = m.Row(x.index[i]);
          if (row == nullptr) continue;
          float top = 0;
          for (int k = 0; k < m.classes(); ++k) top = std::max(top, std::abs(row[k]));
          exact += x.value[i] * row[c];
          bound += std::abs(x.value[i]) * top / 254.0 * 1.01;
        }
        // The bias is the same in both; take it out through a text with no features.
        std::vector<float> bias(m.classes());
        m.Scores(FeatureVector{}, bias.data());
        EXPECT_NEAR(got[c] - bias[c], exact, bound) << when << ", class " << c;
      }
      EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-5) << when;
    };
    for (size_t i = 0; i < 20; ++i) check(data[i].x, "after the fit");
    FeatureVector unseen;
    unseen.index = {1023, 1022};
    unseen.value = {0.7f, 0.7f};
    std::vector<float> a(m.classes()), b(m.classes());
    m.Scores(unseen, a.data());
    m.Scores(FeatureVector{}, b.data());
    if (m.Row(1023) == nullptr && m.Row(1022) == nullptr) EXPECT_EQ(a, b);
    for (int step = 0; step < 30; ++step) m.Update(data[0].x, 5, 0.5f);
    check(data[0].x, "after online steps");
    std::vector<float> p;
    m.Probabilities(data[0].x, 1.0f, &p);
    EXPECT_EQ(std::max_element(p.begin(), p.end()) - p.begin(), 5) << "the steps moved it";
    EXPECT_EQ(m.AddClass(), kClasses);
    for (int step = 0; step < 30; ++step) m.Update(data[1].x, kClasses, 0.5f);
    check(data[1].x, "after a new class");
    check(data[2].x, "after a new class");
  }
}

TEST(HalfPrecision, RoundTripsWeights) {
  for (float f : {0.0f, 1.0f, -2.5f, 0.001234f, 123.456f, -0.0001f}) {
    EXPECT_NEAR(HalfToFloat(FloatToHalf(f)), f, std::abs(f) * 1e-3 + 1e-6) << f;
  }
}

}  // namespace
}  // namespace debrief::classify
