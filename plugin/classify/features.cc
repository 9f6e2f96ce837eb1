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
  uint32_t origin;  // with explanations, where its word or pair first occurs
};

// Open addressing from a 64-bit key (a word's hash, a bucket) to a small id, reused across calls on
// one thread: a stamp marks the slots of this call, so nothing is cleared per text.
class IdTable {
 public:
  void Reset(size_t expected) {
    size_t size = 64;
    while (size < 2 * expected) size *= 2;
    if (slots_.size() < size) {
      slots_.assign(size, Slot{});
      stamp_ = 0;
    }
    if (++stamp_ == 0) {  // wrapped: start clean
      std::fill(slots_.begin(), slots_.end(), Slot{});
      stamp_ = 1;
    }
    mask_ = size - 1;
  }
  // The id stored for `key`, or stores `fresh` and returns it.
  uint32_t Find(uint64_t key, uint32_t fresh) {
    size_t h = static_cast<size_t>(Mix(key)) & mask_;
    while (slots_[h].stamp == stamp_) {
      if (slots_[h].key == key) return slots_[h].id;
      h = (h + 1) & mask_;
    }
    slots_[h] = {key, stamp_, fresh};
    return fresh;
  }

 private:
  struct Slot {
    uint64_t key = 0;
    uint32_t stamp = 0, id = 0;
  };
  std::vector<Slot> slots_;
  uint32_t stamp_ = 0;
  size_t mask_ = 0;
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
  p.set_char_words(kCharWords);
  return p;
}

FeatureExtractor::FeatureExtractor(const v1::HashingParams& params) : params_(params) {}

std::string FeatureVector::OriginText(const std::vector<std::string>& tokens, uint32_t origin) {
  const size_t t = origin >> 2;
  switch (origin & 3) {
    case 1:
      return absl::StrCat(tokens[t], " ", tokens[t + 1]);
    case 2:
      return absl::StrCat(tokens[t], " … ", tokens[t + 2]);
    default:
      return tokens[t];
  }
}

void FeatureExtractor::Extract(const std::vector<std::string>& tokens, FeatureVector* out,
                               bool explain) const {
  out->clear();
  const int shift = 64 - static_cast<int>(params_.bits());
  const uint64_t word_seed = kFnvOffset ^ Mix(params_.seed());
  const uint64_t pair_seed = kFnvOffset ^ Mix(params_.seed() + 1);
  const uint64_t char_seed = kFnvOffset ^ Mix(params_.seed() + 2);
  const uint64_t skip_seed = kFnvOffset ^ Mix(params_.seed() + 3);
  auto bucket = [&](uint64_t h) { return static_cast<uint32_t>(Mix(h) >> shift); };

  thread_local std::vector<Raw> words, chars;
  words.clear();
  chars.clear();
  // A word seen before in this text adds its character n-grams again: rather than hash them
  // again, its first occurrence's n-grams count once more (the same counts, a third of the
  // work on an e-mail, where most words repeat). `seen` maps a word's hash to its index in
  // `distinct`. A feature's origin is where its word or pair first occurs: a repeat's
  // features merge into the first occurrence's (below), so each is named once.
  struct Distinct {
    uint32_t chars_begin, chars_end, count;
  };
  thread_local std::vector<Distinct> distinct;
  distinct.clear();
  thread_local IdTable seen;
  seen.Reset(tokens.size());
  auto origin_of = [](size_t t, uint32_t kind) { return static_cast<uint32_t>(t << 2) | kind; };
  for (size_t t = 0; t < tokens.size(); ++t) {
    const std::string& w = tokens[t];
    // The word hashed once from each seed (three independent chains, run side by side);
    // a pair continues from the first word's state with " next".
    uint64_t h = word_seed, pair_state = pair_seed, skip_state = skip_seed;
    for (unsigned char c : w) {
      h = Step(h, c);
      pair_state = Step(pair_state, c);
      skip_state = Step(skip_state, c);
    }
    const uint32_t origin = explain ? origin_of(t, 0) : 0;
    words.push_back({bucket(h), 1.0f, origin});
    // Word pairs: next to each other, and with skip_pairs one word apart.
    for (size_t gap = 1; gap <= (params_.skip_pairs() ? 2u : 1u); ++gap) {
      if (params_.word_ngrams() < 2 || t + gap >= tokens.size()) break;
      const std::string& next = tokens[t + gap];
      uint64_t p = Step(gap == 1 ? pair_state : skip_state, ' ');
      for (unsigned char c : next) p = Step(p, c);
      const uint32_t o = explain ? origin_of(t, static_cast<uint32_t>(gap)) : 0;
      words.push_back({bucket(p), 1.0f, o});
    }
    if (params_.char_min() == 0 || w[0] == '_') continue;  // no n-grams of _num_ and friends
    const auto fresh = static_cast<uint32_t>(distinct.size());
    const uint32_t d = seen.Find(h, fresh);
    if (d != fresh) {
      ++distinct[d].count;
      continue;
    }
    if (params_.char_words() > 0 && fresh >= params_.char_words()) {
      distinct.push_back({0, 0, 1});  // known from now on, with no n-grams
      continue;
    }
    distinct.push_back({static_cast<uint32_t>(chars.size()), 0, 1});
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
    distinct.back().chars_end = static_cast<uint32_t>(chars.size());
  }
  for (const Distinct& d : distinct)
    if (d.count > 1)
      for (uint32_t i = d.chars_begin; i < d.chars_end; ++i) chars[i].value = d.count;

  // Counts repeats (term frequency) so each bucket appears once per block, with a stamped
  // hash table (several times cheaper than sorting on this hot path); a repeated bucket
  // keeps the origin of its first occurrence.
  auto dedup = [&](std::vector<Raw>& v) {
    thread_local IdTable first;  // bucket -> its position in the deduplicated block
    first.Reset(v.size());
    size_t m = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      const auto fresh = static_cast<uint32_t>(m);
      const uint32_t pos = first.Find(v[i].bucket, fresh);
      if (pos != fresh) {
        v[pos].value += v[i].value;
      } else {
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
