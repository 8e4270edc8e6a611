import numpy as np
import pytest
from imblearn.metrics import geometric_mean_score
from imblearn.over_sampling import RandomOverSampler
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score, matthews_corrcoef
from sklearn.model_selection import TunedThresholdClassifierCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import synthbalance as sb
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
@pytest.mark.parametrize("labels", [("minority", "other"), ("b", "a")])  # positive first, last
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


@pytest.mark.parametrize("minority", ["a_minority", "z_minority"])  # sorts first, last
def test_the_fold_tunes_on_the_minority_probability_however_the_labels_sort(minority, monkeypatch):
    """The fold tunes the threshold on the minority's probability, the one it then cuts,
    whether the minority's label sorts first or last (scikit-learn's scorers without a
    ``pos_label`` would cut the last class's probability)."""
    calls = []

    def spy(is_positive, positive_score, metric):
        calls.append((np.asarray(is_positive), np.asarray(positive_score), metric))
        return tuned_threshold(is_positive, positive_score, metric)

    monkeypatch.setattr("synthbalance.pipelines.folds.tuned_threshold", spy)
    data = seed_case(n_majority=600, n_minority=80, n_features=6, n_informative=3, n_redundant=1)
    y = np.where(data.y == 1, minority, "m_majority")
    sb.evaluate(
        data.X.to_numpy(), y, generator=RandomOverSampler(), minority=minority,
        methods=("baseline", "threshold"), threshold="balanced_accuracy", n_splits=3,
        n_repeats=1, quality=False, n_jobs=1,
        classifier=make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    )  # fmt: skip
    assert len(calls) == 3
    for is_positive, positive_score, metric in calls:
        assert metric == "balanced_accuracy"
        assert is_positive.mean() == pytest.approx(80 / 680, abs=0.01)  # the minority's rows
        # the minority's probability is higher on its rows (the majority's would be lower)
        assert positive_score[is_positive].mean() > positive_score[~is_positive].mean()


def test_a_constant_or_missing_score_and_an_unknown_metric_are_errors():
    with pytest.raises(ValueError, match="same score"):
        tuned_threshold(np.array([True, False, False]), np.full(3, 0.2), "f1")
    with pytest.raises(ValueError, match="NaN"):
        tuned_threshold(np.array([True, False, False]), np.array([0.2, np.nan, 0.4]), "f1")
    with pytest.raises(ValueError, match="no threshold curve for metric 'accuracy'"):
        threshold_curve(np.array([True, False]), np.array([0.1, 0.9]), "accuracy")


def test_every_threshold_metric_has_a_curve():
    from synthbalance.pipelines.metrics import FROM_COUNTS, THRESHOLD_METRICS

    assert set(FROM_COUNTS) == set(THRESHOLD_METRICS) == set(threshold_scorers(1))
