#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "debrief/v1/config.pb.h"
#include "debrief/v1/model.pb.h"

namespace debrief::config {

// Taxonomy versions: how the categories of one version relate to those of the one before, and
// where a retired category's tickets count now.

// The file an admin applies (debriefctl taxonomy apply, the Admin API) and that
// conf_dir/taxonomy.yaml holds: `categories:` and optionally `review_threshold:`.
inline constexpr char kTaxonomyFileName[] = "taxonomy.yaml";
absl::StatusOr<v1::TaxonomyConfig> ParseTaxonomyFile(const std::string& text,
                                                     const std::string& path);

// merged_into and split_into name categories of the same taxonomy that take tickets (merges
// may chain, never in a circle); a split names at least two, never itself.
absl::Status ValidateTaxonomyChanges(const v1::TaxonomyConfig& taxonomy);

// The taxonomy that runs: the declared categories, merged and split ones marked retired, and
// every category of the previous version the file no longer names, kept as retired (its
// tickets, tasks and trends keep their name).
v1::TaxonomyConfig EffectiveTaxonomy(const v1::TaxonomyConfig& declared,
                                     const std::vector<v1::Category>& previous);

// What changed from `before` (a version's categories; empty: none yet) to `after` (an effective
// taxonomy), in the order of `after`.
std::vector<v1::TaxonomyChange> DiffTaxonomies(const std::vector<v1::Category>& before,
                                               const std::vector<v1::Category>& after);

// Whether two effective taxonomies are the same version.
bool SameTaxonomy(const std::vector<v1::Category>& a, const std::vector<v1::Category>& b,
                  double threshold_a, double threshold_b);

// Where each category's tickets count: itself, or for a merged one the category its merges end
// at. Unknown ids count as themselves.
class CountsAs {
 public:
  CountsAs() = default;
  explicit CountsAs(const std::vector<v1::Category>& categories);
  std::string operator()(const std::string& id) const;
  // The categories merged into `id` (directly or through a chain), not `id` itself.
  std::vector<std::string> MergedInto(const std::string& id) const;

 private:
  std::map<std::string, std::string> to_;
};

}  // namespace debrief::config
