#pragma once

#include <memory>
#include <mutex>

#include "absl/status/statusor.h"
#include "classify/classifier.h"
#include "debrief/spi/clock.h"
#include "debrief/v1/config.pb.h"

namespace debrief::classify {

// The classifier a config asks for (classifier.kind and classifier.model), reconciled with
// the taxonomy: a model's categories must all be in the taxonomy (else INVALID_ARGUMENT
// naming them); taxonomy categories the model lacks are added from their own texts, and
// names, kinds and thresholds come from the taxonomy.
absl::StatusOr<std::unique_ptr<Classifier>> MakeClassifier(const v1::Config& config,
                                                           const spi::Clock& clock);

// A classifier that can be replaced while in use (debriefd reloads its model on SIGHUP
// without dropping a delivery). Calls in flight finish on the classifier they started with.
class ReloadableClassifier final : public Classifier {
 public:
  explicit ReloadableClassifier(std::unique_ptr<Classifier> initial)
      : current_(std::move(initial)) {}

  void Replace(std::unique_ptr<Classifier> next) {
    std::shared_ptr<Classifier> n(std::move(next));
    std::lock_guard<std::mutex> l(mu_);
    current_.swap(n);
  }
  std::shared_ptr<Classifier> current() const {
    std::lock_guard<std::mutex> l(mu_);
    return current_;
  }

  v1::Classification Classify(const v1::Ticket& t) const override { return current()->Classify(t); }
  absl::Status Learn(const v1::Ticket& t, const std::string& category) override {
    return current()->Learn(t, category);
  }
  std::string name() const override { return current()->name(); }
  absl::Status AddCategory(const v1::Category& c, const std::vector<std::string>& ex) override {
    return current()->AddCategory(c, ex);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<Classifier> current_;
};

}  // namespace debrief::classify
