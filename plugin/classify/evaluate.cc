#include "classify/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"

namespace debrief::classify {

EvalReport Evaluate(const LearnedClassifier& model, const std::vector<LabeledText>& data,
                    const std::string& oos_label) {
  EvalReport r;
  r.examples = data.size();
  const auto& cats = model.categories();
  std::vector<size_t> tp(cats.size()), fp(cats.size()), fn(cats.size());
  size_t right = 0, in_n = 0, in_ok = 0, oos_n = 0, oos_ok = 0;
  std::vector<LearnedClassifier::Prediction> preds(data.size());
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < data.size(); ++i) preds[i] = model.Predict(data[i].text);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.per_second = secs > 0 ? data.size() / secs : 0;
  for (size_t i = 0; i < data.size(); ++i) {
    const auto& p = preds[i];
    const bool is_oos = data[i].label == oos_label;
    const bool says_oos = model.IsOutOfScope(p.label) || p.probability < model.abstain_below();
    const int truth = model.CategoryIndex(data[i].label);
    if (is_oos) {
      r.has_oos = true;
      ++oos_n;
      oos_ok += says_oos;
      right += says_oos;
      continue;
    }
    ++in_n;
    const bool ok = p.label == truth;
    right += ok;
    in_ok += ok && !says_oos;
    if (truth >= 0) (ok ? tp[truth] : fn[truth])++;
    if (!ok) fp[p.label]++;
  }
  constexpr int kBins = 10;
  r.reliability.assign(kBins, {});
  for (size_t i = 0; i < data.size(); ++i) {
    // Right when the top category is the truth (for an out-of-scope example: the model's
    // out-of-scope class).
    const bool top_right = preds[i].label == model.CategoryIndex(data[i].label);
    const int b = std::min(kBins - 1, static_cast<int>(preds[i].probability * kBins));
    EvalReport::Bin& bin = r.reliability[std::max(0, b)];
    ++bin.count;
    bin.confidence += preds[i].probability;
    bin.accuracy += top_right;
  }
  for (auto& bin : r.reliability) {
    if (bin.count == 0) continue;
    bin.confidence /= bin.count;
    bin.accuracy /= bin.count;
    r.calibration_error +=
        double(bin.count) / data.size() * std::abs(bin.accuracy - bin.confidence);
  }
  r.accuracy = data.empty() ? 0 : double(right) / data.size();
  r.in_scope_accuracy = in_n ? double(in_ok) / in_n : 0;
  r.oos_recall = oos_n ? double(oos_ok) / oos_n : 0;
  double f1_sum = 0;
  size_t f1_n = 0;
  for (size_t c = 0; c < cats.size(); ++c) {
    if (model.IsOutOfScope(static_cast<int>(c))) continue;
    CategoryScore s;
    s.id = cats[c].id();
    s.support = tp[c] + fn[c];
    s.precision = tp[c] + fp[c] ? double(tp[c]) / (tp[c] + fp[c]) : 0;
    s.recall = s.support ? double(tp[c]) / s.support : 0;
    s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
    if (s.support > 0) {
      f1_sum += s.f1;
      ++f1_n;
    }
    r.categories.push_back(s);
  }
  r.macro_f1 = f1_n ? f1_sum / f1_n : 0;
  return r;
}

std::string EvalReport::ToText() const {
  std::string out =
      absl::StrFormat("examples       %zu\naccuracy       %.2f%%\nmacro-F1       %.2f%%\n",
                      examples, 100 * accuracy, 100 * macro_f1);
  if (has_oos)
    out += absl::StrFormat("in-scope acc.  %.2f%%\nout-of-scope recall %.2f%%\n",
                           100 * in_scope_accuracy, 100 * oos_recall);
  out += absl::StrFormat("calibration error %.2f%% (expected, 10 bins)\n", 100 * calibration_error);
  out += absl::StrFormat("throughput     %.0f classifications/s (one core)\n\n", per_second);
  out += absl::StrFormat("%-40s %7s %9s %7s %7s\n", "category", "support", "precision", "recall",
                         "F1");
  for (const auto& c : categories)
    out += absl::StrFormat("%-40s %7zu %8.1f%% %6.1f%% %6.1f%%\n", c.id, c.support,
                           100 * c.precision, 100 * c.recall, 100 * c.f1);
  return out;
}

std::string EvalReport::ToJson() const {
  nlohmann::json j = {{"examples", examples},
                      {"accuracy", accuracy},
                      {"macro_f1", macro_f1},
                      {"per_second", per_second},
                      {"calibration_error", calibration_error}};
  nlohmann::json bins = nlohmann::json::array();
  for (const auto& b : reliability)
    bins.push_back({{"count", b.count}, {"confidence", b.confidence}, {"accuracy", b.accuracy}});
  j["reliability"] = bins;
  if (has_oos) {
    j["in_scope_accuracy"] = in_scope_accuracy;
    j["oos_recall"] = oos_recall;
  }
  return j.dump();
}

}  // namespace debrief::classify
