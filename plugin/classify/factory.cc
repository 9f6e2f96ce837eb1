#include "classify/factory.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "classify/keyword_classifier.h"
#include "classify/learned_classifier.h"
#include "classify/taxonomy_view.h"

namespace debrief::classify {

namespace {

absl::StatusOr<std::unique_ptr<Classifier>> MakeInner(const v1::Config& config,
                                                      const spi::Clock& clock) {
  const v1::TaxonomyConfig& taxonomy = config.taxonomy();
  if (config.classifier().kind() == "keyword") {
    auto k = KeywordClassifier::Create(TrainingTaxonomy(taxonomy), clock);
    if (!k.ok()) return k.status();
    return std::unique_ptr<Classifier>(std::move(*k));
  }
  if (config.classifier().model().empty()) {
    // Cold start: the taxonomy's names, descriptions, seed phrases and keywords.
    TrainConfig tc;
    tc.review_threshold = taxonomy.review_threshold();
    auto l = LearnedClassifier::Train(TrainingTaxonomy(taxonomy), {}, tc, clock);
    if (!l.ok()) return l.status();
    return std::unique_ptr<Classifier>(std::move(*l));
  }
  auto l = LearnedClassifier::Load(config.classifier().model(), clock);
  if (!l.ok()) return l.status();
  if (auto s = (*l)->ApplyTaxonomy(taxonomy); !s.ok())
    return absl::Status(s.code(), absl::StrCat(config.classifier().model(), ": ", s.message()));
  return std::unique_ptr<Classifier>(std::move(*l));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Classifier>> MakeClassifier(const v1::Config& config,
                                                           const spi::Clock& clock) {
  auto inner = MakeInner(config, clock);
  if (!inner.ok()) return inner.status();
  const auto& cats = config.taxonomy().categories();
  if (std::none_of(cats.begin(), cats.end(), [](const v1::Category& c) { return c.retired(); }))
    return inner;
  return std::unique_ptr<Classifier>(
      std::make_unique<TaxonomyView>(std::move(*inner), config.taxonomy()));
}

}  // namespace debrief::classify
