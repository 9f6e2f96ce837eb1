#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "classify/classifier.h"
#include "debrief/spi/clock.h"
#include "debrief/v1/config.pb.h"
#include "re2/re2.h"

namespace debrief::classify {

// The first classifier: the taxonomy's keywords (RE2, case-insensitive, on word
// boundaries) and seed phrases (matched on stemmed content words), plus the tickets agents
// corrected (nearest exemplar by word overlap). Works from the first ticket with no training.
//
// Scoring: each category adds up its evidence (a keyword 1.0, 1.5 in the subject; a seed
// phrase up to 2.0 by the share of its words present; a corrected exemplar up to 2.0 by
// overlap). Confidence = (1 - e^-top) * top / (top + runner_up): one clear keyword gives
// 0.63, two give 0.86, and two categories with equal evidence halve each other.
class KeywordClassifier final : public Classifier {
 public:
  static absl::StatusOr<std::unique_ptr<KeywordClassifier>> Create(
      const v1::TaxonomyConfig& taxonomy, const spi::Clock& clock);

  // Classifier
  v1::Classification Classify(const v1::Ticket& ticket) const override;
  absl::Status Learn(const v1::Ticket& ticket, const std::string& category_id) override;
  std::string name() const override { return "keyword-v1"; }
  absl::Status AddCategory(const v1::Category& category,
                           const std::vector<std::string>& examples) override;

 private:
  struct Phrase {
    std::string text;
    std::vector<std::string> tokens;  // stemmed content words, unique
  };
  struct Entry {
    v1::Category category;
    std::vector<std::unique_ptr<RE2>> keywords;
    std::vector<Phrase> phrases;
    std::vector<Phrase> exemplars;  // corrected tickets, guarded by mu_
    double threshold;
  };

  KeywordClassifier(const spi::Clock& clock) : clock_(clock) {}

  const spi::Clock& clock_;
  std::vector<Entry> entries_;
  mutable std::shared_mutex mu_;
};

}  // namespace debrief::classify
