#pragma once

#include <string>
#include <vector>

#include "classify/dataset.h"
#include "classify/learned_classifier.h"

namespace debrief::classify {

struct CategoryScore {
  std::string id;
  size_t support = 0;
  double precision = 0, recall = 0, f1 = 0;
};

struct EvalReport {
  size_t examples = 0;
  double accuracy = 0;  // over all examples (out of scope counts when abstained)
  double macro_f1 = 0;  // over in-scope categories
  bool has_oos = false;
  double in_scope_accuracy = 0;  // in-scope examples predicted right and not abstained
  double oos_recall = 0;         // out-of-scope examples recognised as such
  double per_second = 0;         // classifications per second, one core, text to label
  std::vector<CategoryScore> categories;
  // Calibration: the shown confidence (the top category's probability) against how often
  // the top category is right, in ten equal bins of confidence; the expected calibration
  // error is the bins' gaps weighted by their share of examples.
  struct Bin {
    size_t count = 0;
    double confidence = 0, accuracy = 0;  // means over the bin's examples
  };
  std::vector<Bin> reliability;
  double calibration_error = 0;

  std::string ToText() const;
  std::string ToJson() const;
};

// Labels the model does not know count as out of scope when the model has such a class and
// the label is `oos_label`, else they count as errors.
EvalReport Evaluate(const LearnedClassifier& model, const std::vector<LabeledText>& data,
                    const std::string& oos_label = "oos");

}  // namespace debrief::classify
