import numpy as np
import pytest
from imblearn.metrics import geometric_mean_score
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score, matthews_corrcoef
from sklearn.model_selection import TunedThresholdClassifierCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from synthbalance.pipelines.datasets import seed_case
from synthbalance.pipelines.metrics import (
    N_THRESHOLDS,
    threshold_curve,
    threshold_scorers,
    tuned_threshold,
)

METRICS = tuple(threshold_scorers(1))


def scores(seed, n=400, minority=0.1, ties=False):
    rng = np.random.RandomState(seed)
    is_positive = rng.uniform(size=n) < minority
    score = rng.normal(size=n) + 1.5 * is_positive
    if ties:  # few distinct values: cut points land on them and between them
        score = np.round(score, 0)
    return is_positive, score


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("seed, ties", [(0, False), (1, True), (2, False)])
@pytest.mark.parametrize("labels", [("minority", "other"), ("a", "b")])  # positive first, last
def test_the_curve_is_the_metric_at_every_cut_point(metric, seed, ties, labels):
    """The vectorised counts give the same numbers as calling the metric's own function on
    the decisions score >= t, cut point by cut point."""
    is_positive, score = scores(seed, ties=ties)
    positive, negative = labels
    y_true = np.where(is_positive, positive, negative)
    function = {
        "f1": lambda t, p: f1_score(t, p, pos_label=positive, zero_division=0.0),
        "balanced_accuracy": balanced_accuracy_score,
        "gmean": geometric_mean_score,
        "mcc": matthews_corrcoef,
    }[metric]
    thresholds, values = threshold_curve(is_positive, score, metric)
    assert len(thresholds) == N_THRESHOLDS
    assert thresholds[0] == score.min() and thresholds[-1] == score.max()
    expected = [function(y_true, np.where(score >= t, positive, negative)) for t in thresholds]
    np.testing.assert_array_equal(values, expected)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("seed", [0, 1])
def test_the_tuned_threshold_is_scikit_learns(metric, seed):
    """The threshold equals TunedThresholdClassifierCV's on the same fitted classifier and
    validation rows (positive class 1, scikit-learn's positive column for every metric)."""
    data = seed_case(
        n_majority=900, n_minority=60, n_features=6, n_informative=3, n_redundant=1,
        random_state=seed,
    )  # fmt: skip
    X, y = data.X.to_numpy(), data.y
    X_fit, X_val, y_fit, y_val = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    fitted = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_fit, y_fit)
    tuner = TunedThresholdClassifierCV(
        fitted, scoring=threshold_scorers(1)[metric], response_method="predict_proba",
        cv="prefit", refit=False,
    ).fit(X_val, y_val)  # fmt: skip
    ours = tuned_threshold(y_val == 1, fitted.predict_proba(X_val)[:, 1], metric)
    assert ours == tuner.best_threshold_


def test_a_constant_score_and_an_unknown_metric_are_errors():
    with pytest.raises(ValueError, match="same score"):
        tuned_threshold(np.array([True, False, False]), np.full(3, 0.2), "f1")
    with pytest.raises(ValueError, match="no threshold curve for metric 'accuracy'"):
        threshold_curve(np.array([True, False]), np.array([0.1, 0.9]), "accuracy")
