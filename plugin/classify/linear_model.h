#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "classify/features.h"
#include "debrief/v1/classifier.pb.h"

namespace debrief::classify {

struct Example {
  FeatureVector x;
  int label = 0;
};

enum class Loss {
  kAuto,               // logistic below kFewShotPerClass examples per class, else PA
  kLogistic,           // AdaGrad on the log loss
  kPassiveAggressive,  // averaged passive-aggressive (PA-I) on the multiclass hinge loss
};

// Measured on Banking77 (validation carved from train): with 10 examples per category the
// log loss generalises better (75.0% vs 72.3%); with all 100, averaged PA does (91.5% vs 90.7%).
inline constexpr int kFewShotPerClass = 30;

struct TrainOptions {
  Loss loss = Loss::kAuto;
  int epochs = 10;
  float learning_rate = 0.6f;  // AdaGrad step (logistic), or PA-I's C (aggressiveness)
  uint64_t seed = 1;           // shuffling; the same seed and data give the same model
};

// Multiclass logistic regression over hashed features, trained by AdaGrad (a step size per
// weight), usable both as a batch fit and one example at a time (an agent's correction).
// Weights are stored per feature row (only features seen in training have a row), so a
// 2^20-bucket model costs memory for the features it knows, not for the buckets.
//
// Not thread-safe: LearnedClassifier guards it with a reader/writer lock.
class LinearModel {
 public:
  LinearModel(int classes, uint32_t dim);

  int classes() const { return classes_; }
  uint32_t dim() const { return dim_; }
  size_t rows() const { return feature_of_row_.size(); }

  // Raw scores (logits), `out` has classes() entries. On a processor with AVX2, predictions
  // read a copy of the weights in 8 bits a weight (a scale per row: a quarter of the bytes,
  // and memory is what limits scoring); training reads the weights themselves.
  void Scores(const FeatureVector& x, float* out) const;
  // What each feature adds to class `cls` beyond the average class: value * (weight for cls -
  // mean weight of its row; the weight as the scores read it), 0 for features training never saw.
  // `rows` are the features' rows as Probabilities gave them; `out` has x.index.size() entries.
  void Contributions(const FeatureVector& x, const std::vector<int32_t>& rows, int cls,
                     float* out) const;
  // Softmax of scores / temperature; with `rows`, also each feature's row (-1: none).
  void Probabilities(const FeatureVector& x, float temperature, std::vector<float>* p,
                     std::vector<int32_t>* rows = nullptr) const;
  // The feature's weights, one per class, or null when training never saw it.
  const float* Row(uint32_t feature) const {
    int32_t r = row_of_[feature];
    return r < 0 ? nullptr : &w_[static_cast<size_t>(r) * classes_];
  }

  // One AdaGrad step on the log loss of (x, label).
  void Update(const FeatureVector& x, int label, float learning_rate);
  void Fit(const std::vector<Example>& data, const TrainOptions& options);
  // One PA-I step; with `avg`, also accumulates c * update for averaging.
  void PassiveAggressive(const FeatureVector& x, int label, float aggressiveness,
                         std::vector<float>* avg, std::vector<float>* avg_bias, float c);

  // A new class with zero weights (a promoted emerging issue); returns its index.
  int AddClass();

  void ToProto(v1::ClassifierModel* m) const;
  static absl::StatusOr<LinearModel> FromProto(const v1::ClassifierModel& m);

 private:
  void Scores(const FeatureVector& x, float* out, std::vector<int32_t>* rows) const;
  // The weights themselves (training's scores).
  void ExactScores(const FeatureVector& x, float* out) const;
  void Lookup(const FeatureVector& x, std::vector<int32_t>* rows) const;
  int32_t RowFor(uint32_t feature);
  // The predictions' copy of row r, or of every row.
  void Quantize(int32_t r);
  void QuantizeAll();

  int classes_;
  uint32_t dim_;
  std::vector<int32_t> row_of_;  // dim_ entries, -1: no row
  std::vector<uint32_t> feature_of_row_;
  std::vector<float> w_;    // rows x classes
  std::vector<float> g2_;   // AdaGrad sums, rows x classes
  std::vector<float> sum_;  // per row, the sum of its weights (explanations compare to the mean)
  std::vector<float> bias_, bias_g2_;
  // Per row: its scale (a float, max |weight| / 127), then a byte per class rounded up to 8
  // (w = scale * q); valid when quantized_ (a batch fit sets it at its end).
  size_t qstride_ = 0;
  std::vector<int8_t> q_;
  bool quantized_ = false;
};

// IEEE half precision, for the model file.
uint16_t FloatToHalf(float f);
float HalfToFloat(uint16_t h);

}  // namespace debrief::classify
