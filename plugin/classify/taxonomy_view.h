#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "classify/classifier.h"
#include "config/taxonomy.h"
#include "debrief/v1/config.pb.h"

namespace debrief::classify {

// A classifier seen through a taxonomy version: no ticket goes to a retired category. A merged
// category's score counts for the category it went into (a model trained before the merge
// keeps serving); a retired or split one's is dropped, and the best category that takes
// tickets is the guess, confident only above its threshold. Agents' answers follow the same
// way: a correction to a merged category teaches the one it went into; one to a retired
// category teaches nothing.
class TaxonomyView final : public Classifier {
 public:
  TaxonomyView(std::unique_ptr<Classifier> inner, const v1::TaxonomyConfig& taxonomy);

  v1::Classification Classify(const v1::Ticket& ticket) const override;
  absl::Status Learn(const v1::Ticket& ticket, const std::string& category_id) override;
  std::string name() const override { return inner_->name(); }
  absl::Status AddCategory(const v1::Category& category,
                           const std::vector<std::string>& examples) override {
    return inner_->AddCategory(category, examples);
  }

  // The result of `inner` mapped through the taxonomy (what Classify does); for tests.
  v1::Classification Map(v1::Classification c) const;

 private:
  std::unique_ptr<Classifier> inner_;
  config::CountsAs counts_as_;
  std::map<std::string, double> threshold_;  // categories with a threshold of their own
  double default_threshold_ = 0.5;
  std::map<std::string, std::string> retired_;  // retired id -> why ("merged into x")
};

// The taxonomy a classifier is trained from at cold start: categories that take tickets only,
// each merged category's texts (description, seed phrases, keywords) taught to the one it went
// into.
v1::TaxonomyConfig TrainingTaxonomy(const v1::TaxonomyConfig& taxonomy);

}  // namespace debrief::classify
