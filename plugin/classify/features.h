#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "debrief/v1/classifier.pb.h"

namespace debrief::classify {

// A sparse feature vector: bucket ids with their values. Each bucket appears once per block
// (words, characters); a bucket both blocks hit (a hash collision) appears twice.
struct FeatureVector {
  std::vector<uint32_t> index;
  std::vector<float> value;
  // With explanations on: for each feature, the word or word pair it came from, as an index
  // into `origins` (each distinct word or pair once).
  std::vector<uint32_t> origin;
  std::vector<std::string> origins;
  void clear() {
    index.clear();
    value.clear();
    origin.clear();
    origins.clear();
  }
};

// Hashed features (no vocabulary file): word unigrams and bigrams (and, with skip_pairs,
// pairs one word apart), and character n-grams of each word with its boundaries (" refund " -> "
// r", "re", ..., "fund "). Values are 1 + log(tf), times the bucket's idf, and each block (words,
// characters) is scaled to unit length, so a long ticket does not drown a short one. Deterministic
// for given params.
class FeatureExtractor {
 public:
  explicit FeatureExtractor(const v1::HashingParams& params);

  // idf per bucket (size 2^bits), or empty for all ones. Not owned.
  void set_idf(const std::vector<float>* idf) { idf_ = idf; }

  void Extract(const std::vector<std::string>& tokens, FeatureVector* out,
               bool explain = false) const;

  uint32_t dim() const { return 1u << params_.bits(); }
  const v1::HashingParams& params() const { return params_; }

  // Params that work well for support tickets, tuned on splits carved from Banking77 train
  // (four 80/20 splits, mean validation accuracy): with a hundred examples per category,
  // character 2-6-grams and pairs one word apart (90.7% -> 91.1%); with ten (`few_shot`),
  // character 2-5-grams and no skipped pairs, which only add noise there (74.7% -> 75.0%).
  static v1::HashingParams Defaults(bool few_shot = false);

 private:
  v1::HashingParams params_;
  const std::vector<float>* idf_ = nullptr;
};

}  // namespace debrief::classify
