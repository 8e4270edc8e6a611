"""The verdict: corrected resampled t-test (Nadeau & Bengio 2003) and a region of practical
equivalence, as DESIGN.md defines them, with the smallest effect a run can detect."""

import numpy as np
from scipy import optimize, stats

VERDICTS = ("improves", "equivalent", "hurts", "inconclusive")
# The power at which a comparison's minimum detectable effect (``mde``) is detected.
POWER = 0.8


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


def corrected_ttest(deltas, n_train, n_test, rope, confidence=0.95, sign=1, critical=None):
    """Mean paired delta, its CI and p-value under the corrected resampled t-test, and the
    smallest delta the run could detect.

    ``deltas`` are per-fold differences (method - reference) over repeated k-fold CV;
    var = (1/n + n_test/n_train) * s^2 accounts for overlapping training sets. ``sign`` is
    -1 for a metric where lower is better (the verdict's direction). The CI reaches
    ``critical`` standard errors on each side (default: the t quantile of ``confidence``;
    an adaptive run's repeated confidence interval passes its look's). ``p_value`` is the
    nominal one of this look. ``mde`` is the smallest true delta the CI excludes 0 for, on
    its side, with probability ``POWER`` (``detectable_effect``).
    """
    deltas = np.asarray(deltas, dtype=float)
    n = len(deltas)
    mean = float(deltas.mean())
    variance = (1 / n + n_test / n_train) * deltas.var(ddof=1) if n > 1 else np.inf
    if critical is None:
        critical = stats.t.ppf(0.5 + confidence / 2, n - 1) if n > 1 else np.inf
    half_width = critical * np.sqrt(variance) if n > 1 else np.inf
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
        "mde": detectable_effect(np.sqrt(variance), n, critical),
    }


def detectable_effect(se, n, critical, power=POWER):
    """The smallest true mean delta that an interval ``mean ± critical · se`` of ``n``
    folds keeps on one side of 0 with probability ``power``: ``λ · se`` for the
    noncentrality λ at which the noncentral t (n − 1 degrees of freedom) exceeds
    ``critical`` with that probability (the power of the one-sample t-test, as in Cohen
    1988, *Statistical Power Analysis for the Behavioral Sciences*, ch. 2). A run's
    minimum detectable effect uses its own fold variance: an estimate, as sharp as s."""
    if not np.isfinite(se) or not np.isfinite(critical):
        return float("inf")
    noncentrality = optimize.brentq(
        lambda nc: stats.nct.sf(critical, n - 1, nc) - power, 0.0, critical + 50.0
    )
    return float(noncentrality * se)


def projected_effect(sd, n_splits, n_repeats, n_train, n_test, power=POWER):
    """The minimum detectable effect of a fixed ``n_splits`` x ``n_repeats`` run whose
    per-fold deltas spread by ``sd``; ``n_repeats=None``: its limit for endless repeats
    (the normal quantiles times the floor √(n_test/n_train) · sd)."""
    if n_repeats is None:
        quantiles = stats.norm.ppf(0.975) + stats.norm.ppf(power)
        return float(quantiles * np.sqrt(n_test / n_train) * sd)
    n = n_splits * n_repeats
    se = np.sqrt(1 / n + n_test / n_train) * sd
    return detectable_effect(se, n, stats.t.ppf(0.975, n - 1), power)


def bayesian_correlated_ttest(deltas, rope, n_repeats, sign=1):
    """P(better), P(within rope), P(worse) for paired per-fold ``deltas`` (method - reference)
    under the Bayesian correlated t-test (Benavoli et al. 2017), via baycomp; ``sign`` -1
    where lower is better. With ``rope=0`` baycomp gives no rope probability: it is 0."""
    import baycomp

    deltas = sign * np.asarray(deltas, dtype=float)
    found = baycomp.two_on_single(deltas, np.zeros_like(deltas), rope=rope, runs=n_repeats)
    p_better, p_rope, p_worse = found if len(found) == 3 else (found[0], 0.0, found[1])
    return {"p_better": float(p_better), "p_rope": float(p_rope), "p_worse": float(p_worse)}
