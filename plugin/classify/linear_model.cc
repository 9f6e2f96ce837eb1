#include "classify/linear_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DEBRIEF_EIGHT_BIT 1
#endif

namespace debrief::classify {
namespace {

// Sums start here: the first steps are lr / sqrt(kG0), not unbounded.
constexpr float kG0 = 0.1f;

void Softmax(float* s, int n, float temperature) {
  float mx = s[0];
  for (int i = 1; i < n; ++i) mx = std::max(mx, s[i]);
  float sum = 0;
  for (int i = 0; i < n; ++i) {
    s[i] = std::exp((s[i] - mx) / temperature);
    sum += s[i];
  }
  for (int i = 0; i < n; ++i) s[i] /= sum;
}

// Whether predictions score from the 8-bit copy (see AccumulateQuantized).
bool EightBitScoring() {
#ifdef DEBRIEF_EIGHT_BIT
  static const bool avx2 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return avx2;
#else
  return false;
#endif
}

}  // namespace

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xFF) - 127 + 15;
  uint32_t mant = x & 0x7FFFFF;
  if (exp <= 0) {
    if (exp < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000;
    uint32_t shift = static_cast<uint32_t>(14 - exp);
    uint32_t half = mant >> shift;
    if ((mant >> (shift - 1)) & 1) ++half;  // round
    return static_cast<uint16_t>(sign | half);
  }
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7BFF);  // clamp to the largest finite
  uint32_t half = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  if (mant & 0x1000) ++half;  // round to nearest
  return static_cast<uint16_t>(half);
}

float HalfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400) == 0);
      x = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3FF) << 13);
    }
  } else if (exp == 31) {
    x = sign | 0x7F800000 | (mant << 13);
  } else {
    x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

LinearModel::LinearModel(int classes, uint32_t dim)
    : classes_(classes),
      dim_(dim),
      row_of_(dim, -1),
      bias_(classes, 0.0f),
      bias_g2_(classes, kG0) {}

int32_t LinearModel::RowFor(uint32_t feature) {
  int32_t& r = row_of_[feature];
  if (r < 0) {
    r = static_cast<int32_t>(feature_of_row_.size());
    feature_of_row_.push_back(feature);
    w_.resize(w_.size() + classes_, 0.0f);
    g2_.resize(g2_.size() + classes_, kG0);
    sum_.push_back(0.0f);
    q_.resize(q_.size() + qstride_, 0);  // zero scale: zero weights, as the row
  }
  return r;
}

void LinearModel::Quantize(int32_t r) {
  const float* w = &w_[static_cast<size_t>(r) * classes_];
  int8_t* q = &q_[static_cast<size_t>(r) * qstride_];
  float top = 0;
  for (int c = 0; c < classes_; ++c) top = std::max(top, std::abs(w[c]));
  const float scale = top / 127.0f;
  std::memcpy(q, &scale, sizeof scale);
  float inv = 127.0f / top;
  if (!(top > 0) || !std::isfinite(inv)) inv = 0;  // a row of zeros, or of next to nothing
  for (int c = 0; c < classes_; ++c) {  // to the nearest (|w * inv| <= 127 by construction)
    const float v = w[c] * inv;
    q[sizeof(float) + c] = static_cast<int8_t>(static_cast<int>(v + (v < 0 ? -0.5f : 0.5f)));
  }
}

void LinearModel::QuantizeAll() {
  if (!EightBitScoring()) return;  // the weights themselves, and no copy
  qstride_ = sizeof(float) + (static_cast<size_t>(classes_) + 7) / 8 * 8;
  q_.assign(feature_of_row_.size() * qstride_, 0);
  for (size_t r = 0; r < feature_of_row_.size(); ++r) Quantize(static_cast<int32_t>(r));
  quantized_ = true;
}

namespace {

using F8 = float __attribute__((vector_size(32)));

// ThreadSanitizer instruments the clones' resolver, which the loader runs before the sanitizer
// is ready: a TSan build has one version.
#if defined(__SANITIZE_THREAD__) || defined(DEBRIEF_TSAN)
#define DEBRIEF_CLONES
#else
#define DEBRIEF_CLONES __attribute__((target_clones("avx2", "default")))
#endif

// out += sum_i values[i] * w[rows[i]]: the hot loop of every prediction. Built twice, for
// AVX2 and for baseline x86-64, and picked at load time (GCC target_clones), so one Debian
// binary is fast on current CPUs and still runs on old ones.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
DEBRIEF_CLONES
#endif
void AccumulateRows(const float* w, const int32_t* rows, const float* values, size_t n, int classes,
                    float* out) {
  constexpr size_t kWeightAhead = 4;
  const size_t row_bytes = static_cast<size_t>(classes) * sizeof(float);
  // Up to kBlocks x 8 classes per pass over the features, their sums held in registers for
  // the whole pass (AVX2 has 16: 12 sums, the value, a row's block). Written with vector
  // types so that it is vectorised at any optimisation level.
  constexpr int kBlocks = 12;
  for (int c0 = 0; c0 < classes; c0 += kBlocks * 8) {
    const int width = std::min(kBlocks * 8, classes - c0);
    const int full = width / 8;
    F8 acc[kBlocks];
#pragma GCC unroll 12
    for (int b = 0; b < kBlocks; ++b)
      if (b < full) std::memcpy(&acc[b], out + c0 + 8 * b, sizeof(F8));
    for (size_t i = 0; i < n; ++i) {
      if (c0 == 0 && i + kWeightAhead < n && rows[i + kWeightAhead] >= 0) {
        const char* p = reinterpret_cast<const char*>(
            w + static_cast<size_t>(rows[i + kWeightAhead]) * classes);
        for (size_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(p + b);
      }
      if (rows[i] < 0) continue;
      const float v = values[i];
      const float* row = w + static_cast<size_t>(rows[i]) * classes + c0;
      const F8 vv = F8{} + v;
#pragma GCC unroll 12
      for (int b = 0; b < kBlocks; ++b) {
        if (b < full) {
          F8 r;
          std::memcpy(&r, row + 8 * b, sizeof r);
          acc[b] += vv * r;
        }
      }
      for (int c = full * 8; c < width; ++c) out[c0 + c] += v * row[c];
    }
#pragma GCC unroll 12
    for (int b = 0; b < kBlocks; ++b)
      if (b < full) std::memcpy(out + c0 + 8 * b, &acc[b], sizeof(F8));
  }
}

// The same from the 8-bit rows: `width` is the classes rounded up to 8 (the padding weighs
// nothing), `out` has `width` entries. AVX2 widens eight bytes to eight floats in two
// instructions (GCC does not find them from vector types, and without them the copy would be
// slower than the weights themselves): only a processor with AVX2 scores from the copy.
#ifdef DEBRIEF_EIGHT_BIT
constexpr size_t kQuantizedAhead = 8;

__attribute__((target("avx2"))) void AccumulateQuantized(const int8_t* q, size_t stride,
                                                         const int32_t* rows, const float* values,
                                                         size_t n, int width, float* out) {
  constexpr int kBlocks = 12;
  for (int c0 = 0; c0 < width; c0 += kBlocks * 8) {
    const int full = std::min(kBlocks * 8, width - c0) / 8;
    __m256 acc[kBlocks];
#pragma GCC unroll 12
    for (int b = 0; b < kBlocks; ++b)
      acc[b] = b < full ? _mm256_loadu_ps(out + c0 + 8 * b) : _mm256_setzero_ps();
    for (size_t i = 0; i < n; ++i) {
      if (c0 == 0 && i + kQuantizedAhead < n && rows[i + kQuantizedAhead] >= 0) {
        const int8_t* p = q + static_cast<size_t>(rows[i + kQuantizedAhead]) * stride;
        __builtin_prefetch(p);
        __builtin_prefetch(p + stride - 1);
      }
      if (rows[i] < 0) continue;
      const int8_t* row = q + static_cast<size_t>(rows[i]) * stride;
      float scale;
      std::memcpy(&scale, row, sizeof scale);
      const __m256 vv = _mm256_set1_ps(values[i] * scale);
      row += sizeof(float) + c0;
#pragma GCC unroll 12
      for (int b = 0; b < kBlocks; ++b) {
        if (b < full) {
          const __m256i w =
              _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + 8 * b)));
          acc[b] = _mm256_add_ps(acc[b], _mm256_mul_ps(vv, _mm256_cvtepi32_ps(w)));
        }
      }
    }
#pragma GCC unroll 12
    for (int b = 0; b < kBlocks; ++b)
      if (b < full) _mm256_storeu_ps(out + c0 + 8 * b, acc[b]);
  }
}
#endif

// Sum of one weight row, eight classes at a time.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
DEBRIEF_CLONES
#endif
float RowSum(const float* row, int classes) {
  F8 acc{};
  int c = 0;
  for (; c + 8 <= classes; c += 8) {
    F8 r;
    std::memcpy(&r, row + c, sizeof r);
    acc += r;
  }
  float sum = 0;
  for (int k = 0; k < 8; ++k) sum += acc[k];
  for (; c < classes; ++c) sum += row[c];
  return sum;
}

// One AdaGrad step on a weight row: s += (g v)^2, w -= lr g v / sqrt(s), eight classes at a
// time (this file is built with -fno-math-errno, so the square roots vectorise too). A zero
// gradient leaves w and s exactly as they were.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
DEBRIEF_CLONES
#endif
void AdaGradRow(float* w, float* s, const float* g, float v, float lr, int classes) {
  int c = 0;
  for (; c + 8 <= classes; c += 8) {
    F8 gv, sv, wv, root;
    std::memcpy(&gv, g + c, sizeof gv);
    std::memcpy(&sv, s + c, sizeof sv);
    std::memcpy(&wv, w + c, sizeof wv);
    gv *= v;
    sv += gv * gv;
    for (int k = 0; k < 8; ++k) root[k] = std::sqrt(sv[k]);
    wv -= lr * gv / root;
    std::memcpy(s + c, &sv, sizeof sv);
    std::memcpy(w + c, &wv, sizeof wv);
  }
  for (; c < classes; ++c) {
    const float gc = g[c] * v;
    s[c] += gc * gc;
    w[c] -= lr * gc / std::sqrt(s[c]);
  }
}

}  // namespace

void LinearModel::Scores(const FeatureVector& x, float* out) const {
  thread_local std::vector<int32_t> rows;
  Scores(x, out, &rows);
}

void LinearModel::Lookup(const FeatureVector& x, std::vector<int32_t>* rows) const {
  const size_t n = x.index.size();
  // The row table and the weight rows are far larger than the cache, and every feature
  // lands somewhere random in them: look rows up a few features ahead and prefetch the
  // weights, so the misses overlap instead of queueing.
  constexpr size_t kRowAhead = 16;
  rows->resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (i + kRowAhead < n) __builtin_prefetch(&row_of_[x.index[i + kRowAhead]]);
    (*rows)[i] = row_of_[x.index[i]];
  }
}

void LinearModel::Scores(const FeatureVector& x, float* out, std::vector<int32_t>* rows) const {
  Lookup(x, rows);
  if (!quantized_) {
    std::copy(bias_.begin(), bias_.end(), out);
    AccumulateRows(w_.data(), rows->data(), x.value.data(), rows->size(), classes_, out);
    return;
  }
#ifdef DEBRIEF_EIGHT_BIT
  const int width = static_cast<int>(qstride_ - sizeof(float));
  thread_local std::vector<float> acc;
  acc.assign(width, 0.0f);
  std::copy(bias_.begin(), bias_.end(), acc.begin());
  AccumulateQuantized(q_.data(), qstride_, rows->data(), x.value.data(), rows->size(), width,
                      acc.data());
  std::copy_n(acc.begin(), classes_, out);
#endif
}

void LinearModel::ExactScores(const FeatureVector& x, float* out) const {
  thread_local std::vector<int32_t> rows;
  Lookup(x, &rows);
  std::copy(bias_.begin(), bias_.end(), out);
  AccumulateRows(w_.data(), rows.data(), x.value.data(), rows.size(), classes_, out);
}

void LinearModel::Contributions(const FeatureVector& x, const std::vector<int32_t>& rows, int cls,
                                float* out) const {
  const float inv = 1.0f / static_cast<float>(classes_);
  // The weight the scores used (the 8-bit copy's, in the cache already).
  auto weight = [&](int32_t r) {
    if (!quantized_) return w_[static_cast<size_t>(r) * classes_ + cls];
    const int8_t* row = &q_[static_cast<size_t>(r) * qstride_];
    float scale;
    std::memcpy(&scale, row, sizeof scale);
    return scale * row[sizeof(float) + cls];
  };
  for (size_t i = 0; i < x.index.size(); ++i) {
    const int32_t r = rows[i];
    out[i] = r < 0 ? 0.0f : x.value[i] * (weight(r) - sum_[r] * inv);
  }
}

void LinearModel::Probabilities(const FeatureVector& x, float temperature, std::vector<float>* p,
                                std::vector<int32_t>* rows) const {
  p->resize(classes_);
  if (rows != nullptr) {
    Scores(x, p->data(), rows);
  } else {
    Scores(x, p->data());
  }
  Softmax(p->data(), classes_, temperature > 0 ? temperature : 1.0f);
}

void LinearModel::Update(const FeatureVector& x, int label, float lr) {
  std::vector<float> g(classes_);
  ExactScores(x, g.data());
  Softmax(g.data(), classes_, 1.0f);
  g[label] -= 1.0f;  // gradient of the log loss w.r.t. the scores
  // Classes the model already gives almost no probability barely move: their gradient is
  // zeroed, which leaves their weights and sums exactly as they were.
  constexpr float kNegligible = 1e-4f;
  for (int c = 0; c < classes_; ++c)
    if (std::abs(g[c]) <= kNegligible) g[c] = 0.0f;
  AdaGradRow(bias_.data(), bias_g2_.data(), g.data(), 1.0f, lr, classes_);
  for (size_t i = 0; i < x.index.size(); ++i) {
    const int32_t r = RowFor(x.index[i]);
    float* row = &w_[static_cast<size_t>(r) * classes_];
    AdaGradRow(row, &g2_[static_cast<size_t>(r) * classes_], g.data(), x.value[i], lr, classes_);
    sum_[r] = RowSum(row, classes_);
    if (quantized_) Quantize(r);
  }
}

void LinearModel::PassiveAggressive(const FeatureVector& x, int label, float aggressiveness,
                                    std::vector<float>* avg, std::vector<float>* avg_bias,
                                    float c) {
  quantized_ = false;  // many steps: the batch fit quantizes once at its end
  std::vector<float> s(classes_);
  ExactScores(x, s.data());
  int rival = label == 0 ? 1 : 0;
  for (int k = 0; k < classes_; ++k)
    if (k != label && s[k] > s[rival]) rival = k;
  const float loss = 1.0f - (s[label] - s[rival]);
  if (loss <= 0) return;
  float sq = 1.0f;  // the bias feature
  for (float v : x.value) sq += v * v;
  const float tau = std::min(aggressiveness, loss / (2.0f * sq));
  bias_[label] += tau;
  bias_[rival] -= tau;
  if (avg_bias) {
    (*avg_bias)[label] += c * tau;
    (*avg_bias)[rival] -= c * tau;
  }
  for (size_t i = 0; i < x.index.size(); ++i) {
    const int32_t r = RowFor(x.index[i]);
    const size_t base = static_cast<size_t>(r) * classes_;
    const float d = tau * x.value[i];
    w_[base + label] += d;
    w_[base + rival] -= d;
    if (avg) {
      if (avg->size() < w_.size()) avg->resize(w_.size(), 0.0f);
      (*avg)[base + label] += c * d;
      (*avg)[base + rival] -= c * d;
    }
  }
}

void LinearModel::Fit(const std::vector<Example>& data, const TrainOptions& o) {
  std::vector<size_t> order(data.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(o.seed);
  if (o.loss == Loss::kLogistic) {
    for (int e = 0; e < o.epochs; ++e) {
      std::shuffle(order.begin(), order.end(), rng);
      for (size_t i : order) Update(data[i].x, data[i].label, o.learning_rate);
    }
    QuantizeAll();
    return;
  }
  // A step moves one class up and another down by the same amount: row sums stay as they
  // were (the averaging below sets them again).
  // Averaged PA: the returned weights are the mean of the weights after every step,
  // kept as w - u / c with u the step-weighted sum of updates (Daume's trick).
  std::vector<float> u, ub(classes_, 0.0f);
  float c = 1.0f;
  for (int e = 0; e < o.epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t i : order) {
      PassiveAggressive(data[i].x, data[i].label, o.learning_rate, &u, &ub, c);
      c += 1.0f;
    }
  }
  u.resize(w_.size(), 0.0f);
  for (size_t i = 0; i < w_.size(); ++i) w_[i] -= u[i] / c;
  for (int k = 0; k < classes_; ++k) bias_[k] -= ub[k] / c;
  for (size_t r = 0; r < sum_.size(); ++r) sum_[r] = RowSum(&w_[r * classes_], classes_);
  QuantizeAll();
}

int LinearModel::AddClass() {
  const int old = classes_;
  ++classes_;
  std::vector<float> w(feature_of_row_.size() * classes_, 0.0f);
  std::vector<float> g2(feature_of_row_.size() * classes_, kG0);
  for (size_t r = 0; r < feature_of_row_.size(); ++r) {
    std::copy_n(&w_[r * old], old, &w[r * classes_]);
    std::copy_n(&g2_[r * old], old, &g2[r * classes_]);
  }
  w_.swap(w);
  g2_.swap(g2);
  bias_.push_back(0.0f);
  bias_g2_.push_back(kG0);
  if (quantized_) QuantizeAll();
  return old;
}

void LinearModel::ToProto(v1::ClassifierModel* m) const {
  m->clear_rows();
  m->clear_bias();
  std::string buf(static_cast<size_t>(classes_) * 2, '\0');
  for (size_t r = 0; r < feature_of_row_.size(); ++r) {
    const float* w = &w_[r * classes_];
    bool any = false;
    for (int c = 0; c < classes_; ++c) {
      uint16_t h = FloatToHalf(w[c]);
      any |= (h & 0x7FFF) != 0;
      buf[2 * c] = static_cast<char>(h & 0xFF);
      buf[2 * c + 1] = static_cast<char>(h >> 8);
    }
    if (!any) continue;
    auto* row = m->add_rows();
    row->set_feature(feature_of_row_[r]);
    row->set_weights(buf);
  }
  for (float b : bias_) m->add_bias(b);
}

absl::StatusOr<LinearModel> LinearModel::FromProto(const v1::ClassifierModel& m) {
  const int classes = m.categories_size();
  if (classes == 0) return absl::InvalidArgumentError("model has no categories");
  if (m.hashing().bits() < 8 || m.hashing().bits() > 26)
    return absl::InvalidArgumentError(
        absl::StrCat("model hashing.bits ", m.hashing().bits(), " out of range 8..26"));
  if (m.bias_size() != classes)
    return absl::InvalidArgumentError(
        absl::StrCat("model has ", m.bias_size(), " biases for ", classes, " categories"));
  LinearModel model(classes, 1u << m.hashing().bits());
  for (int c = 0; c < classes; ++c) model.bias_[c] = m.bias(c);
  model.feature_of_row_.reserve(m.rows_size());
  model.w_.reserve(static_cast<size_t>(m.rows_size()) * classes);
  for (const auto& row : m.rows()) {
    if (row.feature() >= model.dim_)
      return absl::InvalidArgumentError(
          absl::StrCat("model row feature ", row.feature(), " outside 2^", m.hashing().bits()));
    if (row.weights().size() != static_cast<size_t>(classes) * 2)
      return absl::InvalidArgumentError("model row has the wrong number of weights");
    if (model.row_of_[row.feature()] >= 0)
      return absl::InvalidArgumentError("model has a feature row twice");
    int32_t r = model.RowFor(row.feature());
    float* w = &model.w_[static_cast<size_t>(r) * classes];
    const auto* b = reinterpret_cast<const unsigned char*>(row.weights().data());
    for (int c = 0; c < classes; ++c) {
      w[c] = HalfToFloat(static_cast<uint16_t>(b[2 * c] | (b[2 * c + 1] << 8)));
      if (!std::isfinite(w[c])) return absl::InvalidArgumentError("model weight is not finite");
    }
    model.sum_[r] = RowSum(w, classes);
  }
  // AdaGrad sums are not saved: a loaded model takes online steps as after one pass.
  std::fill(model.g2_.begin(), model.g2_.end(), 1.0f);
  std::fill(model.bias_g2_.begin(), model.bias_g2_.end(), 1.0f);
  model.QuantizeAll();
  return model;
}

}  // namespace debrief::classify
