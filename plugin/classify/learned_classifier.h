#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "classify/classifier.h"
#include "classify/dataset.h"
#include "classify/features.h"
#include "classify/linear_model.h"
#include "debrief/spi/clock.h"
#include "debrief/v1/classifier.pb.h"
#include "debrief/v1/config.pb.h"

namespace debrief::classify {

inline constexpr uint32_t kModelFormatVersion = 1;

struct TrainConfig {
  // Unset: FeatureExtractor::Defaults for the data's size (few-shot below kFewShotPerClass
  // examples per category).
  std::optional<v1::HashingParams> hashing;
  // Applied to those params, given or by size (debriefctl train --bits, --char-max, ...).
  std::function<void(v1::HashingParams*)> adjust_hashing;
  TrainOptions options;
  // Share of the data held out to fit the softmax temperature and the abstention threshold
  // (then the final model is trained on everything). 0: no calibration.
  double calibration_fraction = 0.1;
  // The label that means "out of scope" in labelled data (CLINC150 uses "oos").
  std::string oos_label = "oos";
  // Below this calibrated probability a ticket needs review (the taxonomy's threshold when a
  // taxonomy is given). With an out-of-scope label, it is fitted on the held-out share.
  double review_threshold = 0.5;
  bool use_idf = true;
};

struct TrainReport {
  size_t examples = 0;
  size_t seed_examples = 0;
  double temperature = 1.0;
  double abstain_below = 0.0;
  double seconds = 0.0;
};

// A learned root-cause classifier: hashed word and character n-gram features and a
// multiclass logistic regression (linear_model.h). It starts from the taxonomy alone (seed
// phrases, keywords, names and descriptions as examples), trains on labelled history in
// about a second, and learns from each agent's correction at once (one AdaGrad step).
// Confidence is the softmax probability with a temperature fitted on held-out data; below
// the threshold the ticket needs review, and the out-of-scope class (when the data has one)
// is reported as no category.
//
// Thread-safe: Classify takes a shared lock, Learn an exclusive one.
class LearnedClassifier final : public Classifier {
 public:
  // Categories come from the taxonomy; with an empty taxonomy, from the data's labels.
  // Labels the taxonomy does not know are INVALID_ARGUMENT (naming them).
  static absl::StatusOr<std::unique_ptr<LearnedClassifier>> Train(
      const v1::TaxonomyConfig& taxonomy, const std::vector<LabeledText>& data,
      const TrainConfig& config, const spi::Clock& clock, TrainReport* report = nullptr);

  // Validates the file (format version, shapes, finite weights).
  static absl::StatusOr<std::unique_ptr<LearnedClassifier>> Load(const std::string& path,
                                                                 const spi::Clock& clock);
  static absl::StatusOr<std::unique_ptr<LearnedClassifier>> FromProto(
      const v1::ClassifierModel& model, const spi::Clock& clock);
  // Writes atomically (temporary file, then rename).
  absl::Status Save(const std::string& path) const;
  v1::ClassifierModel ToProto() const;

  // Classifier
  v1::Classification Classify(const v1::Ticket& ticket) const override;
  absl::Status Learn(const v1::Ticket& ticket, const std::string& category_id) override;
  std::string name() const override { return "linear-v1"; }

  // For evaluation: the top class and its calibrated probability for a text.
  struct Prediction {
    int label;
    float probability;
  };
  Prediction Predict(const std::string& text) const;
  absl::Status LearnText(const std::string& text, const std::string& category_id);

  const std::vector<v1::Category>& categories() const { return categories_; }
  int CategoryIndex(const std::string& id) const;
  bool IsOutOfScope(int label) const { return label == oos_index_; }
  double abstain_below() const { return abstain_below_; }
  // Makes the model serve a taxonomy: categories it knows take the taxonomy's names, kinds,
  // routing and thresholds; new ones are added and taught from their own texts. A model
  // category missing from the taxonomy (other than out of scope) is INVALID_ARGUMENT.
  absl::Status ApplyTaxonomy(const v1::TaxonomyConfig& taxonomy);
  // Adds a category (a promoted emerging issue) and teaches it with examples.
  absl::Status AddCategory(const v1::Category& category,
                           const std::vector<std::string>& examples) override;

 private:
  // One online step (or up to max_steps, stopping once the model agrees).
  absl::Status LearnFeatures(const FeatureVector& x, const std::string& category_id, int max_steps);

  LearnedClassifier(std::vector<v1::Category> categories, const v1::HashingParams& hashing,
                    LinearModel model, const spi::Clock& clock);

  std::vector<v1::Category> categories_;
  std::vector<float> idf_;  // per bucket; the extractor points at it
  FeatureExtractor extractor_;
  LinearModel model_;
  const spi::Clock& clock_;
  float temperature_ = 1.0f;
  double abstain_below_ = 0.5;
  int oos_index_ = -1;
  std::string oos_label_;
  uint64_t examples_ = 0;
  float online_rate_ = 0.6f;
  mutable std::shared_mutex mu_;
};

// Examples a category brings by itself: its name, description, seed phrases and keywords
// (regular-expression syntax turned into words).
std::vector<std::string> SeedTexts(const v1::Category& category);

}  // namespace debrief::classify
