"""Planted cases with a known answer: the verdict must be able to say no."""

import numpy as np
import pytest
from imblearn import FunctionSampler
from imblearn.over_sampling import SMOTE, RandomOverSampler
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from synthbalance.pipelines.methods import METHODS
from synthbalance.pipelines.report.build import comparisons, summarise

from .conftest import fold_records

PROTOCOL = {"rope": 0.01, "n_repeats": 2}


def logreg():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def gaussians(n_majority, n_minority, shift, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(n_majority, 2)), rng.normal(shift, 1, size=(n_minority, 2))])
    return X, np.r_[np.zeros(n_majority, int), np.ones(n_minority, int)]


def verdicts(X, y, generator, methods=METHODS, seed=0, classifier=None):
    folds = fold_records(
        X, y, 1, generator, classifier or logreg(), n_splits=5, n_repeats=2, seed=seed,
        methods=methods,
    )  # fmt: skip
    summary = summarise(folds)
    table = {
        (c["method"], c["versus"], c["metric"]): c for c in comparisons(folds, summary, PROTOCOL)
    }
    return summary, table


def majority_labelled_minority(X, y):
    """Copies of the majority rows farthest from the minority, relabelled as minority,
    enough to balance the classes."""
    majority = np.flatnonzero(y == 0)
    distance = np.linalg.norm(X[majority] - X[y == 1].mean(axis=0), axis=1)
    farthest = majority[np.argsort(distance)[-len(majority) // 5 :]]
    fake = np.resize(farthest, len(majority) - int((y == 1).sum()))
    return np.vstack([X, X[fake]]), np.r_[y, np.ones(len(fake), dtype=y.dtype)]


@pytest.mark.parametrize("classifier", ["logreg", "knn"])
def test_poisoned_generator_hurts(classifier):
    X, y = gaussians(1500, 75, shift=2.5)
    estimator = {"logreg": logreg(), "knn": KNeighborsClassifier(n_neighbors=15)}[classifier]
    _, table = verdicts(
        X, y, FunctionSampler(func=majority_labelled_minority), ("baseline", "augmented"),
        classifier=estimator,
    )  # fmt: skip
    assert table[("augmented", "baseline", "f1")]["verdict"] == "hurts"
    assert table[("augmented", "baseline", "roc_auc")]["verdict"] == "hurts"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generator_that_adds_nothing_never_improves(seed):
    X, y = gaussians(1500, 75, shift=1.5, seed=seed)
    _, table = verdicts(X, y, FunctionSampler(), seed=seed)
    for (method, versus, metric), c in table.items():
        if method in {"augmented", "augmented+threshold"} and versus == "baseline":
            assert c["verdict"] != "improves", (method, metric)
        if method == "augmented" and versus == "baseline":
            assert c["verdict"] == "equivalent" and c["p_rope"] == 1.0


@pytest.mark.parametrize("seed", [0, 1])
def test_random_oversampling_improves_f1_but_threshold_tuning_beats_or_equals_it(seed):
    # The user's 20,000 vs 500 with heavy overlap: at the default threshold the baseline
    # almost never predicts the minority, so copies of it raise F1.
    X, y = gaussians(20000, 500, shift=1.0, seed=seed)
    summary, table = verdicts(
        X, y, RandomOverSampler(), methods=("baseline", "threshold", "augmented")
    )
    assert table[("augmented", "baseline", "f1")]["verdict"] == "improves"
    assert summary["threshold"]["f1"]["mean"] >= summary["augmented"]["f1"]["mean"]
    assert table[("augmented", "threshold", "f1")]["verdict"] != "improves"


def test_threshold_tuning_leaves_threshold_free_metrics_alone():
    X, y = gaussians(1500, 75, shift=1.5)
    summary, table = verdicts(X, y, SMOTE())
    for metric in ("roc_auc", "pr_auc"):
        assert summary["threshold"][metric] == summary["baseline"][metric]
        assert summary["augmented+threshold"][metric] == summary["augmented"][metric]
        assert ("threshold", "baseline", metric) not in table
        assert ("augmented+threshold", "augmented", metric) not in table
    assert ("threshold", "baseline", "f1") in table


def test_generator_seeds_average_and_report_their_spread():
    X, y = gaussians(600, 40, shift=1.5)
    folds = fold_records(
        X, y, 1, SMOTE(), logreg(), n_splits=3, n_repeats=1, seed=0, generator_seeds=3,
        methods=("baseline", "augmented"),
    )  # fmt: skip
    augmented = [r for r in folds if r["method"] == "augmented"]
    assert all(len(r["metrics_by_seed"]) == 3 for r in augmented)
    for r in augmented:
        assert r["metrics"]["f1"] == pytest.approx(np.mean([m["f1"] for m in r["metrics_by_seed"]]))
    summary = summarise(folds)
    assert summary["augmented"]["f1"]["generator_std"] > 0
    assert "generator_std" not in summary["baseline"]["f1"]


class _WeightSpy(GaussianNB):
    """GaussianNB (sample_weight, no class_weight) that records the weights it got."""

    seen = []

    def fit(self, X, y, sample_weight=None):
        _WeightSpy.seen.append((np.asarray(y), sample_weight))
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("in_pipeline", [False, True], ids=["bare", "pipeline"])
def test_class_weight_uses_sample_weights_when_there_is_no_class_weight(in_pipeline):
    X, y = gaussians(600, 40, shift=1.5)
    classifier = make_pipeline(StandardScaler(), _WeightSpy()) if in_pipeline else _WeightSpy()
    _WeightSpy.seen.clear()
    fold_records(
        X, y, 1, SMOTE(), classifier, n_splits=2, n_repeats=1, seed=0,
        methods=("baseline", "class_weight"),
    )  # fmt: skip
    weighted = [(labels, w) for labels, w in _WeightSpy.seen if w is not None]
    assert len(weighted) == 2 and len(_WeightSpy.seen) == 4  # one weighted fit per fold
    for labels, weights in weighted:
        # balanced: each class carries the same total weight
        assert weights[labels == 1].sum() == pytest.approx(weights[labels == 0].sum())


def test_class_weight_without_any_weighting_fails_clearly():
    X, y = gaussians(300, 30, shift=1.5)
    with pytest.raises(ValueError, match="neither class_weight nor sample_weight"):
        fold_records(
            X, y, 1, SMOTE(), KNeighborsClassifier(), n_splits=2, n_repeats=1, seed=0,
            methods=("baseline", "class_weight"),
        )  # fmt: skip


def test_unknown_method_is_refused():
    X, y = gaussians(300, 30, shift=1.5)
    with pytest.raises(ValueError, match="unknown methods"):
        fold_records(
            X, y, 1, SMOTE(), logreg(), n_splits=2, n_repeats=1, seed=0, methods=("magic",)
        )
