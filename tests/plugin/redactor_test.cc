#include "redact/redactor.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace debrief::redact {
namespace {

TEST(RedactorTest, RemovesEachKindWithAPlaceholder) {
  const Redactor& r = DefaultRedactor();
  v1::Person p;
  p.set_name("Maria Gonzalez");
  EXPECT_EQ(r.Redact("I'm maria, mail maria.g@example.com or call +44 20 7946 0958.", p),
            "I'm [name], mail [email] or call [phone].");
  EXPECT_EQ(r.Redact("card 4111 1111 1111 1111 please"), "card [card] please");
  EXPECT_EQ(r.Redact("IBAN DE89 3704 0044 0532 0130 00 and more"), "IBAN [iban] and more");
  v1::Person jose;
  jose.set_name("José Müller");
  EXPECT_EQ(r.Redact("JOSÉ MÜLLER wrote; josé too", jose), "[name] wrote; [name] too");
}

TEST(RedactorTest, KeepsNumbersThatAreNotPersonal) {
  const Redactor& r = DefaultRedactor();
  for (const char* s :
       {"Order 84721934 arrived on 2026-11-02.", "version 3.14.159", "server 192.168.100.254",
        "charged $1,249.99", "4111 1111 1111 1112", "DE89 3704 0044 0532 0130 02"}) {
    EXPECT_EQ(r.Redact(s), s);
  }
}

TEST(RedactorTest, ChecksumsMatchPublishedExamples) {
  // Examples from the card networks' and ISO 13616's own documentation.
  EXPECT_TRUE(Redactor::LuhnValid("4111111111111111"));
  EXPECT_TRUE(Redactor::LuhnValid("378282246310005"));
  EXPECT_FALSE(Redactor::LuhnValid("4111111111111112"));
  EXPECT_TRUE(Redactor::IbanValid("GB82WEST12345698765432"));
  EXPECT_TRUE(Redactor::IbanValid("DE89370400440532013000"));
  EXPECT_FALSE(Redactor::IbanValid("GB82WEST12345698765433"));
}

// tests/plugin/testdata/pii_corpus.tsv: "requester<TAB>text" with [[kind:value]] markup.
struct Gold {
  size_t begin, end;
  std::string kind;
};

TEST(RedactorTest, RecallAndPrecisionOnTheCorpus) {
  std::ifstream in(std::string(DEBRIEF_SOURCE_DIR) + "/tests/plugin/testdata/pii_corpus.tsv");
  ASSERT_TRUE(in) << "corpus missing";
  const Redactor& r = DefaultRedactor();
  std::map<std::string, int> gold_n, found_n;
  int found = 0, true_found = 0;
  std::string line;
  std::vector<std::string> misses, false_hits;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols = absl::StrSplit(line, absl::MaxSplits('\t', 1));
    ASSERT_EQ(cols.size(), 2u) << line;
    std::string marked = absl::StrReplaceAll(cols[1], {{"\\n", "\n"}});
    std::string text;
    std::vector<Gold> gold;
    for (size_t i = 0; i < marked.size();) {
      if (marked.compare(i, 2, "[[") == 0) {
        size_t colon = marked.find(':', i);
        size_t close = marked.find("]]", colon);
        Gold g{text.size(), 0, marked.substr(i + 2, colon - i - 2)};
        text += marked.substr(colon + 1, close - colon - 1);
        g.end = text.size();
        gold.push_back(g);
        i = close + 2;
      } else {
        text += marked[i++];
      }
    }
    v1::Person p;
    p.set_name(cols[0]);
    std::vector<PiiSpan> spans = r.Find(text, Redactor::NamesOf(p));
    std::vector<bool> covered(text.size(), false);
    for (const PiiSpan& s : spans)
      for (size_t i = s.begin; i < s.end; ++i) covered[i] = true;
    for (const Gold& g : gold) {
      ++gold_n[g.kind];
      bool all = true;
      for (size_t i = g.begin; i < g.end; ++i)
        if (std::isalnum(static_cast<unsigned char>(text[i])) && !covered[i]) all = false;
      if (all)
        ++found_n[g.kind];
      else
        misses.push_back(absl::StrCat(g.kind, ": ", text.substr(g.begin, g.end - g.begin)));
    }
    for (const PiiSpan& s : spans) {
      ++found;
      bool hit = false;
      for (const Gold& g : gold)
        if (s.begin < g.end && g.begin < s.end) hit = true;
      if (hit)
        ++true_found;
      else
        false_hits.push_back(text.substr(s.begin, s.end - s.begin));
    }
  }
  int gold_total = 0, found_total = 0;
  std::cout << "kind     gold  found  recall\n";
  for (const auto& [kind, n] : gold_n) {
    gold_total += n;
    found_total += found_n[kind];
    std::cout << absl::StrFormat("%-7s %5d  %5d  %6.2f%%\n", kind, n, found_n[kind],
                                 100.0 * found_n[kind] / n);
  }
  const double recall = 100.0 * found_total / gold_total;
  const double precision = 100.0 * true_found / found;
  std::cout << absl::StrFormat("all     %5d  %5d  %6.2f%%   precision %.2f%% (%d of %d spans)\n",
                               gold_total, found_total, recall, precision, true_found, found);
  for (const auto& m : misses) std::cout << "  missed " << m << "\n";
  for (const auto& f : false_hits) std::cout << "  false  " << f << "\n";
  EXPECT_GE(gold_total, 500);
  EXPECT_GE(recall, 99.0);
  EXPECT_GE(precision, 95.0);
}

}  // namespace
}  // namespace debrief::redact
