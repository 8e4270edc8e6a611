import numpy as np
import pytest
from scipy import stats

from synthbalance.pipelines.stats import bayesian_correlated_ttest, corrected_ttest, verdict


@pytest.mark.parametrize(
    "low, high, expected",
    [
        (-0.005, 0.005, "equivalent"),
        (0.02, 0.05, "improves"),
        (0.005, 0.05, "improves"),  # above 0, not inside the rope
        (-0.05, -0.02, "hurts"),
        (-0.02, 0.03, "inconclusive"),
        (-0.01, 0.005, "inconclusive"),  # touching the rope edge is not inside it
    ],
)
def test_verdict_rules(low, high, expected):
    assert verdict(low, high, rope=0.01) == expected


def test_corrected_ttest_follows_nadeau_bengio():
    deltas = np.array([0.01, 0.03, 0.02, 0.04, 0.00, 0.02, 0.03, 0.01, 0.02, 0.03])
    result = corrected_ttest(deltas, n_train=80, n_test=20, rope=0.01)
    n = len(deltas)
    sd = np.sqrt((1 / n + 20 / 80) * deltas.var(ddof=1))
    half = stats.t.ppf(0.975, n - 1) * sd
    assert result["delta_mean"] == pytest.approx(deltas.mean())
    assert result["ci_low"] == pytest.approx(deltas.mean() - half)
    assert result["ci_high"] == pytest.approx(deltas.mean() + half)
    assert result["p_value"] == pytest.approx(2 * stats.t.sf(deltas.mean() / sd, n - 1))


def test_correction_widens_the_interval_of_the_naive_test():
    deltas = np.random.default_rng(0).normal(0.02, 0.02, size=10)
    corrected = corrected_ttest(deltas, n_train=80, n_test=20, rope=0.01)
    naive = stats.ttest_1samp(deltas, 0).confidence_interval()
    assert corrected["ci_high"] - corrected["ci_low"] > naive.high - naive.low


def test_identical_methods_are_equivalent():
    result = corrected_ttest(np.zeros(10), n_train=80, n_test=20, rope=0.01)
    assert result["verdict"] == "equivalent"
    assert result["p_value"] == 1.0


def test_lower_is_better_metrics_improve_downwards():
    assert verdict(-0.05, -0.02, 0.01, sign=-1) == "improves"
    assert verdict(0.02, 0.05, 0.01, sign=-1) == "hurts"
    assert verdict(-0.005, 0.005, 0.01, sign=-1) == "equivalent"
    result = corrected_ttest([-0.05, -0.06, -0.04, -0.05], 100, 25, rope=0.01, sign=-1)
    assert result["verdict"] == "improves" and result["delta_mean"] < 0


@pytest.mark.parametrize("sign", [1, -1])
def test_the_bayesian_test_takes_a_rope_of_zero(sign):
    # baycomp returns two probabilities, not three, when the rope is 0
    deltas = sign * np.array([0.03, 0.05, 0.02, 0.04, 0.06, 0.03, 0.05, 0.04, 0.02, 0.05])
    result = bayesian_correlated_ttest(deltas, rope=0, n_repeats=2)
    assert result["p_rope"] == 0
    assert result["p_better"] + result["p_worse"] == pytest.approx(1)
    assert (result["p_better"] > 0.99) == (sign == 1)
    with_rope = bayesian_correlated_ttest(deltas, rope=0.01, n_repeats=2)
    assert with_rope["p_rope"] > 0
