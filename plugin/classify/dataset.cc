#include "classify/dataset.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace debrief::classify {
namespace {

// One CSV record (which may span lines inside quotes). False at end of input.
bool ReadRecord(std::istream& in, std::vector<std::string>* fields, int* line) {
  fields->clear();
  std::string field;
  bool quoted = false, any = false;
  char c;
  while (in.get(c)) {
    any = true;
    if (quoted) {
      if (c == '"') {
        if (in.peek() == '"') {
          in.get(c);
          field.push_back('"');
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++*line;
        field.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields->push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      ++*line;
      break;
    } else if (c != '\r') {
      field.push_back(c);
    }
  }
  if (!any) return false;
  fields->push_back(std::move(field));
  return true;
}

}  // namespace

absl::StatusOr<std::vector<LabeledText>> ReadLabeledCsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<std::string> f;
  int line = 0;
  if (!ReadRecord(in, &f, &line)) return absl::InvalidArgumentError(absl::StrCat(path, ": empty"));
  int text_col = -1, label_col = -1;
  for (size_t i = 0; i < f.size(); ++i) {
    std::string h = absl::AsciiStrToLower(absl::StripAsciiWhitespace(f[i]));
    if (h == "text") text_col = static_cast<int>(i);
    if (h == "category" || h == "label") label_col = static_cast<int>(i);
  }
  if (text_col < 0 || label_col < 0)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the header must name a text and a category column"));
  std::vector<LabeledText> rows;
  while (ReadRecord(in, &f, &line)) {
    if (f.size() == 1 && f[0].empty()) continue;
    if (static_cast<int>(f.size()) <= std::max(text_col, label_col))
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": too few columns"));
    LabeledText r{f[text_col], std::string(absl::StripAsciiWhitespace(f[label_col]))};
    if (r.label.empty())
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": empty category"));
    rows.push_back(std::move(r));
  }
  return rows;
}

void SplitStratified(const std::vector<LabeledText>& rows, double fraction, uint64_t seed,
                     std::vector<LabeledText>* train, std::vector<LabeledText>* held_out) {
  std::map<std::string, std::vector<size_t>> by_label;
  for (size_t i = 0; i < rows.size(); ++i) by_label[rows[i].label].push_back(i);
  std::mt19937_64 rng(seed);
  std::vector<bool> hold(rows.size(), false);
  for (auto& [label, idx] : by_label) {
    std::shuffle(idx.begin(), idx.end(), rng);
    size_t k = static_cast<size_t>(fraction * idx.size() + 0.5);
    if (idx.size() > 1) k = std::min(k, idx.size() - 1);
    for (size_t i = 0; i < k; ++i) hold[idx[i]] = true;
  }
  for (size_t i = 0; i < rows.size(); ++i) (hold[i] ? held_out : train)->push_back(rows[i]);
}

absl::StatusOr<size_t> AppendLabelledTickets(spi::Store& store, const std::set<std::string>& known,
                                             std::vector<LabeledText>* rows) {
  const size_t before = rows->size();
  absl::Status s = store.Read([&](spi::StoreTransaction& tx) {
    return tx.ForEachTicket([&](const spi::TicketRecord& r) {
      std::string label;
      if (r.agent_corrected && r.classification) label = r.classification->category_id();
      for (const auto& tag : r.ticket.tags())
        if (label.empty() && known.contains(tag)) label = tag;
      if (!label.empty())
        rows->push_back({absl::StrCat(r.ticket.subject(), "\n", r.ticket.body()), label});
      return true;
    });
  });
  if (!s.ok()) return s;
  return rows->size() - before;
}

}  // namespace debrief::classify
