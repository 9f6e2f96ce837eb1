#include "loop/verification.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_format.h"

namespace debrief::loop {

double BinomialCdf(int64_t k, int64_t n, double p) {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  const double lp = std::log(p), lq = std::log1p(-p);
  const double lnf = std::lgamma(static_cast<double>(n) + 1);
  // log-sum-exp over the terms i = 0..k.
  std::vector<double> terms(static_cast<size_t>(k) + 1);
  for (int64_t i = 0; i <= k; ++i)
    terms[i] = lnf - std::lgamma(static_cast<double>(i) + 1) -
               std::lgamma(static_cast<double>(n - i) + 1) + i * lp + (n - i) * lq;
  const double max_term = *std::max_element(terms.begin(), terms.end());
  double sum = 0;
  for (double t : terms) sum += std::exp(t - max_term);
  return std::min(1.0, std::exp(max_term + std::log(sum)));
}

v1::FixVerification JudgeFix(int64_t before, int64_t after, double significance) {
  v1::FixVerification v;
  v.set_before(before);
  v.set_after(after);
  const int64_t n = before + after;
  v.set_p_value(BinomialCdf(after, n, 0.5));
  if (before > 0) v.set_change(static_cast<double>(after - before) / static_cast<double>(before));
  // The smallest p-value n tickets can give is 0.5^n (all of them before).
  if (n == 0 || n * std::log(0.5) >= std::log(significance)) {
    v.set_verdict(v1::FixVerification::NOT_YET_KNOWN);
    v.set_summary(absl::StrFormat(
        "Fix not yet known: too few tickets to tell (%d before, %d after).", before, after));
  } else if (v.p_value() < significance) {
    v.set_verdict(v1::FixVerification::VERIFIED);
    v.set_summary(absl::StrFormat(
        "Fix verified: tickets of this cause went down %.0f%% (%d before, %d after; p = %.2g).",
        -100 * v.change(), before, after, v.p_value()));
  } else {
    v.set_verdict(v1::FixVerification::NOT_VERIFIED);
    v.set_summary(absl::StrFormat(
        "Fix not verified: the cause is still coming in (%d before, %d after; p = %.2g). "
        "Flagged for the task's owner.",
        before, after, v.p_value()));
  }
  return v;
}

}  // namespace debrief::loop
