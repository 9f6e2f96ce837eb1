// Taxonomy versions: validating merges and splits, the taxonomy that runs (dropped categories
// kept as retired), the diff between versions, where a merged category's tickets count, and
// the classifier seen through a version.
#include "config/taxonomy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "classify/taxonomy_view.h"
#include "config/config.h"

namespace debrief::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::TaxonomyConfig Parse(const std::string& yaml) {
  auto t = ParseTaxonomyFile(yaml, "t.yaml");
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : v1::TaxonomyConfig();
}

std::vector<v1::Category> Cats(const v1::TaxonomyConfig& t) {
  return {t.categories().begin(), t.categories().end()};
}

constexpr char kThree[] = R"(categories:
  - {id: a, name: A, kind: complaint}
  - {id: b, name: B, kind: complaint}
  - {id: c, name: C, kind: complaint}
)";

TEST(Taxonomy, MergesAndSplitsNameCategoriesThatTakeTickets) {
  auto check = [](const std::string& extra) {
    return ValidateTaxonomyChanges(Parse(absl::StrCat(kThree, extra)));
  };
  EXPECT_TRUE(check("").ok());
  EXPECT_TRUE(check("  - {id: d, name: D, kind: complaint, merged_into: a}\n").ok());
  // Chains end at a category that takes tickets.
  EXPECT_TRUE(check("  - {id: d, name: D, kind: complaint, merged_into: e}\n"
                    "  - {id: e, name: E, kind: complaint, merged_into: a}\n")
                  .ok());
  EXPECT_THAT(check("  - {id: d, name: D, kind: complaint, merged_into: x}\n").message(),
              HasSubstr("x, which is not in the taxonomy"));
  EXPECT_THAT(check("  - {id: d, name: D, kind: complaint, merged_into: d}\n").message(),
              HasSubstr("cannot be merged into itself"));
  EXPECT_THAT(check("  - {id: d, name: D, kind: complaint, merged_into: e}\n"
                    "  - {id: e, name: E, kind: complaint, merged_into: d}\n")
                  .message(),
              HasSubstr("circle"));
  EXPECT_THAT(check("  - {id: d, name: D, kind: complaint, merged_into: e}\n"
                    "  - {id: e, name: E, kind: complaint, retired: true}\n")
                  .message(),
              HasSubstr("retired or split"));
  EXPECT_TRUE(check("  - {id: d, name: D, kind: complaint, split_into: [a, b]}\n").ok());
  EXPECT_THAT(check("  - {id: d, name: D, kind: complaint, split_into: [a]}\n").message(),
              HasSubstr("merged_into: a instead"));
  EXPECT_THAT(check("  - {id: d, name: D, kind: complaint, split_into: [a, a]}\n").message(),
              HasSubstr("twice"));
  EXPECT_THAT(check("  - {id: d, name: D, kind: complaint, split_into: [a, e]}\n"
                    "  - {id: e, name: E, kind: complaint, retired: true}\n")
                  .message(),
              HasSubstr("name categories that take tickets"));
  EXPECT_THAT(check("  - {id: d, name: D, kind: complaint, split_into: [a, b], merged_into: c}\n")
                  .message(),
              HasSubstr("choose one"));
  // And a whole configuration says so.
  auto c = ParseConfig(
      "taxonomy: {categories: [{id: a, name: A, kind: complaint, merged_into: zz}]}", "/tmp");
  EXPECT_THAT(c.status().message(), HasSubstr("zz"));
}

TEST(Taxonomy, DroppedCategoriesAreKeptRetiredAndTheDiffSaysWhatChanged) {
  const v1::TaxonomyConfig v1 = EffectiveTaxonomy(Parse(kThree), {});
  std::vector<v1::TaxonomyChange> first = DiffTaxonomies({}, Cats(v1));
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].kind(), v1::CATEGORY_ADDED);

  const v1::TaxonomyConfig v2 = EffectiveTaxonomy(Parse(R"(categories:
  - {id: a, name: A2, kind: complaint, merged_into: b}
  - {id: b, name: B, kind: complaint, keywords: [x]}
  - {id: d, name: D, kind: praise}
)"),
                                                  Cats(v1));
  ASSERT_EQ(v2.categories_size(), 4);
  EXPECT_TRUE(v2.categories(0).retired());  // merged
  EXPECT_EQ(v2.categories(3).id(), "c");    // dropped, kept
  EXPECT_TRUE(v2.categories(3).retired());
  std::vector<std::string> said;
  for (const auto& ch : DiffTaxonomies(Cats(v1), Cats(v2)))
    said.push_back(
        absl::StrCat(v1::TaxonomyChangeKind_Name(ch.kind()), " ", ch.category_id(),
                     ch.into_size() ? absl::StrCat(" ", ch.into(0)) : "",
                     ch.fields_size() ? absl::StrCat(" ", ch.fields(0)) : "",
                     ch.before().empty() ? "" : absl::StrCat(" ", ch.before(), ">", ch.after())));
  EXPECT_THAT(said,
              ElementsAre("CATEGORY_RENAMED a A>A2", "CATEGORY_MERGED a b",
                          "CATEGORY_CHANGED b keywords", "CATEGORY_ADDED d", "CATEGORY_RETIRED c"));
  EXPECT_FALSE(SameTaxonomy(Cats(v1), Cats(v2), 0.5, 0.5));
  EXPECT_TRUE(SameTaxonomy(Cats(v2), Cats(v2), 0.5, 0.5));
  EXPECT_FALSE(SameTaxonomy(Cats(v2), Cats(v2), 0.5, 0.6));
  // Back again: restored, and the same file twice changes nothing.
  const v1::TaxonomyConfig v3 = EffectiveTaxonomy(Parse(kThree), Cats(v2));
  std::vector<std::string> kinds;
  for (const auto& ch : DiffTaxonomies(Cats(v2), Cats(v3)))
    kinds.push_back(absl::StrCat(v1::TaxonomyChangeKind_Name(ch.kind()), " ", ch.category_id()));
  EXPECT_THAT(kinds, ElementsAre("CATEGORY_RENAMED a", "CATEGORY_RESTORED a", "CATEGORY_CHANGED b",
                                 "CATEGORY_RESTORED c", "CATEGORY_RETIRED d"));
}

TEST(Taxonomy, OrderIsNoChangeAndAFirstVersionSaysItsMergesAndSplits) {
  const v1::TaxonomyConfig t = Parse(R"(categories:
  - {id: a, name: A, kind: complaint, merged_into: b}
  - {id: b, name: B, kind: complaint}
  - {id: s, name: S, kind: complaint, split_into: [b, c]}
  - {id: c, name: C, kind: complaint}
)");
  std::vector<v1::Category> cats = Cats(EffectiveTaxonomy(t, {}));
  std::vector<v1::Category> reordered(cats.rbegin(), cats.rend());
  std::swap(*reordered[1].mutable_split_into(0), *reordered[1].mutable_split_into(1));
  EXPECT_TRUE(SameTaxonomy(cats, reordered, 0.5, 0.5));
  EXPECT_TRUE(DiffTaxonomies(cats, reordered).empty());
  std::vector<std::string> kinds;
  for (const auto& ch : DiffTaxonomies({}, cats))
    kinds.push_back(absl::StrCat(v1::TaxonomyChangeKind_Name(ch.kind()), " ", ch.category_id()));
  EXPECT_THAT(kinds, ElementsAre("CATEGORY_ADDED a", "CATEGORY_MERGED a", "CATEGORY_ADDED b",
                                 "CATEGORY_ADDED s", "CATEGORY_SPLIT s", "CATEGORY_ADDED c"));
}

// A taxonomy comes from an admin's request too: a few lines of nested aliases ("billion
// laughs") or deep nesting are refused, not expanded.
TEST(Taxonomy, AliasBombsAndDeepNestingAreRefused) {
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 12; ++i)
    absl::StrAppend(&bomb, "a", i, ": &a", i, " [", "*a", i - 1, ", *a", i - 1, ", *a", i - 1,
                    ", *a", i - 1, ", *a", i - 1, ", *a", i - 1, ", *a", i - 1, ", *a", i - 1,
                    "]\n");
  absl::StrAppend(&bomb, "categories: *a11\n");
  auto t = ParseTaxonomyFile(bomb, "bomb.yaml");
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("aliases"));
  auto deep = ParseTaxonomyFile(
      absl::StrCat("categories: ", std::string(100, '['), std::string(100, ']'), "\n"),
      "deep.yaml");
  ASSERT_FALSE(deep.ok());
  EXPECT_THAT(deep.status().message(), HasSubstr("deep"));
}

TEST(Taxonomy, MergedCategoriesCountAsWhereTheirMergesEnd) {
  const v1::TaxonomyConfig t = Parse(R"(categories:
  - {id: a, name: A, kind: complaint, merged_into: b}
  - {id: b, name: B, kind: complaint, merged_into: c}
  - {id: c, name: C, kind: complaint}
)");
  const CountsAs counts(Cats(t));
  EXPECT_EQ(counts("a"), "c");
  EXPECT_EQ(counts("b"), "c");
  EXPECT_EQ(counts("c"), "c");
  EXPECT_EQ(counts("unknown"), "unknown");
  EXPECT_THAT(counts.MergedInto("c"), ElementsAre("a", "b"));
}

// A classifier that answers what it is told.
class Fixed final : public classify::Classifier {
 public:
  explicit Fixed(v1::Classification c) : c_(std::move(c)) {}
  v1::Classification Classify(const v1::Ticket&) const override { return c_; }
  absl::Status Learn(const v1::Ticket&, const std::string& id) override {
    learned.push_back(id);
    return absl::OkStatus();
  }
  std::string name() const override { return "fixed"; }
  absl::Status AddCategory(const v1::Category&, const std::vector<std::string>&) override {
    return absl::OkStatus();
  }
  std::vector<std::string> learned;

 private:
  v1::Classification c_;
};

v1::Classification Scored(std::vector<std::pair<std::string, double>> s) {
  v1::Classification c;
  c.set_category_id(s[0].first);
  c.set_confidence(s[0].second);
  for (size_t i = 1; i < s.size(); ++i) {
    auto* a = c.add_alternatives();
    a->set_category_id(s[i].first);
    a->set_confidence(s[i].second);
  }
  return c;
}

TEST(Taxonomy, TheClassifierNeverPicksARetiredCategory) {
  v1::TaxonomyConfig t = EffectiveTaxonomy(Parse(R"(review_threshold: 0.5
categories:
  - {id: a, name: A, kind: complaint, merged_into: b}
  - {id: b, name: B, kind: complaint}
  - {id: s, name: S, kind: complaint, split_into: [b, c]}
  - {id: c, name: C, kind: complaint}
  - {id: r, name: R, kind: complaint, retired: true}
)"),
                                           {});
  auto fixed = std::make_unique<Fixed>(v1::Classification());
  Fixed* inner = fixed.get();
  classify::TaxonomyView view(std::move(fixed), t);
  // A merged category's score counts for the one it went into, with that one's own.
  v1::Classification m = view.Map(Scored({{"a", 0.3}, {"b", 0.25}, {"c", 0.2}}));
  EXPECT_EQ(m.category_id(), "b");
  EXPECT_DOUBLE_EQ(m.confidence(), 0.55);
  EXPECT_FALSE(m.needs_review());
  ASSERT_EQ(m.alternatives_size(), 1);
  EXPECT_EQ(m.alternatives(0).category_id(), "c");
  EXPECT_THAT(m.reasons(m.reasons_size() - 1).feature(), HasSubstr("a was merged into b"));
  // A split or retired one's score is dropped; the best that takes tickets is a guess only
  // above its threshold.
  v1::Classification s = view.Map(Scored({{"s", 0.6}, {"c", 0.3}, {"r", 0.1}}));
  EXPECT_EQ(s.category_id(), "c");
  EXPECT_TRUE(s.needs_review());
  v1::Classification none = view.Map(Scored({{"r", 0.9}}));
  EXPECT_EQ(none.category_id(), "");
  EXPECT_TRUE(none.needs_review());
  // A category promoted since start (not in the taxonomy) still takes tickets.
  v1::Classification promoted = view.Map(Scored({{"promoted-x", 0.6}, {"a", 0.2}}));
  EXPECT_EQ(promoted.category_id(), "promoted-x");
  EXPECT_DOUBLE_EQ(promoted.runner_up(), 0.2);
  // Retired alternatives are left out even when the answer itself is not retired.
  v1::Classification alt = view.Map(Scored({{"b", 0.7}, {"r", 0.2}}));
  EXPECT_EQ(alt.category_id(), "b");
  EXPECT_EQ(alt.alternatives_size(), 0);
  // Untouched when nothing retired is in sight.
  v1::Classification plain = Scored({{"b", 0.7}, {"c", 0.2}});
  plain.set_needs_review(false);
  EXPECT_EQ(view.Map(plain).SerializeAsString(), plain.SerializeAsString());
  // Corrections follow merges; a retired category teaches nothing.
  v1::Ticket ticket;
  EXPECT_TRUE(view.Learn(ticket, "a").ok());
  EXPECT_TRUE(view.Learn(ticket, "r").ok());
  EXPECT_THAT(inner->learned, ElementsAre("b"));
  // Cold start learns the merged category's texts under the one it went into.
  v1::TaxonomyConfig training = classify::TrainingTaxonomy(t);
  std::vector<std::string> ids;
  for (const auto& c : training.categories()) ids.push_back(c.id());
  EXPECT_THAT(ids, ElementsAre("b", "c"));
  EXPECT_THAT(std::vector<std::string>(training.categories(0).seed_phrases().begin(),
                                       training.categories(0).seed_phrases().end()),
              ElementsAre("A"));
}

}  // namespace
}  // namespace debrief::config
