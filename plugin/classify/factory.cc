#include "classify/factory.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "classify/keyword_classifier.h"
#include "classify/learned_classifier.h"

namespace debrief::classify {

absl::StatusOr<std::unique_ptr<Classifier>> MakeClassifier(const v1::Config& config,
                                                           const spi::Clock& clock) {
  const v1::TaxonomyConfig& taxonomy = config.taxonomy();
  if (config.classifier().kind() == "keyword") {
    auto k = KeywordClassifier::Create(taxonomy, clock);
    if (!k.ok()) return k.status();
    return std::unique_ptr<Classifier>(std::move(*k));
  }
  if (config.classifier().model().empty()) {
    // Cold start: the taxonomy's names, descriptions, seed phrases and keywords.
    TrainConfig tc;
    tc.review_threshold = taxonomy.review_threshold();
    auto l = LearnedClassifier::Train(taxonomy, {}, tc, clock);
    if (!l.ok()) return l.status();
    return std::unique_ptr<Classifier>(std::move(*l));
  }
  auto l = LearnedClassifier::Load(config.classifier().model(), clock);
  if (!l.ok()) return l.status();
  if (auto s = (*l)->ApplyTaxonomy(taxonomy); !s.ok())
    return absl::Status(s.code(), absl::StrCat(config.classifier().model(), ": ", s.message()));
  return std::unique_ptr<Classifier>(std::move(*l));
}

}  // namespace debrief::classify
