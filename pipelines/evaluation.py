"""The leakage-free evaluation loop: identical folds for every method, generators fitted
inside each training part, every method scored on the same untouched test part.

Methods (``evaluation.methods``):

- ``baseline``: the classifier on the real training part;
- ``class_weight``: the same with balanced class weights (sample weights where the
  classifier has no ``class_weight``);
- ``threshold``: the baseline classifier with its decision threshold tuned on an inner
  stratified validation split of the training part;
- ``augmented``: the classifier on real + synthetic training rows;
- ``augmented+threshold``: the augmented classifier with a threshold tuned the same way;
  the generator for the tuning step is fitted on the inner training split only, so the
  validation rows never shape the synthetic data.
"""

import time
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import (
    RepeatedStratifiedKFold,
    StratifiedShuffleSplit,
    TunedThresholdClassifierCV,
)
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import has_fit_parameter
from tqdm.auto import tqdm

from .metrics import METRICS, THRESHOLD_METRICS, score, threshold_scorers
from .quality import minority_quality

METHODS = ("baseline", "class_weight", "threshold", "augmented", "augmented+threshold")
AUGMENTED = ("augmented", "augmented+threshold")


@dataclass(frozen=True)
class ThresholdTuning:
    """How ``threshold`` methods choose their cut: maximise ``metric`` on a stratified
    validation split holding ``validation_size`` of the training part."""

    metric: str = "f1"
    validation_size: float = 0.25

    def __post_init__(self):
        if self.metric not in THRESHOLD_METRICS:
            raise ValueError(
                f"threshold metric {self.metric!r} unknown; choose from {list(THRESHOLD_METRICS)}"
            )
        if not 0 < self.validation_size < 1:
            raise ValueError(f"validation_size must be in (0, 1), got {self.validation_size}")


@dataclass(frozen=True)
class QualityCheck:
    """Generator quality on every fold: ``validation_fraction`` of the training part's
    minority rows is held out from the generator (the classifier still trains on them) and
    the synthetic minority is compared with it (see ``pipelines.quality``)."""

    enabled: bool = True
    validation_fraction: float = 0.2
    nearest_k: int = 5

    def __post_init__(self):
        if not 0 < self.validation_fraction < 1:
            raise ValueError(
                f"quality validation_fraction must be in (0, 1), got {self.validation_fraction}"
            )


def fold_seeds(seed, n_folds):
    """One integer seed per fold, derived from the run's ``seed`` alone.

    Two runs with the same seed and fold count get the same seeds, whatever their
    generator, so their fold results pair up across a sweep.
    """
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n_folds)]


def generator_seeds(fold_seed, n_seeds):
    """The seeds of the ``n_seeds`` generator fits of one fold; the first is ``fold_seed``."""
    extra = np.random.SeedSequence(fold_seed).generate_state(max(n_seeds - 1, 0))
    return [fold_seed, *(int(s) for s in extra)]


def fill_unset(estimator, name, value):
    """A clone of ``estimator`` whose ``name`` parameters (nested ones included, as in a
    Pipeline) that are None are set to ``value``; the others are left as they are."""
    estimator = clone(estimator)
    unset = {
        key: value
        for key, current in estimator.get_params().items()
        if (key == name or key.endswith(f"__{name}")) and current is None
    }
    return estimator.set_params(**unset)


def with_seed(estimator, seed):
    """A clone of ``estimator`` whose unset ``random_state`` parameters are ``seed``."""
    return fill_unset(estimator, "random_state", seed)


def balanced(estimator, y):
    """``(estimator, fit_params)`` that train ``estimator`` on ``y`` with balanced class weights."""
    keys = [
        k for k in estimator.get_params() if k == "class_weight" or k.endswith("__class_weight")
    ]
    if keys:
        return estimator.set_params(**dict.fromkeys(keys, "balanced")), {}
    # No class_weight: balanced sample weights, routed to the last step of a Pipeline.
    steps = getattr(estimator, "steps", None)
    final = steps[-1][1] if steps else estimator
    if not has_fit_parameter(final, "sample_weight"):
        raise ValueError(
            f"{type(final).__name__} takes neither class_weight nor sample_weight; "
            "remove class_weight from evaluation.methods"
        )
    key = f"{steps[-1][0]}__sample_weight" if steps else "sample_weight"
    return estimator, {key: compute_sample_weight("balanced", y)}


def folds(y, n_splits, n_repeats, seed):
    """``RepeatedStratifiedKFold(n_splits, n_repeats, random_state=seed)`` over all rows."""
    cv = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    return cv.split(np.zeros((len(y), 1)), y)


class _Fold:
    """One training/test split: fits classifiers and scores them on the test part."""

    def __init__(
        self, X_train, y_train, X_test, y_test, positive, classifier, seed, tuning, quality
    ):
        self.X_train, self.y_train, self.X_test, self.y_test = X_train, y_train, X_test, y_test
        self.positive, self.classifier, self.seed, self.tuning = positive, classifier, seed, tuning
        inner = StratifiedShuffleSplit(
            n_splits=1, test_size=tuning.validation_size, random_state=seed
        )
        self.inner_fit, self.inner_val = next(inner.split(np.zeros((len(y_train), 1)), y_train))
        # Rows the generator is fitted on, and minority rows held out to judge its samples.
        self.generator_rows, self.quality_rows = np.arange(len(y_train)), None
        self.quality = quality
        minority = np.flatnonzero(y_train == positive)
        n_held_out = int(round(quality.validation_fraction * len(minority)))
        if quality.enabled and n_held_out >= 3 and len(minority) - n_held_out >= 2:
            held_out = np.random.RandomState(seed).choice(minority, n_held_out, replace=False)
            self.quality_rows = np.sort(held_out)
            self.generator_rows = np.setdiff1d(self.generator_rows, held_out)
            self.scaler = StandardScaler().fit(X_train)

    def judge(self, X_synthetic, y_synthetic, seed):
        """Quality metrics of the synthetic minority rows, or None when not measured."""
        if self.quality_rows is None:
            return None
        synthetic = X_synthetic[y_synthetic == self.positive]
        if len(synthetic) < 3:
            return None
        seen = self.generator_rows[self.y_train[self.generator_rows] == self.positive]
        standardise = self.scaler.transform
        return minority_quality(
            standardise(self.X_train[seen]),
            standardise(self.X_train[self.quality_rows]),
            standardise(synthetic),
            nearest_k=self.quality.nearest_k,
            random_state=seed,
        )

    def fit(self, X, y, balance=False):
        classifier, fit_params = with_seed(self.classifier, self.seed), {}
        if balance:
            classifier, fit_params = balanced(classifier, y)
        start = time.perf_counter()
        classifier.fit(X, y, **fit_params)
        return classifier, time.perf_counter() - start

    def tune(self, X_fit, y_fit):
        """The threshold that maximises the tuning metric on the inner validation rows
        for a classifier trained on ``X_fit`` (inner training rows, maybe augmented)."""
        X_val, y_val = self.X_train[self.inner_val], self.y_train[self.inner_val]
        n = len(y_fit)
        tuner = TunedThresholdClassifierCV(
            with_seed(self.classifier, self.seed),
            scoring=threshold_scorers(self.positive)[self.tuning.metric],
            response_method="predict_proba",
            cv=[(np.arange(n), np.arange(n, n + len(y_val)))],
            refit=False,
        )
        start = time.perf_counter()
        tuner.fit(np.vstack([X_fit, X_val]), np.concatenate([y_fit, y_val]))
        return tuner.best_threshold_, time.perf_counter() - start

    def score(self, classifier, threshold=None):
        positive_score = classifier.predict_proba(self.X_test)[
            :, list(classifier.classes_).index(self.positive)
        ]
        if threshold is None:
            y_pred = classifier.predict(self.X_test)
        else:
            negative = next(c for c in classifier.classes_ if c != self.positive)
            y_pred = np.where(positive_score >= threshold, self.positive, negative)
        metrics = score(self.y_test, y_pred, positive_score, self.positive)
        return {name: float(value) for name, value in metrics.items()}


@dataclass
class _Result:
    """What one method achieved on one fold (with one generator seed)."""

    metrics: dict
    classifier_fit: float
    generator_fit: float = 0.0
    generator_sample: float = 0.0
    n_synthetic: int = 0
    threshold: float | None = None
    quality: dict | None = None
    quality_seconds: float = 0.0
    selection: dict | None = None


def _resample(generator, seed, X, y):
    """``(X_res, y_res, generator_fit_seconds, generator_sample_seconds, selection)``."""
    sampler = with_seed(generator, seed)
    start = time.perf_counter()
    X_res, y_res = sampler.fit_resample(X, y)
    total = time.perf_counter() - start
    # Samplers that time their own phases say so; imblearn's fit and sample in one step.
    return (
        X_res,
        y_res,
        getattr(sampler, "fit_seconds_", total),
        getattr(sampler, "sample_seconds_", 0.0),
        getattr(sampler, "selection_", None),
    )


def _real_methods(fold, methods):
    """``{method: _Result}`` for the methods that train on real rows only."""
    results = {}
    if "baseline" in methods or "threshold" in methods:
        baseline, seconds = fold.fit(fold.X_train, fold.y_train)
        results["baseline"] = _Result(fold.score(baseline), seconds)
        if "threshold" in methods:
            inner = fold.inner_fit
            threshold, tune_seconds = fold.tune(fold.X_train[inner], fold.y_train[inner])
            results["threshold"] = _Result(
                fold.score(baseline, threshold), seconds + tune_seconds, threshold=threshold
            )
    if "class_weight" in methods:
        weighted, seconds = fold.fit(fold.X_train, fold.y_train, balance=True)
        results["class_weight"] = _Result(fold.score(weighted), seconds)
    return {method: result for method, result in results.items() if method in methods}


def _augmented_methods(fold, methods, generator, seed):
    """``{method: _Result}`` for the augmented methods with one generator fit per ``seed``."""
    rows = fold.generator_rows
    X_aug, y_aug, gen_fit, gen_sample, selection = _resample(
        generator, seed, fold.X_train[rows], fold.y_train[rows]
    )
    X_new, y_new = X_aug[len(rows) :], y_aug[len(rows) :]
    n_synthetic = len(y_new)
    start = time.perf_counter()
    quality = fold.judge(X_new, y_new, seed)
    quality_seconds = time.perf_counter() - start
    # Every real training row, those held out from the generator included, then the new ones.
    X_aug = np.vstack([fold.X_train, X_new])
    y_aug = np.concatenate([fold.y_train, y_new])
    augmented, seconds = fold.fit(X_aug, y_aug)
    results = {
        "augmented": _Result(
            fold.score(augmented),
            seconds,
            gen_fit,
            gen_sample,
            n_synthetic,
            quality=quality,
            quality_seconds=quality_seconds,
            selection=selection,
        )
    }
    if "augmented+threshold" in methods:
        inner = fold.inner_fit
        X_inner, y_inner, inner_fit, inner_sample, _ = _resample(
            generator, seed, fold.X_train[inner], fold.y_train[inner]
        )
        threshold, tune_seconds = fold.tune(X_inner, y_inner)
        results["augmented+threshold"] = _Result(
            fold.score(augmented, threshold),
            seconds + tune_seconds,
            gen_fit + inner_fit,
            gen_sample + inner_sample,
            n_synthetic,
            threshold,
        )
    return {method: result for method, result in results.items() if method in methods}


def _record(results):
    """The report fields of one method on one fold, averaged over generator seeds."""
    mean = lambda values: float(np.mean(values))  # noqa: E731
    record = {
        "n_synthetic": int(round(mean([r.n_synthetic for r in results]))),
        "metrics": {name: mean([r.metrics[name] for r in results]) for name in METRICS},
        "seconds": {
            key: mean([getattr(r, key) for r in results])
            for key in ("generator_fit", "generator_sample", "classifier_fit")
        },
    }
    if results[0].threshold is not None:
        record["threshold"] = mean([r.threshold for r in results])
    if len(results) > 1:
        record["metrics_by_seed"] = [r.metrics for r in results]
    if results[0].selection is not None:
        record["selection"] = (
            [r.selection for r in results] if len(results) > 1 else results[0].selection
        )
    if results[0].quality is not None:
        record["seconds"]["quality"] = mean([r.quality_seconds for r in results])
        record["quality"] = {
            name: mean([r.quality[name] for r in results]) for name in results[0].quality
        }
    return record


def evaluate(
    X,
    y,
    positive,
    generator,
    classifier,
    *,
    n_splits,
    n_repeats,
    seed,
    methods=METHODS,
    n_generator_seeds=1,
    tuning=ThresholdTuning(),
    quality=QualityCheck(),
    progress=False,
):
    """Run every method on every fold.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    positive : label
        The minority class, positive for the metrics.
    generator : imblearn sampler
        Cloned and seeded per fold (and per generator seed), fitted on training rows only.
    classifier : estimator with ``predict_proba``
        Cloned and seeded per fold; the same seed for every method of a fold.
    methods : sequence of str
        Any of ``METHODS``.
    n_generator_seeds : int
        Generator fits per fold; augmented metrics average over them.
    tuning : ThresholdTuning
    quality : QualityCheck

    Returns
    -------
    list of dict
        One record per (fold, method), as in report.json's ``folds``.
    """
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(METHODS)}")
    n_folds = n_splits * n_repeats
    records = []
    splits = zip(fold_seeds(seed, n_folds), folds(y, n_splits, n_repeats, seed), strict=True)
    for i, (fold_seed, (train, test)) in enumerate(
        tqdm(splits, total=n_folds, desc="folds", disable=not progress)
    ):
        repeat, fold_index = divmod(i, n_splits)
        fold = _Fold(
            X[train], y[train], X[test], y[test], positive, classifier, fold_seed, tuning, quality
        )
        results = {method: [result] for method, result in _real_methods(fold, methods).items()}
        if any(method in methods for method in AUGMENTED):
            for generator_seed in generator_seeds(fold_seed, n_generator_seeds):
                for method, result in _augmented_methods(
                    fold, methods, generator, generator_seed
                ).items():
                    results.setdefault(method, []).append(result)
        for method in (m for m in METHODS if m in results):
            records.append(
                {
                    "repeat": repeat,
                    "fold": fold_index,
                    "method": method,
                    "n_train": int(len(train)),
                    "n_test": int(len(test)),
                    **_record(results[method]),
                }
            )
    return records
