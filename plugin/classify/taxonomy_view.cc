#include "classify/taxonomy_view.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace debrief::classify {

TaxonomyView::TaxonomyView(std::unique_ptr<Classifier> inner, const v1::TaxonomyConfig& taxonomy)
    : inner_(std::move(inner)) {
  std::vector<v1::Category> all(taxonomy.categories().begin(), taxonomy.categories().end());
  counts_as_ = config::CountsAs(all);
  default_threshold_ = taxonomy.review_threshold();
  for (const v1::Category& c : all) {
    if (!c.retired()) {
      if (c.review_threshold() > 0) threshold_[c.id()] = c.review_threshold();
    } else if (!c.merged_into().empty()) {
      retired_[c.id()] = absl::StrCat(c.id(), " was merged into ", counts_as_(c.id()));
    } else if (c.split_into_size() > 0) {
      retired_[c.id()] =
          absl::StrCat(c.id(), " was split into ", absl::StrJoin(c.split_into(), ", "));
    } else {
      retired_[c.id()] = absl::StrCat(c.id(), " is retired");
    }
  }
}

v1::Classification TaxonomyView::Classify(const v1::Ticket& ticket) const {
  return Map(inner_->Classify(ticket));
}

v1::Classification TaxonomyView::Map(v1::Classification c) const {
  if (c.category_id().empty()) return c;
  bool retired_in_sight = retired_.contains(c.category_id());
  for (const auto& alt : c.alternatives())
    retired_in_sight = retired_in_sight || retired_.contains(alt.category_id());
  if (!retired_in_sight) return c;
  // Scores by the category they count for now; retired ones that went nowhere are dropped.
  // Every category not retired takes tickets (those promoted since start too).
  std::vector<std::pair<std::string, double>> scores;
  auto add = [&](const std::string& id, double p) {
    const std::string to = counts_as_(id);
    if (retired_.contains(to)) return;  // retired (not merged), or split
    for (auto& [have, q] : scores)
      if (have == to) {
        q += p;
        return;
      }
    scores.emplace_back(to, p);
  };
  add(c.category_id(), c.confidence());
  for (const auto& alt : c.alternatives()) add(alt.category_id(), alt.confidence());
  std::stable_sort(scores.begin(), scores.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  const std::string was = c.category_id();
  c.clear_alternatives();
  if (scores.empty()) {
    c.set_category_id("");
    c.set_confidence(0);
    c.set_needs_review(true);
  } else {
    if (scores[0].first != was || c.confidence() != scores[0].second) {
      c.set_category_id(scores[0].first);
      c.set_confidence(std::min(1.0, scores[0].second));
      auto t = threshold_.find(scores[0].first);
      c.set_needs_review(c.confidence() < (t == threshold_.end() ? default_threshold_ : t->second));
    }
    c.set_runner_up(scores.size() > 1 ? scores[1].second : 0);
    for (size_t i = 1; i < scores.size(); ++i) {
      v1::ScoredCategory* alt = c.add_alternatives();
      alt->set_category_id(scores[i].first);
      alt->set_confidence(scores[i].second);
    }
  }
  if (auto why = retired_.find(was); why != retired_.end()) {
    v1::Reason* r = c.add_reasons();
    r->set_feature(why->second);
    r->set_weight(0);
  }
  return c;
}

absl::Status TaxonomyView::Learn(const v1::Ticket& ticket, const std::string& category_id) {
  const std::string& to = counts_as_(category_id);
  if (retired_.contains(to)) return absl::OkStatus();  // a retired cause teaches nothing now
  return inner_->Learn(ticket, to);
}

v1::TaxonomyConfig TrainingTaxonomy(const v1::TaxonomyConfig& taxonomy) {
  std::vector<v1::Category> all(taxonomy.categories().begin(), taxonomy.categories().end());
  const config::CountsAs counts_as(all);
  v1::TaxonomyConfig out = taxonomy;
  out.clear_categories();
  std::map<std::string, int> at;
  for (const v1::Category& c : all)
    if (!c.retired()) {
      at[c.id()] = out.categories_size();
      *out.add_categories() = c;
    }
  for (const v1::Category& c : all) {
    if (c.merged_into().empty()) continue;
    auto it = at.find(counts_as(c.id()));
    if (it == at.end()) continue;
    v1::Category* into = out.mutable_categories(it->second);
    into->add_seed_phrases(c.name());
    if (!c.description().empty()) into->add_seed_phrases(c.description());
    for (const auto& p : c.seed_phrases()) into->add_seed_phrases(p);
    for (const auto& k : c.keywords()) into->add_keywords(k);
  }
  return out;
}

}  // namespace debrief::classify
