#include "classify/keyword_classifier.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/time_util.h"
#include "classify/text.h"

namespace debrief::classify {
namespace {

constexpr double kKeywordWeight = 1.0;
constexpr double kSubjectBonus = 1.5;
constexpr double kPhraseWeight = 2.0;
constexpr double kPhraseMinCoverage = 0.6;
constexpr double kExemplarWeight = 2.0;
constexpr double kExemplarMinOverlap = 0.5;
constexpr size_t kMaxExemplarsPerCategory = 200;

std::vector<std::string> UniqueTokens(absl::string_view text) {
  std::vector<std::string> t = ContentTokens(text);
  std::sort(t.begin(), t.end());
  t.erase(std::unique(t.begin(), t.end()), t.end());
  return t;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KeywordClassifier>> KeywordClassifier::Create(
    const v1::TaxonomyConfig& taxonomy, const spi::Clock& clock) {
  std::unique_ptr<KeywordClassifier> c(new KeywordClassifier(clock));
  RE2::Options opts;
  opts.set_case_sensitive(false);
  opts.set_log_errors(false);
  for (const auto& cat : taxonomy.categories()) {
    Entry e;
    e.category = cat;
    e.threshold = cat.review_threshold() > 0 ? cat.review_threshold() : taxonomy.review_threshold();
    for (const auto& kw : cat.keywords()) {
      auto re = std::make_unique<RE2>(absl::StrCat("\\b((?:", kw, "))\\b"), opts);
      if (!re->ok())
        return absl::InvalidArgumentError(
            absl::StrCat("category ", cat.id(), ": keyword \"", kw, "\": ", re->error()));
      e.keywords.push_back(std::move(re));
    }
    for (const auto& p : cat.seed_phrases()) {
      Phrase ph{p, UniqueTokens(p)};
      if (!ph.tokens.empty()) e.phrases.push_back(std::move(ph));
    }
    c->entries_.push_back(std::move(e));
  }
  return c;
}

v1::Classification KeywordClassifier::Classify(const v1::Ticket& ticket) const {
  const std::string text = absl::StrCat(ticket.subject(), "\n", ticket.body());
  std::vector<std::string> tokens = UniqueTokens(text);
  absl::flat_hash_set<absl::string_view> have(tokens.begin(), tokens.end());

  struct Scored {
    size_t index;
    double score;
    std::vector<v1::Reason> reasons;
  };
  std::vector<Scored> scored;
  std::shared_lock<std::shared_mutex> lock(mu_);
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    Scored s{i, 0, {}};
    for (const auto& re : e.keywords) {
      re2::StringPiece match;
      double w = 0;
      if (RE2::PartialMatch(ticket.subject(), *re, &match)) {
        w = kKeywordWeight * kSubjectBonus;
      } else if (RE2::PartialMatch(ticket.body(), *re, &match)) {
        w = kKeywordWeight;
      }
      if (w > 0) {
        s.score += w;
        v1::Reason& r = s.reasons.emplace_back();
        r.set_feature(
            absl::StrCat("keyword \"", absl::string_view(match.data(), match.size()), "\""));
        r.set_weight(w);
      }
    }
    auto overlap = [&](const Phrase& p) {
      size_t n = 0;
      for (const auto& t : p.tokens) n += have.count(t);
      return static_cast<double>(n) / static_cast<double>(p.tokens.size());
    };
    for (const Phrase& p : e.phrases) {
      double cov = overlap(p);
      if (cov >= kPhraseMinCoverage && (p.tokens.size() > 1 || cov == 1.0)) {
        double w = kPhraseWeight * cov;
        s.score += w;
        v1::Reason& r = s.reasons.emplace_back();
        r.set_feature(absl::StrCat("phrase \"", p.text, "\""));
        r.set_weight(w);
      }
    }
    double best_ex = 0;
    const Phrase* best = nullptr;
    for (const Phrase& p : e.exemplars) {
      // Jaccard-like: shared words over the larger of the two sets.
      size_t shared = 0;
      for (const auto& t : p.tokens) shared += have.count(t);
      double sim = static_cast<double>(shared) /
                   static_cast<double>(std::max(p.tokens.size(), tokens.size()));
      if (sim > best_ex) {
        best_ex = sim;
        best = &p;
      }
    }
    if (best != nullptr && best_ex >= kExemplarMinOverlap) {
      double w = kExemplarWeight * best_ex;
      s.score += w;
      v1::Reason& r = s.reasons.emplace_back();
      r.set_feature(
          absl::StrCat("like a ticket an agent tagged: \"", best->text.substr(0, 80), "\""));
      r.set_weight(w);
    }
    if (s.score > 0) scored.push_back(std::move(s));
  }

  std::sort(scored.begin(), scored.end(),
            [](const Scored& a, const Scored& b) { return a.score > b.score; });
  v1::Classification out;
  out.set_model(name());
  base::SetTimestamp(out.mutable_classified_at(), clock_.Now());
  if (scored.empty()) {
    out.set_needs_review(true);
    v1::Reason& r = *out.add_reasons();
    r.set_feature("no keyword or seed phrase of any category matched");
    return out;
  }
  const double top = scored[0].score;
  const double runner_up = scored.size() > 1 ? scored[1].score : 0.0;
  auto confidence = [&](double s) { return (1.0 - std::exp(-s)) * s / (top + runner_up); };
  const Entry& best = entries_[scored[0].index];
  out.set_category_id(best.category.id());
  out.set_confidence(confidence(top));
  out.set_needs_review(out.confidence() < best.threshold);
  std::sort(scored[0].reasons.begin(), scored[0].reasons.end(),
            [](const v1::Reason& a, const v1::Reason& b) { return a.weight() > b.weight(); });
  for (auto& r : scored[0].reasons) *out.add_reasons() = std::move(r);
  for (size_t i = 1; i < scored.size() && i < 4; ++i) {
    v1::ScoredCategory* alt = out.add_alternatives();
    alt->set_category_id(entries_[scored[i].index].category.id());
    alt->set_confidence(confidence(scored[i].score));
  }
  return out;
}

absl::Status KeywordClassifier::AddCategory(const v1::Category& category,
                                            const std::vector<std::string>& examples) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  for (const Entry& e : entries_)
    if (e.category.id() == category.id())
      return absl::AlreadyExistsError(absl::StrCat("category ", category.id(), " exists"));
  Entry e;
  e.category = category;
  e.threshold = category.review_threshold() > 0 ? category.review_threshold() : 0.5;
  for (const auto& p : category.seed_phrases()) {
    Phrase ph{p, UniqueTokens(p)};
    if (!ph.tokens.empty()) e.phrases.push_back(std::move(ph));
  }
  for (const auto& x : examples) {
    Phrase ph{x, UniqueTokens(x)};
    if (!ph.tokens.empty() && e.exemplars.size() < kMaxExemplarsPerCategory)
      e.exemplars.push_back(std::move(ph));
  }
  entries_.push_back(std::move(e));
  return absl::OkStatus();
}

absl::Status KeywordClassifier::Learn(const v1::Ticket& ticket, const std::string& category_id) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  for (Entry& e : entries_) {
    if (e.category.id() != category_id) continue;
    std::string text = absl::StrCat(ticket.subject(), " ", ticket.body());
    Phrase p{text, UniqueTokens(text)};
    if (p.tokens.empty()) return absl::OkStatus();
    if (e.exemplars.size() >= kMaxExemplarsPerCategory) e.exemplars.erase(e.exemplars.begin());
    e.exemplars.push_back(std::move(p));
    return absl::OkStatus();
  }
  return absl::NotFoundError(absl::StrCat("unknown category ", category_id));
}

}  // namespace debrief::classify
