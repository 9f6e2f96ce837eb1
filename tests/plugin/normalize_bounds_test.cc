// Every normalisation step is linear in its input, and the classifier's work per ticket is
// bounded: a hostile ticket costs what its size says, and one behind it is not kept waiting.
#include <gtest/gtest.h>
#include <malloc.h>
#include <time.h>

#include <chrono>
#include <functional>

#include "absl/strings/str_cat.h"
#include "base/text_clean.h"
#include "classify/emerging.h"
#include "classify/normalize.h"
#include "classify/text.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(DEBRIEF_TSAN)
#define DEBRIEF_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define DEBRIEF_SANITIZED 1
#endif
#endif

namespace debrief::classify {
namespace {

std::string Repeat(absl::string_view unit, size_t bytes) {
  std::string out;
  out.reserve(bytes + unit.size());
  while (out.size() < bytes) out.append(unit.data(), unit.size());
  return out;
}

// This thread's CPU time: what the step costs, whatever else the machine is running.
double ThreadSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The cheapest of a few runs of fn over `text`, in CPU seconds per kilobyte.
double SecondsPerKb(const std::function<void(const std::string&)>& fn, const std::string& text) {
  double best = 1e9;
  const int runs = text.size() > 100 * 1024 ? 5 : 50;
  for (int r = 0; r < runs; ++r) {
    const double start = ThreadSeconds();
    fn(text);
    best = std::min(best, ThreadSeconds() - start);
  }
  return best / (static_cast<double>(text.size()) / 1024.0);
}

struct Hostile {
  const char* name;
  std::string unit;  // repeated to the size wanted
};

// Inputs that once cost quadratic time (a find(';') per '&', the rest of the text lowered per
// <script>), and others of the same kind: time per kilobyte at 1 MB stays within twice what it
// is at 10 KB.
TEST(NormalizeBounds, EveryStepTakesTimeInProportionToItsInput) {
#if DEBRIEF_SANITIZED
  GTEST_SKIP() << "a sanitizer's allocator and shadow memory make the timings say nothing";
#endif
  // Megabyte buffers from the heap, reused, rather than mapped and unmapped on every call:
  // page faults would be timed, not the step.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  const std::vector<Hostile> inputs = {
      {"ampersands", "&"},
      {"open angles", "<"},
      {"scripts", "<script></script>"},
      {"unclosed script", "<script>x"},
      {"nested tags", "<div><p><b><i>"},
      {"entities", "&amp;&lt;&nbsp;&#39;"},
      {"quoted-reply markers", "> quoted line\nOn Mon, Ann wrote:\n-- \n"},
      {"one long word", "a"},
      {"long lines", "Lorem ipsum dolor sit amet consectetur "},
  };
  const std::vector<std::pair<const char*, std::function<void(const std::string&)>>> steps = {
      {"HtmlToText", [](const std::string& t) { (void)base::HtmlToText(t); }},
      {"StripQuotedReply", [](const std::string& t) { (void)base::StripQuotedReply(t); }},
      {"ModelTokens", [](const std::string& t) { (void)ModelTokens(t, t); }},
      {"ContentTokens", [](const std::string& t) { (void)ContentTokens(t); }},
  };
  for (const Hostile& in : inputs) {
    const std::string small = Repeat(in.unit, 10 * 1024), large = Repeat(in.unit, 1024 * 1024);
    for (const auto& [step, fn] : steps) {
      const double at_small = SecondsPerKb(fn, small), at_large = SecondsPerKb(fn, large);
      // Below half a microsecond per kilobyte (2 GB/s) a step is as fast as copying the text
      // out of cache, which a megabyte does not fit: what is at stake here is growth
      // with the size (a quadratic step is hundreds of times slower at 1 MB than at 10 KB).
      EXPECT_LT(at_large, 2.0 * std::max(at_small, 0.5e-6))
          << step << " on " << in.name << ": " << at_small * 1e6 << " us/KB at 10 KB, "
          << at_large * 1e6 << " us/KB at 1 MB";
      if (getenv("DEBRIEF_PRINT_TIMES"))
        printf("%-18s %-22s %8.3f us/KB at 10 KB %8.3f us/KB at 1 MB\n", step, in.name,
               at_small * 1e6, at_large * 1e6);
    }
  }
}

TEST(NormalizeBounds, TheClassifierReadsABoundedPrefix) {
  const std::string body = Repeat("charged twice ", 4 * 1024 * 1024);
  const std::vector<std::string> tokens = ModelTokens(Repeat("subject ", 100000), body);
  EXPECT_LE(tokens.size(), (kMaxSubjectBytes + kMaxBodyBytes) / 2);
  const std::vector<std::string> content = ContentTokens(body);
  EXPECT_LE(content.size(), (kMaxSubjectBytes + kMaxBodyBytes) / 2);
}

TEST(NormalizeBounds, ALongWordIsOneTokenAndNoTerm) {
  const std::string word(20000, 'x');  // within the prefix the classifier reads
  const std::vector<std::string> tokens = ModelTokens("", absl::StrCat("my ", word, " broke"));
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[1], "_long_");
  for (const std::string& t : ContentTokens(absl::StrCat("refund ", word)))
    EXPECT_LE(t.size(), kMaxWordBytes);

  // An emerging issue's terms are words people read.
  EmergingIssues emerging;
  for (int i = 0; i < 3; ++i) {
    v1::Ticket t;
    t.set_helpdesk_id("h");
    t.set_ticket_id(absl::StrCat(i));
    t.set_body(absl::StrCat("the widget ", word, " exploded again"));
    emerging.Add(t, absl::FromUnixSeconds(1795000000 + i));
  }
  for (const v1::EmergingIssue& e : emerging.List(1))
    for (const std::string& term : e.top_terms()) EXPECT_LE(term.size(), 2 * kMaxWordBytes + 1);
}

TEST(NormalizeBounds, HtmlToTextKeepsTextAfterABareAngle) {
  EXPECT_EQ(base::HtmlToText("a < b &amp; c"), "a < b & c");
  EXPECT_EQ(base::HtmlToText("<p>x</p><script>evil()</SCRIPT>y"), "\nx\ny");
}

}  // namespace
}  // namespace debrief::classify
