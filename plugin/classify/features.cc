#include "classify/features.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

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
  uint32_t origin;  // with explanations, the index into FeatureVector::origins
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
  words.reserve(tokens.size() * 3);
  chars.reserve(tokens.size() * 16);
  // Explanations: each distinct word or pair gets one origin id.
  std::unordered_map<std::string, uint32_t> origin_ids;
  auto origin_of = [&](std::string text) {
    auto [it, added] =
        origin_ids.emplace(std::move(text), static_cast<uint32_t>(out->origins.size()));
    if (added) out->origins.push_back(it->first);
    return it->second;
  };
  for (size_t t = 0; t < tokens.size(); ++t) {
    const std::string& w = tokens[t];
    const uint32_t origin = explain ? origin_of(w) : 0;
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
      const uint32_t o = explain ? origin_of(absl::StrCat(w, gap == 1 ? " " : " … ", next)) : 0;
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

  // Counts repeats (term frequency) so each bucket appears once per block, with a stamped
  // hash table (several times cheaper than sorting on this hot path); a repeated bucket
  // keeps the origin of its first occurrence.
  auto dedup = [&](std::vector<Raw>& v) {
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

  // Block after block; a bucket both blocks hit (a hash collision) simply appears twice.
  const size_t total = words.size() + chars.size();
  out->index.reserve(total);
  out->value.reserve(total);
  if (explain) out->origin.reserve(total);
  for (const auto* block : {&words, &chars})
    for (const Raw& r : *block) {
      out->index.push_back(r.bucket);
      out->value.push_back(r.value);
      if (explain) out->origin.push_back(r.origin);
    }
}

}  // namespace debrief::classify
