#include "classify/learned_classifier.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/time_util.h"
#include "classify/normalize.h"

namespace debrief::classify {
namespace {

std::vector<std::string> Tokens(const v1::Ticket& t) { return ModelTokens(t.subject(), t.body()); }

// A training row, or a text to predict or learn, is a ticket's message: the same
// normalisation as a ticket's body (quoted replies and signatures dropped), so a model
// learns from what it will later be shown.
std::vector<std::string> Tokens(const std::string& text) { return ModelTokens("", text); }

}  // namespace

std::vector<std::string> SeedTexts(const v1::Category& c) {
  std::vector<std::string> out;
  if (!c.name().empty()) out.push_back(c.name());
  if (!c.description().empty()) out.push_back(c.description());
  for (const auto& p : c.seed_phrases()) out.push_back(p);
  for (const auto& k : c.keywords()) {
    std::string words;
    for (char ch : k)
      words.push_back((ch == '(' || ch == ')' || ch == '?' || ch == '|' || ch == ':' || ch == '[' ||
                       ch == ']' || ch == '*' || ch == '+' || ch == '\\')
                          ? ' '
                          : ch);
    out.push_back(words);
  }
  return out;
}

LearnedClassifier::LearnedClassifier(std::vector<v1::Category> categories,
                                     const v1::HashingParams& hashing, LinearModel model,
                                     const spi::Clock& clock)
    : categories_(std::move(categories)),
      idf_(1u << hashing.bits(), 1.0f),
      extractor_(hashing),
      model_(std::move(model)),
      clock_(clock) {
  extractor_.set_idf(&idf_);
}

int LearnedClassifier::CategoryIndex(const std::string& id) const {
  for (size_t i = 0; i < categories_.size(); ++i)
    if (categories_[i].id() == id) return static_cast<int>(i);
  return -1;
}

absl::StatusOr<std::unique_ptr<LearnedClassifier>> LearnedClassifier::Train(
    const v1::TaxonomyConfig& taxonomy, const std::vector<LabeledText>& data,
    const TrainConfig& config, const spi::Clock& clock, TrainReport* report) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<v1::Category> categories(taxonomy.categories().begin(), taxonomy.categories().end());
  std::map<std::string, int> index;
  for (size_t i = 0; i < categories.size(); ++i) index[categories[i].id()] = static_cast<int>(i);
  if (categories.empty()) {
    for (const auto& row : data) {
      if (index.count(row.label)) continue;
      index[row.label] = static_cast<int>(categories.size());
      v1::Category& c = categories.emplace_back();
      c.set_id(row.label);
      c.set_name(row.label);
      c.set_kind(v1::COMPLAINT);
    }
  } else {
    std::set<std::string> unknown;
    for (const auto& row : data)
      if (!index.count(row.label) && row.label != config.oos_label) unknown.insert(row.label);
    if (!unknown.empty())
      return absl::InvalidArgumentError(
          absl::StrCat("labels not in the taxonomy: ", absl::StrJoin(unknown, ", ")));
    bool has_oos = false;
    for (const auto& row : data) has_oos |= row.label == config.oos_label;
    if (has_oos) {
      index[config.oos_label] = static_cast<int>(categories.size());
      v1::Category& c = categories.emplace_back();
      c.set_id(config.oos_label);
      c.set_name("Out of scope");
      c.set_kind(v1::QUESTION);
    }
  }
  if (categories.size() < 2)
    return absl::InvalidArgumentError("a classifier needs at least two categories");

  const bool few = data.size() < static_cast<size_t>(kFewShotPerClass) * categories.size();
  v1::HashingParams hashing = config.hashing.value_or(FeatureExtractor::Defaults(few));
  if (config.adjust_hashing) config.adjust_hashing(&hashing);

  // Inverse document frequency per bucket (smoothed as scikit-learn does), from the data
  // and the taxonomy's own texts; buckets never seen get the largest value.
  std::vector<std::vector<std::string>> all_tokens;
  for (const auto& r : data) all_tokens.push_back(Tokens(r.text));
  for (const auto& c : categories)
    for (const std::string& s : SeedTexts(c)) all_tokens.push_back(TokenizeText(s));
  std::vector<float> idf(1u << hashing.bits(), 1.0f);
  {
    FeatureExtractor plain(hashing);
    std::vector<uint32_t> df(idf.size(), 0);
    FeatureVector x;
    for (const auto& t : all_tokens) {
      plain.Extract(t, &x);
      for (uint32_t i : x.index) ++df[i];
    }
    const double n = static_cast<double>(all_tokens.size());
    for (size_t i = 0; i < idf.size(); ++i)
      idf[i] = static_cast<float>(std::log((n + 1) / (df[i] + 1)) + 1);
  }
  FeatureExtractor fx(hashing);
  if (config.use_idf) fx.set_idf(&idf);
  auto to_examples = [&](const std::vector<LabeledText>& rows, std::vector<Example>* out) {
    for (const auto& r : rows) {
      Example& e = out->emplace_back();
      fx.Extract(Tokens(r.text), &e.x);
      e.label = index.at(r.label);
    }
  };
  std::vector<Example> seeds;
  for (size_t i = 0; i < categories.size(); ++i) {
    for (const std::string& s : SeedTexts(categories[i])) {
      Example& e = seeds.emplace_back();
      fx.Extract(TokenizeText(s), &e.x);
      e.label = static_cast<int>(i);
    }
  }
  TrainOptions options = config.options;
  if (options.loss == Loss::kAuto) {
    options.loss = few ? Loss::kLogistic : Loss::kPassiveAggressive;
    if (few) options.epochs *= 2;  // small data: more passes cost little
  }
  auto fit = [&](const std::vector<Example>& examples, int epochs) {
    LinearModel m(static_cast<int>(categories.size()), fx.dim());
    std::vector<Example> all = seeds;
    all.insert(all.end(), examples.begin(), examples.end());
    TrainOptions o = options;
    o.epochs = epochs;
    m.Fit(all, o);
    return m;
  };

  // Without held-out data (a taxonomy alone, or little history), the temperature that
  // calibration finds for averaged-PA margins on Banking77 and CLINC150 (0.10 to 0.13).
  float temperature = options.loss == Loss::kPassiveAggressive ? 0.12f : 1.0f;
  double abstain =
      taxonomy.review_threshold() > 0 ? taxonomy.review_threshold() : config.review_threshold;
  const int oos = index.count(config.oos_label) ? index.at(config.oos_label) : -1;
  if (config.calibration_fraction > 0 && data.size() >= 200) {
    std::vector<LabeledText> train_rows, held_rows;
    SplitStratified(data, config.calibration_fraction, config.options.seed, &train_rows,
                    &held_rows);
    std::vector<Example> train, held;
    to_examples(train_rows, &train);
    to_examples(held_rows, &held);
    // The probe only sets the temperature and threshold: half the passes are enough.
    LinearModel probe = fit(train, std::max(3, options.epochs / 2));
    // Scores once; the temperature and the threshold are searched over them.
    std::vector<std::vector<float>> scores(held.size(), std::vector<float>(probe.classes()));
    for (size_t i = 0; i < held.size(); ++i) probe.Scores(held[i].x, scores[i].data());
    auto probs = [&](const std::vector<float>& s, float t, std::vector<float>* p) {
      p->assign(s.begin(), s.end());
      float mx = *std::max_element(p->begin(), p->end()), sum = 0;
      for (float& v : *p) sum += (v = std::exp((v - mx) / t));
      for (float& v : *p) v /= sum;
    };
    std::vector<float> p;
    double best = 1e300;
    for (float t = 0.02f; t <= 3.0f; t *= 1.1f) {
      double nll = 0;
      for (size_t i = 0; i < held.size(); ++i) {
        probs(scores[i], t, &p);
        nll -= std::log(std::max(p[held[i].label], 1e-12f));
      }
      if (nll < best) {
        best = nll;
        temperature = t;
      }
    }
    if (oos >= 0) {
      // The threshold with the best in-scope accuracy that still recognises at least
      // kMinOosRecall of the out-of-scope examples.
      constexpr double kMinOosRecall = 0.75;
      std::vector<std::pair<int, float>> top(held.size());
      for (size_t i = 0; i < held.size(); ++i) {
        probs(scores[i], temperature, &p);
        int k = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
        top[i] = {k, p[k]};
      }
      double best_in = -1, fallback = -1;
      for (double th = 0.0; th < 0.99; th += 0.01) {
        size_t in_ok = 0, in_n = 0, oos_ok = 0, oos_n = 0;
        for (size_t i = 0; i < held.size(); ++i) {
          bool says_oos = top[i].first == oos || top[i].second < th;
          if (held[i].label == oos) {
            ++oos_n;
            oos_ok += says_oos;
          } else {
            ++in_n;
            in_ok += !says_oos && top[i].first == held[i].label;
          }
        }
        double in_acc = in_n ? double(in_ok) / in_n : 0, rec = oos_n ? double(oos_ok) / oos_n : 1;
        if (rec >= kMinOosRecall && in_acc > best_in) {
          best_in = in_acc;
          abstain = th;
        }
        if (best_in < 0 && in_acc + rec > fallback) {
          fallback = in_acc + rec;
          abstain = th;
        }
      }
    }
  }
  std::vector<Example> all;
  to_examples(data, &all);
  LinearModel model = fit(all, options.epochs);

  std::unique_ptr<LearnedClassifier> c(
      new LearnedClassifier(std::move(categories), hashing, std::move(model), clock));
  if (config.use_idf) c->idf_ = std::move(idf);
  c->temperature_ = temperature;
  c->abstain_below_ = abstain;
  c->oos_index_ = oos;
  c->oos_label_ = oos >= 0 ? config.oos_label : "";
  c->examples_ = data.size() + seeds.size();
  c->online_rate_ = options.learning_rate;
  if (report) {
    report->examples = data.size();
    report->seed_examples = seeds.size();
    report->temperature = temperature;
    report->abstain_below = abstain;
    report->seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return c;
}

v1::ClassifierModel LearnedClassifier::ToProto() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  v1::ClassifierModel m;
  m.set_format_version(kModelFormatVersion);
  for (const auto& c : categories_) *m.add_categories() = c;
  *m.mutable_hashing() = extractor_.params();
  m.set_temperature(temperature_);
  m.set_abstain_below(abstain_below_);
  m.set_oos_label(oos_label_);
  model_.ToProto(&m);
  for (const auto& row : m.rows()) m.add_idf(idf_[row.feature()]);
  m.set_default_idf(*std::max_element(idf_.begin(), idf_.end()));
  base::SetTimestamp(m.mutable_trained_at(), clock_.Now());
  m.set_examples(examples_);
  return m;
}

absl::Status LearnedClassifier::Save(const std::string& path) const {
  v1::ClassifierModel m = ToProto();
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out || !m.SerializeToOstream(&out))
      return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    return absl::UnavailableError(absl::StrCat("cannot rename to ", path, ": ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<LearnedClassifier>> LearnedClassifier::FromProto(
    const v1::ClassifierModel& m, const spi::Clock& clock) {
  if (m.format_version() != kModelFormatVersion)
    return absl::FailedPreconditionError(absl::StrCat("model format ", m.format_version(),
                                                      " is not ", kModelFormatVersion,
                                                      "; retrain with this debriefctl"));
  if (m.hashing().char_max() < m.hashing().char_min() || m.hashing().char_max() > 12)
    return absl::InvalidArgumentError("model hashing has a bad character n-gram range");
  auto model = LinearModel::FromProto(m);
  if (!model.ok()) return model.status();
  std::vector<v1::Category> cats(m.categories().begin(), m.categories().end());
  std::unique_ptr<LearnedClassifier> c(
      new LearnedClassifier(std::move(cats), m.hashing(), std::move(*model), clock));
  if (m.idf_size() != 0 && m.idf_size() != m.rows_size())
    return absl::InvalidArgumentError("model idf does not match its rows");
  if (m.idf_size() > 0) {
    std::fill(c->idf_.begin(), c->idf_.end(), m.default_idf() > 0 ? m.default_idf() : 1.0f);
    for (int i = 0; i < m.rows_size(); ++i) c->idf_[m.rows(i).feature()] = m.idf(i);
  }
  c->temperature_ = m.temperature() > 0 ? static_cast<float>(m.temperature()) : 1.0f;
  c->abstain_below_ = m.abstain_below();
  c->oos_label_ = m.oos_label();
  c->oos_index_ = m.oos_label().empty() ? -1 : c->CategoryIndex(m.oos_label());
  c->examples_ = m.examples();
  return c;
}

absl::StatusOr<std::unique_ptr<LearnedClassifier>> LearnedClassifier::Load(
    const std::string& path, const spi::Clock& clock) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read model ", path));
  v1::ClassifierModel m;
  if (!m.ParseFromIstream(&in))
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a Debrief model file"));
  auto c = FromProto(m, clock);
  if (!c.ok())
    return absl::Status(c.status().code(), absl::StrCat(path, ": ", c.status().message()));
  return c;
}

LearnedClassifier::Prediction LearnedClassifier::Predict(const std::string& text) const {
  FeatureVector x;
  extractor_.Extract(Tokens(text), &x);
  std::vector<float> p;
  std::shared_lock<std::shared_mutex> lock(mu_);
  model_.Probabilities(x, temperature_, &p);
  int top = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
  return {top, p[top]};
}

v1::Classification LearnedClassifier::Classify(const v1::Ticket& ticket) const {
  FeatureVector x;
  const std::vector<std::string> tokens = Tokens(ticket);
  extractor_.Extract(tokens, &x, /*explain=*/true);
  std::vector<float> p;
  v1::Classification out;
  out.set_model(name());
  base::SetTimestamp(out.mutable_classified_at(), clock_.Now());
  std::vector<int32_t> rows;
  std::shared_lock<std::shared_mutex> lock(mu_);
  model_.Probabilities(x, temperature_, &p, &rows);
  std::vector<int> order(p.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::partial_sort(order.begin(), order.begin() + std::min<size_t>(4, order.size()), order.end(),
                    [&](int a, int b) { return p[a] > p[b]; });
  const int top = order[0];
  const v1::Category& cat = categories_[top];
  const double threshold = cat.review_threshold() > 0 ? cat.review_threshold() : abstain_below_;
  out.set_confidence(p[top]);
  if (order.size() > 1) out.set_runner_up(p[order[1]]);
  if (x.index.empty()) {
    out.set_needs_review(true);
    out.add_reasons()->set_feature("no words to go by");
    out.set_confidence(0);
    return out;
  }
  if (top == oos_index_) {
    out.set_needs_review(true);
    v1::Reason* r = out.add_reasons();
    r->set_feature("out of scope: unlike every category");
    r->set_weight(p[top]);
    return out;
  }
  out.set_category_id(cat.id());
  out.set_needs_review(p[top] < threshold);
  // Why: what each word (its own feature, its character n-grams, its pairs) added to the
  // winning category beyond the average category.
  std::vector<float> contribution(x.index.size());
  model_.Contributions(x, rows, top, contribution.data());
  std::vector<double> by_origin(tokens.size() * 4, 0.0);
  for (size_t i = 0; i < x.index.size(); ++i) by_origin[x.origin[i]] += contribution[i];
  // The five largest, kept in order as the scan goes (ties: the earlier word first).
  constexpr size_t kShown = 5;
  std::array<std::pair<double, uint32_t>, kShown> best{};
  size_t shown = 0;
  for (uint32_t o = 0; o < by_origin.size(); ++o) {
    const double v = by_origin[o];
    if (v <= 0 || (shown == kShown && v <= best[kShown - 1].first)) continue;
    size_t k = shown < kShown ? shown++ : kShown - 1;
    for (; k > 0 && best[k - 1].first < v; --k) best[k] = best[k - 1];
    best[k] = {v, o};
  }
  for (size_t i = 0; i < shown; ++i) {
    v1::Reason* r = out.add_reasons();
    r->set_feature(absl::StrCat("\"", FeatureVector::OriginText(tokens, best[i].second), "\""));
    r->set_weight(best[i].first);
  }
  for (size_t i = 1; i < order.size() && i < 4; ++i) {
    if (order[i] == oos_index_) continue;
    v1::ScoredCategory* alt = out.add_alternatives();
    alt->set_category_id(categories_[order[i]].id());
    alt->set_confidence(p[order[i]]);
  }
  return out;
}

absl::Status LearnedClassifier::LearnFeatures(const FeatureVector& x,
                                              const std::string& category_id, int max_steps) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  int label = CategoryIndex(category_id);
  if (label < 0) return absl::NotFoundError(absl::StrCat("unknown category ", category_id));
  std::vector<float> p;
  for (int i = 0; i < max_steps; ++i) {
    model_.Update(x, label, online_rate_);
    if (i + 1 == max_steps) break;
    model_.Probabilities(x, temperature_, &p);
    if (std::max_element(p.begin(), p.end()) - p.begin() == label) break;
  }
  ++examples_;
  return absl::OkStatus();
}

absl::Status LearnedClassifier::LearnText(const std::string& text, const std::string& category_id) {
  FeatureVector x;
  extractor_.Extract(Tokens(text), &x);
  return LearnFeatures(x, category_id, /*max_steps=*/1);
}

absl::Status LearnedClassifier::Learn(const v1::Ticket& ticket, const std::string& category_id) {
  FeatureVector x;
  extractor_.Extract(Tokens(ticket), &x);
  // A correction should move this ticket over: repeat the step (at most a few times) until
  // the model agrees, so the agent sees the effect at once.
  return LearnFeatures(x, category_id, /*max_steps=*/5);
}

absl::Status LearnedClassifier::ApplyTaxonomy(const v1::TaxonomyConfig& taxonomy) {
  if (taxonomy.categories().empty()) return absl::OkStatus();
  std::set<std::string> wanted;
  for (const auto& c : taxonomy.categories()) wanted.insert(c.id());
  std::vector<std::string> extra;
  for (const auto& c : categories_)
    if (!wanted.count(c.id()) && c.id() != oos_label_) extra.push_back(c.id());
  if (!extra.empty())
    return absl::InvalidArgumentError(
        absl::StrCat("the model knows categories the taxonomy lacks: ", absl::StrJoin(extra, ", "),
                     " (add them to the taxonomy or retrain)"));
  if (taxonomy.review_threshold() > 0 && oos_index_ < 0)
    abstain_below_ = taxonomy.review_threshold();
  for (const auto& c : taxonomy.categories()) {
    int i = CategoryIndex(c.id());
    if (i >= 0) {
      std::unique_lock<std::shared_mutex> lock(mu_);
      categories_[i] = c;
    } else if (auto s = AddCategory(c, {}); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status LearnedClassifier::AddCategory(const v1::Category& category,
                                            const std::vector<std::string>& examples) {
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    if (CategoryIndex(category.id()) >= 0)
      return absl::AlreadyExistsError(absl::StrCat("category ", category.id(), " exists"));
    categories_.push_back(category);
    model_.AddClass();
  }
  for (int epoch = 0; epoch < 3; ++epoch) {
    // Seed phrases are phrases, not message bodies: read as training reads them.
    for (const std::string& s : SeedTexts(category)) {
      FeatureVector x;
      extractor_.Extract(TokenizeText(s), &x);
      if (auto st = LearnFeatures(x, category.id(), /*max_steps=*/1); !st.ok()) return st;
    }
    for (const std::string& e : examples)
      if (auto st = LearnText(e, category.id()); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace debrief::classify
