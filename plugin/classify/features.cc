#include "classify/features.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace debrief::classify {
namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

inline uint64_t Step(uint64_t h, unsigned char c) { return (h ^ c) * kFnvPrime; }

inline uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

struct Raw {
  uint32_t bucket;
  float value;
  uint32_t origin;  // index into the origin strings, or -1
};

}  // namespace

v1::HashingParams FeatureExtractor::Defaults(bool few_shot) {
  v1::HashingParams p;
  p.set_bits(20);
  p.set_word_ngrams(2);
  p.set_char_min(2);
  p.set_char_max(few_shot ? 5 : 6);
  p.set_seed(0x5eed);
  p.set_char_weight(1.0f);
  p.set_skip_pairs(!few_shot);
  return p;
}

FeatureExtractor::FeatureExtractor(const v1::HashingParams& params) : params_(params) {}

void FeatureExtractor::Extract(const std::vector<std::string>& tokens, FeatureVector* out,
                               bool explain) const {
  out->clear();
  const int shift = 64 - static_cast<int>(params_.bits());
  const uint64_t word_seed = kFnvOffset ^ Mix(params_.seed());
  const uint64_t pair_seed = kFnvOffset ^ Mix(params_.seed() + 1);
  const uint64_t char_seed = kFnvOffset ^ Mix(params_.seed() + 2);
  const uint64_t skip_seed = kFnvOffset ^ Mix(params_.seed() + 3);
  auto bucket = [&](uint64_t h) { return static_cast<uint32_t>(Mix(h) >> shift); };

  std::vector<Raw> words, chars;
  words.reserve(tokens.size() * 2);
  chars.reserve(tokens.size() * 16);
  std::vector<std::string> origins;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const std::string& w = tokens[t];
    uint32_t origin = static_cast<uint32_t>(-1);
    if (explain) {
      origin = static_cast<uint32_t>(origins.size());
      origins.push_back(w);
    }
    uint64_t h = word_seed;
    for (unsigned char c : w) h = Step(h, c);
    words.push_back({bucket(h), 1.0f, origin});
    // Word pairs: next to each other, and with skip_pairs one word apart.
    for (size_t gap = 1; gap <= (params_.skip_pairs() ? 2u : 1u); ++gap) {
      if (params_.word_ngrams() < 2 || t + gap >= tokens.size()) break;
      const std::string& next = tokens[t + gap];
      uint64_t p = gap == 1 ? pair_seed : skip_seed;
      for (unsigned char c : w) p = Step(p, c);
      p = Step(p, ' ');
      for (unsigned char c : next) p = Step(p, c);
      uint32_t o = static_cast<uint32_t>(-1);
      if (explain) {
        o = static_cast<uint32_t>(origins.size());
        origins.push_back(gap == 1 ? absl::StrCat(w, " ", next) : absl::StrCat(w, " … ", next));
      }
      words.push_back({bucket(p), 1.0f, o});
    }
    if (params_.char_min() == 0 || w[0] == '_') continue;  // no n-grams of _num_ and friends
    // " word " with boundaries; every n-gram of length char_min..char_max.
    const size_t n = w.size() + 2;
    auto at = [&](size_t i) -> unsigned char { return i == 0 || i == n - 1 ? ' ' : w[i - 1]; };
    for (size_t i = 0; i < n; ++i) {
      uint64_t g = char_seed;
      for (size_t k = 0; k < params_.char_max() && i + k < n; ++k) {
        g = Step(g, at(i + k));
        if (k + 1 >= params_.char_min()) chars.push_back({bucket(g), 1.0f, origin});
      }
    }
  }

  // Counts repeats (term frequency) so each bucket appears once per block. Explanations
  // need origins in bucket order (sort); plain extraction uses a stamped hash table, several
  // times cheaper than sorting on this hot path.
  auto dedup = [&](std::vector<Raw>& v) {
    if (explain) {
      std::sort(v.begin(), v.end(), [](const Raw& a, const Raw& b) { return a.bucket < b.bucket; });
      size_t m = 0;
      for (size_t i = 0; i < v.size(); ++i) {
        if (m > 0 && v[m - 1].bucket == v[i].bucket) {
          v[m - 1].value += 1.0f;
        } else {
          v[m++] = v[i];
        }
      }
      v.resize(m);
      return;
    }
    struct Slot {
      uint32_t stamp = 0, bucket = 0, pos = 0;
    };
    thread_local std::vector<Slot> table;
    thread_local uint32_t stamp = 0;
    size_t size = 64;
    while (size < 2 * v.size()) size *= 2;
    if (table.size() < size) {
      table.assign(size, Slot{});
      stamp = 0;
    }
    if (++stamp == 0) {  // wrapped: start clean
      std::fill(table.begin(), table.end(), Slot{});
      stamp = 1;
    }
    const size_t mask = size - 1;
    size_t m = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      size_t h = (v[i].bucket * 0x9E3779B1u) & mask;
      while (table[h].stamp == stamp && table[h].bucket != v[i].bucket) h = (h + 1) & mask;
      if (table[h].stamp == stamp) {
        v[table[h].pos].value += 1.0f;
      } else {
        table[h] = {stamp, v[i].bucket, static_cast<uint32_t>(m)};
        v[m++] = v[i];
      }
    }
    v.resize(m);
  };
  auto finish = [&](std::vector<Raw>& v, float scale) {
    dedup(v);
    double norm = 0;
    const float* idf = idf_ != nullptr ? idf_->data() : nullptr;
    for (size_t i = 0; i < v.size(); ++i) {
      Raw& r = v[i];
      if (idf != nullptr && i + 16 < v.size()) __builtin_prefetch(&idf[v[i + 16].bucket]);
      if (r.value > 1.0f) r.value = 1.0f + std::log(r.value);  // sublinear tf; log(1) = 0
      if (idf != nullptr) r.value *= idf[r.bucket];
      norm += static_cast<double>(r.value) * r.value;
    }
    if (norm <= 0) return;
    float k = scale / static_cast<float>(std::sqrt(norm));
    for (Raw& r : v) r.value *= k;
  };
  finish(words, 1.0f);
  finish(chars, params_.char_weight());

  out->index.reserve(words.size() + chars.size());
  out->value.reserve(words.size() + chars.size());
  if (!explain) {
    // Block after block; a bucket both blocks hit (a hash collision) simply appears twice.
    for (const auto* block : {&words, &chars})
      for (const Raw& r : *block) {
        out->index.push_back(r.bucket);
        out->value.push_back(r.value);
      }
    return;
  }
  // Merge the two sorted blocks (a bucket shared by both adds up).
  size_t i = 0, j = 0;
  auto emit = [&](const Raw& r) {
    if (!out->index.empty() && out->index.back() == r.bucket) {
      out->value.back() += r.value;
      return;
    }
    out->index.push_back(r.bucket);
    out->value.push_back(r.value);
    out->origin.push_back(r.origin < origins.size() ? origins[r.origin] : "");
  };
  while (i < words.size() || j < chars.size()) {
    if (j >= chars.size() || (i < words.size() && words[i].bucket <= chars[j].bucket)) {
      emit(words[i++]);
    } else {
      emit(chars[j++]);
    }
  }
}

}  // namespace debrief::classify
