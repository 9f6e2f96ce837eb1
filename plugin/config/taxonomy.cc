#include "config/taxonomy.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/message_differencer.h"

namespace debrief::config {

namespace {

bool Takes(const v1::Category& c) {
  return !c.retired() && c.merged_into().empty() && c.split_into().empty();
}

}  // namespace

absl::Status ValidateTaxonomyChanges(const v1::TaxonomyConfig& taxonomy) {
  std::map<std::string, const v1::Category*> by_id;
  for (const auto& c : taxonomy.categories()) by_id[c.id()] = &c;
  auto named = [&](const v1::Category& c, const std::string& other,
                   const char* how) -> absl::Status {
    if (other == c.id())
      return absl::InvalidArgumentError(
          absl::StrCat("taxonomy: category ", c.id(), " cannot be ", how, " itself"));
    if (!by_id.contains(other))
      return absl::InvalidArgumentError(absl::StrCat("taxonomy: category ", c.id(), " is ", how,
                                                     " ", other, ", which is not in the taxonomy"));
    return absl::OkStatus();
  };
  for (const auto& c : taxonomy.categories()) {
    if (!c.merged_into().empty() && c.split_into_size() > 0)
      return absl::InvalidArgumentError(absl::StrCat(
          "taxonomy: category ", c.id(), " is both merged_into and split_into: choose one"));
    if (!c.merged_into().empty()) {
      if (absl::Status s = named(c, c.merged_into(), "merged into"); !s.ok()) return s;
      // A chain of merges ends at a category that takes tickets.
      std::set<std::string> seen{c.id()};
      const v1::Category* at = by_id[c.merged_into()];
      while (!at->merged_into().empty()) {
        if (!seen.insert(at->id()).second || !by_id.contains(at->merged_into()))
          return absl::InvalidArgumentError(
              absl::StrCat("taxonomy: the merges from ", c.id(), " go round in a circle"));
        at = by_id[at->merged_into()];
      }
      if (seen.contains(at->id()))
        return absl::InvalidArgumentError(
            absl::StrCat("taxonomy: the merges from ", c.id(), " go round in a circle"));
      if (!Takes(*at))
        return absl::InvalidArgumentError(
            absl::StrCat("taxonomy: category ", c.id(), " is merged into ", at->id(),
                         ", which is retired or split: merge it into one that takes tickets"));
    }
    if (c.split_into_size() == 1)
      return absl::InvalidArgumentError(absl::StrCat("taxonomy: category ", c.id(),
                                                     " is split into one category: write "
                                                     "merged_into: ",
                                                     c.split_into(0), " instead"));
    std::set<std::string> parts;
    for (const std::string& part : c.split_into()) {
      if (absl::Status s = named(c, part, "split into"); !s.ok()) return s;
      if (!parts.insert(part).second)
        return absl::InvalidArgumentError(
            absl::StrCat("taxonomy: category ", c.id(), " names ", part, " twice in split_into"));
      if (!Takes(*by_id[part]))
        return absl::InvalidArgumentError(absl::StrCat(
            "taxonomy: category ", c.id(), " is split into ", part,
            ", which is retired, merged or split itself: name categories that take tickets"));
    }
  }
  return absl::OkStatus();
}

v1::TaxonomyConfig EffectiveTaxonomy(const v1::TaxonomyConfig& declared,
                                     const std::vector<v1::Category>& previous) {
  v1::TaxonomyConfig out = declared;
  std::set<std::string> ids;
  for (auto& c : *out.mutable_categories()) {
    ids.insert(c.id());
    if (!c.merged_into().empty() || c.split_into_size() > 0) c.set_retired(true);
  }
  for (const v1::Category& p : previous) {
    if (ids.contains(p.id())) continue;
    v1::Category* kept = out.add_categories();
    *kept = p;
    kept->set_retired(true);
  }
  return out;
}

namespace {

// The settings of a category a change of CATEGORY_CHANGED names (every field but the id, the
// name and the taxonomy-change ones).
std::vector<std::string> ChangedFields(const v1::Category& a, const v1::Category& b) {
  std::vector<std::string> out;
  const auto* d = v1::Category::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    const std::string& n = f->name();
    if (n == "id" || n == "name" || n == "retired" || n == "merged_into" || n == "split_into")
      continue;
    google::protobuf::util::MessageDifferencer diff;
    std::vector<const google::protobuf::FieldDescriptor*> only{f};
    if (!diff.CompareWithFields(a, b, only, only)) out.push_back(n);
  }
  return out;
}

}  // namespace

std::vector<v1::TaxonomyChange> DiffTaxonomies(const std::vector<v1::Category>& before,
                                               const std::vector<v1::Category>& after) {
  std::map<std::string, const v1::Category*> old;
  for (const auto& c : before) old[c.id()] = &c;
  const CountsAs counts_as(after);
  std::vector<v1::TaxonomyChange> out;
  auto add = [&](v1::TaxonomyChangeKind kind, const v1::Category& c) -> v1::TaxonomyChange& {
    v1::TaxonomyChange& ch = out.emplace_back();
    ch.set_kind(kind);
    ch.set_category_id(c.id());
    return ch;
  };
  for (const v1::Category& c : after) {
    auto it = old.find(c.id());
    if (it == old.end()) {
      add(v1::CATEGORY_ADDED, c);
      // Merged or split from the start (a first version over older tickets): said, so that
      // what it means for them is done.
      if (!c.merged_into().empty()) add(v1::CATEGORY_MERGED, c).add_into(counts_as(c.id()));
      if (c.split_into_size() > 0) {
        auto& ch = add(v1::CATEGORY_SPLIT, c);
        for (const auto& p : c.split_into()) ch.add_into(p);
      }
      continue;
    }
    const v1::Category& b = *it->second;
    if (b.name() != c.name()) {
      auto& ch = add(v1::CATEGORY_RENAMED, c);
      ch.set_before(b.name());
      ch.set_after(c.name());
    }
    const bool took = !b.retired(), takes = !c.retired();
    if (!c.merged_into().empty() && c.merged_into() != b.merged_into()) {
      add(v1::CATEGORY_MERGED, c).add_into(counts_as(c.id()));
    } else if (c.split_into_size() > 0 &&
               std::set<std::string>(c.split_into().begin(), c.split_into().end()) !=
                   std::set<std::string>(b.split_into().begin(), b.split_into().end())) {
      auto& ch = add(v1::CATEGORY_SPLIT, c);
      for (const auto& p : c.split_into()) ch.add_into(p);
    } else if (took && !takes) {
      add(v1::CATEGORY_RETIRED, c);
    } else if (!took && takes) {
      add(v1::CATEGORY_RESTORED, c);
    }
    if (std::vector<std::string> fields = ChangedFields(b, c); !fields.empty()) {
      auto& ch = add(v1::CATEGORY_CHANGED, c);
      for (auto& f : fields) ch.add_fields(std::move(f));
    }
  }
  return out;
}

bool SameTaxonomy(const std::vector<v1::Category>& a, const std::vector<v1::Category>& b,
                  double threshold_a, double threshold_b) {
  if (a.size() != b.size() || threshold_a != threshold_b) return false;
  // The order categories are written in is no change.
  std::map<std::string, const v1::Category*> by_id;
  for (const auto& c : a) by_id[c.id()] = &c;
  for (const auto& c : b) {
    auto it = by_id.find(c.id());
    if (it == by_id.end()) return false;
    v1::Category x = *it->second, y = c;
    // Nor is the order of a split's parts.
    std::sort(x.mutable_split_into()->begin(), x.mutable_split_into()->end());
    std::sort(y.mutable_split_into()->begin(), y.mutable_split_into()->end());
    if (!google::protobuf::util::MessageDifferencer::Equals(x, y)) return false;
  }
  return true;
}

CountsAs::CountsAs(const std::vector<v1::Category>& categories) {
  std::map<std::string, std::string> next;
  for (const auto& c : categories)
    if (!c.merged_into().empty()) next[c.id()] = c.merged_into();
  for (const auto& [id, first] : next) {
    std::string at = first;
    std::set<std::string> seen{id};
    while (next.contains(at) && seen.insert(at).second) at = next[at];
    to_[id] = at;
  }
}

std::string CountsAs::operator()(const std::string& id) const {
  auto it = to_.find(id);
  return it == to_.end() ? id : it->second;
}

std::vector<std::string> CountsAs::MergedInto(const std::string& id) const {
  std::vector<std::string> out;
  for (const auto& [from, to] : to_)
    if (to == id) out.push_back(from);
  return out;
}

}  // namespace debrief::config
