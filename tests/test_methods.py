"""The cheap fixes at full strength: a balanced ensemble, and calibration of every method."""

import numpy as np
import pytest
from imblearn.ensemble import EasyEnsembleClassifier
from imblearn.over_sampling import RandomOverSampler
from sklearn.linear_model import LogisticRegression

import synthbalance as sb
from synthbalance.pipelines.estimators import PriorShifted
from synthbalance.pipelines.methods import AUGMENTED, PLAIN, REGISTRY
from synthbalance.pipelines.metrics import expected_calibration_error, reliability_bins


def gaussians(n_majority=900, n_minority=60, shift=1.5, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(n_majority, 3)), rng.normal(shift, 1, (n_minority, 3))])
    return X, np.r_[np.zeros(n_majority, int), np.ones(n_minority, int)]


def test_the_registry_knows_every_method_once():
    assert set(PLAIN) >= {"baseline", "class_weight", "threshold", "balanced_ensemble"}
    assert set(AUGMENTED) == {"augmented", "augmented+threshold", "augmented+recalibrated"}
    for spec in REGISTRY.values():
        assert spec.untuned is None or spec.untuned in REGISTRY
        assert spec.partner is None or not REGISTRY[spec.partner].augmented


def test_expected_calibration_error():
    is_positive = np.array([0, 0, 1, 1])
    assert expected_calibration_error(is_positive, [0.05, 0.05, 0.95, 0.95]) == pytest.approx(0.05)
    # everything at 0.5 with half positives is calibrated; at 0.9 it is off by 0.4
    assert expected_calibration_error(is_positive, [0.5] * 4) == pytest.approx(0.0)
    assert expected_calibration_error(is_positive, [0.9] * 4) == pytest.approx(0.4)
    bins = reliability_bins(is_positive, [0.05, 0.15, 0.95, 0.95])
    assert bins["count"][0] == bins["count"][1] == 1 and bins["count"][9] == 2
    assert bins["observed"][9] == 2 and sum(bins["count"]) == 4


def test_prior_shift_undoes_the_minority_inflation_of_over_sampling():
    X, y = gaussians()
    X_aug, y_aug = RandomOverSampler(random_state=0).fit_resample(X, y)
    augmented = LogisticRegression().fit(X_aug, y_aug)
    corrected = PriorShifted(augmented, trained_on=y_aug, real=y)
    real = LogisticRegression().fit(X, y).predict_proba(X)[:, 1].mean()
    assert augmented.predict_proba(X)[:, 1].mean() > 3 * real  # trained on a 50 % prior
    assert corrected.predict_proba(X)[:, 1].mean() == pytest.approx(real, rel=0.2)
    np.testing.assert_allclose(corrected.predict_proba(X).sum(axis=1), 1.0)
    # the odds are scaled by the ratio of real to augmented class frequencies
    p, q = augmented.predict_proba(X[:5])[:, 1], corrected.predict_proba(X[:5])[:, 1]
    ratio = (60 / 900) / 1.0
    np.testing.assert_allclose(q / (1 - q), ratio * p / (1 - p), rtol=1e-9)


def test_balanced_ensemble_and_recalibration_run_on_every_fold():
    X, y = gaussians()
    report = sb.evaluate(X, y, generator=RandomOverSampler(), n_splits=3, n_repeats=1)
    summary = report.data["summary"]
    assert {"balanced_ensemble", "augmented+recalibrated"} <= set(summary)
    assert report.data["protocol"]["ensemble"]["name"] == "BalancedRandomForestClassifier"
    # over-sampling wrecks calibration; recalibration restores it
    assert summary["augmented"]["brier"]["mean"] > 2 * summary["baseline"]["brier"]["mean"]
    assert summary["augmented+recalibrated"]["ece"]["mean"] < summary["augmented"]["ece"]["mean"]
    c = next(
        c for c in report.data["comparisons"]
        if (c["method"], c["versus"], c["metric"]) == ("augmented", "baseline", "brier")
    )  # fmt: skip
    assert c["delta_mean"] > 0 and c["verdict"] == "hurts"  # a higher Brier score is worse
    calibration = report.data["calibration"]
    assert set(calibration) == set(summary)
    assert sum(calibration["baseline"]["count"]) == len(y)  # every test row, once


def test_an_easy_ensemble_wraps_the_runs_classifier():
    X, y = gaussians()
    report = sb.evaluate(
        X, y, generator=RandomOverSampler(), classifier=LogisticRegression(), n_splits=2,
        n_repeats=1, methods=["baseline", "balanced_ensemble"],
        ensemble=EasyEnsembleClassifier(n_estimators=3),
    )  # fmt: skip
    params = report.data["protocol"]["ensemble"]
    assert params["name"] == "EasyEnsembleClassifier"
    assert "LogisticRegression" in str(params["params"]["estimator"])
