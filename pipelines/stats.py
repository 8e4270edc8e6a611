"""The verdict: corrected resampled t-test (Nadeau & Bengio 2003) and a region of practical
equivalence, as DESIGN.md defines them."""

import numpy as np
from scipy import stats

VERDICTS = ("improves", "equivalent", "hurts", "inconclusive")


def verdict(ci_low, ci_high, rope, sign=1):
    """CI inside (-rope, rope): equivalent; else above 0: improves; below 0: hurts. With
    ``sign=-1`` (a metric where lower is better) a CI below 0 improves."""
    if -rope < ci_low and ci_high < rope:
        return "equivalent"
    if (ci_low > 0 and sign > 0) or (ci_high < 0 and sign < 0):
        return "improves"
    if ci_high < 0 or ci_low > 0:
        return "hurts"
    return "inconclusive"


def corrected_ttest(deltas, n_train, n_test, rope, confidence=0.95, sign=1):
    """Mean paired delta, its CI and p-value under the corrected resampled t-test.

    ``deltas`` are per-fold differences (method - reference) over repeated k-fold CV;
    var = (1/n + n_test/n_train) * s^2 accounts for overlapping training sets. ``sign`` is
    -1 for a metric where lower is better (the verdict's direction).
    """
    deltas = np.asarray(deltas, dtype=float)
    n = len(deltas)
    mean = float(deltas.mean())
    variance = (1 / n + n_test / n_train) * deltas.var(ddof=1) if n > 1 else np.inf
    half_width = stats.t.ppf(0.5 + confidence / 2, n - 1) * np.sqrt(variance) if n > 1 else np.inf
    if variance == 0:
        p_value = 1.0 if mean == 0 else 0.0
    else:
        p_value = float(2 * stats.t.sf(abs(mean) / np.sqrt(variance), n - 1))
    low, high = mean - half_width, mean + half_width
    return {
        "delta_mean": mean,
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": p_value,
        "verdict": verdict(low, high, rope, sign),
    }


def bayesian_correlated_ttest(deltas, rope, n_repeats, sign=1):
    """P(better), P(within rope), P(worse) for paired per-fold ``deltas`` (method - reference)
    under the Bayesian correlated t-test (Benavoli et al. 2017), via baycomp; ``sign`` -1
    where lower is better."""
    import baycomp

    deltas = sign * np.asarray(deltas, dtype=float)
    p_better, p_rope, p_worse = baycomp.two_on_single(
        deltas, np.zeros_like(deltas), rope=rope, runs=n_repeats
    )
    return {"p_better": float(p_better), "p_rope": float(p_rope), "p_worse": float(p_worse)}
