#!/usr/bin/env python3
"""Reference values for semprog's rank-correlation code, computed with SciPy.

Run from the repository root:  python3 Tests/AnalysisTests/Fixtures/make_fixtures.py
Writes Tests/AnalysisTests/Fixtures/rank_correlation.json: seeded random cases with and without ties, each with
scipy.stats.spearmanr (rho, two-sided t p-value), scipy.stats.kendalltau (tau-b, method="asymptotic"), and for
n <= 9 the exact two-sided permutation p-value of rho (scipy.stats.permutation_test, permutation_type="pairings"),
and for three cases the 95% percentile bootstrap interval of rho (scipy.stats.bootstrap, paired, 10,000 resamples).
"""
import json
import math
import os

import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(20240607)


def case(name, x, y, exact_permutation, bootstrap_ci=False):
    x = [float(v) for v in x]
    y = [float(v) for v in y]
    s = stats.spearmanr(x, y)
    k = stats.kendalltau(x, y, method="asymptotic")
    out = {
        "name": name, "x": x, "y": y,
        "rho": None if math.isnan(s.statistic) else float(s.statistic),
        "p_value": None if math.isnan(s.pvalue) else float(s.pvalue),
        "kendall_tau": None if math.isnan(k.statistic) else float(k.statistic),
        "kendall_p_value": None if math.isnan(k.pvalue) else float(k.pvalue),
        "p_permutation_exact": None,
        "ci_percentile": None,
    }
    if exact_permutation and out["rho"] is not None:
        ya = np.asarray(y)
        ry = stats.rankdata(ya)

        def rho(a, axis=-1):
            # Spearman rho of each permuted x against y, vectorised over the leading axes (same as spearmanr).
            ra = stats.rankdata(a, axis=-1)
            ra = ra - ra.mean(axis=-1, keepdims=True)
            b = ry - ry.mean()
            return (ra * b).sum(axis=-1) / np.sqrt((ra * ra).sum(axis=-1) * (b * b).sum())

        assert abs(rho(np.asarray(x)) - s.statistic) < 1e-12
        res = stats.permutation_test((np.asarray(x),), rho, vectorized=True,
                                     permutation_type="pairings", n_resamples=np.inf, alternative="two-sided")
        out["p_permutation_exact"] = float(res.pvalue)
    if bootstrap_ci:
        res = stats.bootstrap((np.asarray(x), np.asarray(y)), lambda a, b: stats.spearmanr(a, b).statistic,
                              paired=True, vectorized=False, n_resamples=10000, method="percentile",
                              confidence_level=0.95, rng=np.random.default_rng(1))
        out["ci_percentile"] = [float(res.confidence_interval.low), float(res.confidence_interval.high)]
    return out


cases = []
# No ties: continuous normals with varying dependence and size.
for n, slope in [(3, 1.0), (5, 0.5), (8, 0.0), (9, 0.8), (10, 0.3), (30, 0.5), (82, 0.2), (200, -0.4)]:
    x = rng.normal(size=n)
    y = slope * x + rng.normal(size=n)
    cases.append(case(f"no_ties_n{n}", x, y, n <= 9, bootstrap_ci=n in (30, 82)))
# Ties: small integer grids.
for n, levels in [(6, 3), (8, 4), (12, 3), (25, 5), (82, 6), (150, 4)]:
    x = rng.integers(0, levels, size=n)
    y = x + rng.integers(0, levels, size=n)
    cases.append(case(f"ties_n{n}", x, y, n <= 9, bootstrap_ci=n == 82))
# Ties in one variable only, and a perfect monotone pair.
x = rng.normal(size=40)
cases.append(case("ties_in_y_n40", x, np.round(x * 2), False))
x = rng.normal(size=7)
cases.append(case("perfect_n7", x, np.exp(x), True))
cases.append(case("perfect_negative_n7", x, -x ** 3, True))

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rank_correlation.json")
with open(path, "w") as f:
    json.dump({"scipy_version": scipy.__version__, "cases": cases}, f, indent=1)
print(f"wrote {len(cases)} cases to {path}")
