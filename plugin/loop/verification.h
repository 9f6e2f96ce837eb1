#pragma once

#include <cstdint>

#include "debrief/v1/model.pb.h"

namespace debrief::loop {

// P(X <= k) for X ~ Binomial(n, p), summed exactly in log space (n up to millions).
double BinomialCdf(int64_t k, int64_t n, double p);

// Did a fix reduce its cause? `before` tickets in the window before the task was done,
// `after` in an equal window after the settling delay. Under H0 (the rate did not change)
// and given n = before + after, after ~ Binomial(n, 1/2): the exact conditional test on two
// Poisson counts. One-sided p = P(X <= after).
//   NOT_YET_KNOWN  when even after = 0 could not reach `significance` (too few tickets);
//   VERIFIED       when p < significance;
//   NOT_VERIFIED   otherwise: the cause is still coming in.
v1::FixVerification JudgeFix(int64_t before, int64_t after, double significance);

}  // namespace debrief::loop
