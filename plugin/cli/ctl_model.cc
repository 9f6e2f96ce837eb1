// train and eval: models from labelled CSV (text,category) and the tickets a store already has
// labels for; no debriefd needed.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "classify/dataset.h"
#include "classify/evaluate.h"
#include "classify/learned_classifier.h"
#include "cli/ctl.h"
#include "config/config.h"
#include "debrief/spi/clock.h"
#include "store/sqlite_store.h"

namespace debrief::cli {
namespace {

struct Args {
  std::vector<std::string> data_paths;
  std::string taxonomy_path, out_path, store_path, model_path;
  int epochs = 0, bits = 0, char_min = -1, char_max = -1, char_words = -1;
  double learning_rate = 0, char_weight = 0, calibration = -1;
  std::string loss = "auto";
  bool json_out = false;
};

absl::StatusOr<std::vector<classify::LabeledText>> ReadRows(const Args& a) {
  std::vector<classify::LabeledText> rows;
  for (const auto& p : a.data_paths) {
    auto r = classify::ReadLabeledCsv(p);
    if (!r.ok()) return r.status();
    rows.insert(rows.end(), r->begin(), r->end());
  }
  return rows;
}

int Train(const Args& a) {
  if (a.data_paths.empty() && a.store_path.empty())
    return Fail(absl::InvalidArgumentError("give --data CSV and/or --store DB"));
  auto rows = ReadRows(a);
  if (!rows.ok()) return Fail(rows.status());
  v1::TaxonomyConfig taxonomy;
  if (!a.taxonomy_path.empty()) {
    // No folder: the file named is read as it is (relative to here), never a conf_dir's.
    auto c = config::ParseConfig(absl::StrCat("taxonomy: {file: \"", a.taxonomy_path, "\"}"), "");
    if (!c.ok()) return Fail(c.status());
    taxonomy = c->taxonomy();
  }
  if (!a.store_path.empty()) {
    std::set<std::string> known;
    for (const auto& c : taxonomy.categories()) known.insert(c.id());
    for (const auto& r : *rows) known.insert(r.label);
    auto store = store::OpenSqliteStore({.path = a.store_path}, spi::SystemClock::Get());
    if (!store.ok()) return Fail(store.status());
    auto added = classify::AppendLabelledTickets(**store, known, &*rows);
    if (!added.ok()) return Fail(added.status());
    std::cerr << "debriefctl: " << *added << " labelled tickets from " << a.store_path << "\n";
  }
  classify::TrainConfig tc;
  if (a.epochs > 0) tc.options.epochs = a.epochs;
  // Hashing flags change the defaults that suit the data's size, nothing else.
  tc.adjust_hashing = [&a](v1::HashingParams* h) {
    if (a.bits > 0) h->set_bits(a.bits);
    if (a.char_min >= 0) h->set_char_min(a.char_min);
    if (a.char_max >= 0) h->set_char_max(a.char_max);
    if (a.char_words >= 0) h->set_char_words(a.char_words);
    if (a.char_weight > 0) h->set_char_weight(static_cast<float>(a.char_weight));
  };
  if (a.learning_rate > 0) tc.options.learning_rate = static_cast<float>(a.learning_rate);
  if (a.loss == "logistic") tc.options.loss = classify::Loss::kLogistic;
  if (a.loss == "pa") tc.options.loss = classify::Loss::kPassiveAggressive;
  if (a.calibration >= 0) tc.calibration_fraction = a.calibration;
  classify::TrainReport report;
  auto m =
      classify::LearnedClassifier::Train(taxonomy, *rows, tc, spi::SystemClock::Get(), &report);
  if (!m.ok()) return Fail(m.status());
  if (auto s = (*m)->Save(a.out_path); !s.ok()) return Fail(s);
  std::error_code ec;
  auto size = std::filesystem::file_size(a.out_path, ec);
  nlohmann::json j = {{"examples", report.examples},
                      {"seed_examples", report.seed_examples},
                      {"categories", (*m)->categories().size()},
                      {"seconds", report.seconds},
                      {"temperature", report.temperature},
                      {"abstain_below", report.abstain_below},
                      {"model_bytes", size},
                      {"out", a.out_path}};
  std::cout << j.dump() << "\n";
  return 0;
}

int Eval(const Args& a) {
  auto m = classify::LearnedClassifier::Load(a.model_path, spi::SystemClock::Get());
  if (!m.ok()) return Fail(m.status());
  auto rows = ReadRows(a);
  if (!rows.ok()) return Fail(rows.status());
  auto report = classify::Evaluate(**m, *rows);
  std::cout << (a.json_out ? report.ToJson() + "\n" : report.ToText());
  return 0;
}

}  // namespace

void AddModelCommands(CLI::App& app, Ctl& ctl) {
  auto a = std::make_shared<Args>();
  auto* train = app.add_subcommand(
      "train", "train a model from labelled CSV (text,category) and/or tickets already tagged");
  train->add_option("--data", a->data_paths, "CSV file(s)");
  train->add_option("--store", a->store_path,
                    "debriefd's SQLite store: tickets an agent tagged, or whose helpdesk tags name "
                    "a category, are labelled examples");
  train->add_option("--taxonomy", a->taxonomy_path,
                    "taxonomy YAML (categories:); default: the labels");
  train->add_option("--out", a->out_path, "model file to write")->required();
  train->add_option("--epochs", a->epochs, "passes over the data (default 12)");
  train->add_option("--bits", a->bits, "2^bits feature buckets (default 20)");
  train->add_option("--learning-rate", a->learning_rate, "AdaGrad step or PA aggressiveness");
  train
      ->add_option("--loss", a->loss,
                   "auto (default), pa (averaged passive-aggressive) or logistic")
      ->check(CLI::IsMember({"auto", "pa", "logistic"}));
  train->add_option("--char-min", a->char_min, "shortest character n-gram (0: none)");
  train->add_option("--char-max", a->char_max, "longest character n-gram");
  train->add_option("--char-words", a->char_words,
                    "character n-grams of the first N distinct words of a text (0: all)");
  train->add_option("--char-weight", a->char_weight, "weight of character n-grams vs words");
  train->add_option("--calibration", a->calibration, "share held out for calibration (0: none)");
  train->callback([a, &ctl] { ctl.rc = Train(*a); });

  auto* eval = app.add_subcommand("eval", "evaluate a model on labelled CSV");
  eval->add_option("--model", a->model_path, "model file")->required();
  eval->add_option("--data", a->data_paths, "CSV file(s)")->required();
  eval->add_flag("--json", a->json_out, "one JSON line instead of the table");
  eval->callback([a, &ctl] { ctl.rc = Eval(*a); });
}

}  // namespace debrief::cli
