#!/usr/bin/env python3
"""Independent values for loop/verification: one-sided p = P(X <= after), X ~ Binomial(n, 1/2),
n = before + after, computed exactly with fractions and math.comb. Prints "before after p"."""
import math
from fractions import Fraction

CASES = [(12, 0), (10, 2), (10, 9), (5, 5), (4, 0), (6, 1), (30, 12), (100, 70), (100, 90),
         (250, 180), (3, 0), (0, 0), (8, 8), (1000, 930), (40, 41)]
for before, after in CASES:
    n = before + after
    p = sum(Fraction(math.comb(n, i), 2 ** n) for i in range(after + 1)) if n else Fraction(1)
    print(before, after, repr(float(p)))
