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

With several minority classes every one is scored against the base class alone (its rows
and the base class's rows of the test part: that class's F1, ROC AUC, …), ``metrics``
holds the macro average over the minority classes and ``metrics_by_class`` each class's
scores. A decision threshold is a binary notion: the threshold methods need two classes.
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
from sklearn.pipeline import Pipeline
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import has_fit_parameter
from tqdm.auto import tqdm

from synthbalance.generators.metrics import minority_quality
from synthbalance.pipelines.datasets import one_hot_columns
from synthbalance.pipelines.metrics import METRICS, THRESHOLD_METRICS, score, threshold_scorers
from synthbalance.pipelines.quality import feature_space

METHODS = ("baseline", "class_weight", "threshold", "augmented", "augmented+threshold")
AUGMENTED = ("augmented", "augmented+threshold")
THRESHOLD_METHODS = ("threshold", "augmented+threshold")


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
    the synthetic minority is compared with it (see ``synthbalance.pipelines.quality``)."""

    enabled: bool = True
    validation_fraction: float = 0.2
    nearest_k: int = 5

    def __post_init__(self):
        if not 0 < self.validation_fraction < 1:
            raise ValueError(
                f"quality validation_fraction must be in (0, 1), got {self.validation_fraction}"
            )

    def n_held_out(self, n_rows):
        """How many of a class's ``n_rows`` training rows are held out to judge the
        generator; 0 when the class is not judged (check disabled, fewer than 3 rows to
        hold out or fewer than 2 left to fit)."""
        n = int(round(self.validation_fraction * n_rows))
        return n if self.enabled and n >= 3 and n_rows - n >= 2 else 0


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


def one_hot_first(classifier, categorical, categories):
    """``classifier`` behind a one-hot encoding of the ``categorical`` columns (codes; their
    possible values ``categories`` come from the dataset, so a category missing from one
    training part still has its column). Numeric columns pass through unchanged."""
    steps = classifier.steps if isinstance(classifier, Pipeline) else [("classifier", classifier)]
    return Pipeline([("one_hot", one_hot_columns(categorical, categories)), *steps])


def applicable_methods(methods, n_classes):
    """``methods`` without the threshold methods when there are more than two classes."""
    if n_classes > 2:
        return [m for m in methods if m not in THRESHOLD_METHODS]
    return list(methods)


def folds(y, n_splits, n_repeats, seed):
    """``RepeatedStratifiedKFold(n_splits, n_repeats, random_state=seed)`` over all rows."""
    cv = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    return cv.split(np.zeros((len(y), 1)), y)


class _Fold:
    """One training/test split: fits classifiers and scores them on the test part.

    ``minority`` lists the minority classes, each scored against ``base``; the first is
    the positive class of the threshold methods (two classes only).
    """

    def __init__(
        self, X_train, y_train, X_test, y_test, minority, base, classifier, seed, tuning, quality,
        space,
    ):  # fmt: skip
        self.X_train, self.y_train, self.X_test, self.y_test = X_train, y_train, X_test, y_test
        self.minority, self.base, self.positive = list(minority), base, minority[0]
        self.classifier, self.seed, self.tuning = classifier, seed, tuning
        inner = StratifiedShuffleSplit(
            n_splits=1, test_size=tuning.validation_size, random_state=seed
        )
        self.inner_fit, self.inner_val = next(inner.split(np.zeros((len(y_train), 1)), y_train))
        # Rows the generator is fitted on, and minority rows held out to judge its samples.
        self.quality = quality
        self.quality_rows = {}
        rng = np.random.RandomState(seed)
        for class_ in self.minority:
            rows = np.flatnonzero(y_train == class_)
            n_held_out = quality.n_held_out(len(rows))
            if n_held_out:
                self.quality_rows[class_] = np.sort(rng.choice(rows, n_held_out, replace=False))
        held_out = np.concatenate([np.empty(0, dtype=int), *self.quality_rows.values()])
        self.generator_rows = np.setdiff1d(np.arange(len(y_train)), held_out)
        self.space_seconds = 0.0
        if self.quality_rows:
            # fitted on the generator's rows: held-out and synthetic rows are both unseen
            start = time.perf_counter()
            rows = self.generator_rows
            self.space = space(X_train[rows], y_train[rows], seed)
            # the real rows in that space, once per fold: (seen by the generator, held out)
            self.real = {
                class_: (
                    self.space.transform(X_train[rows[y_train[rows] == class_]]),
                    self.space.transform(X_train[held_out]),
                )
                for class_, held_out in self.quality_rows.items()
            }
            self.space_seconds = time.perf_counter() - start

    def judge(self, X_synthetic, y_synthetic, seed):
        """Quality metrics of the synthetic minority rows (averaged over the minority
        classes, with ``by_class`` when there are several), or None when not measured."""
        by_class = {}
        for class_ in self.quality_rows:
            synthetic = X_synthetic[y_synthetic == class_]
            if len(synthetic) < 3:
                continue
            seen, held_out = self.real[class_]
            by_class[class_] = minority_quality(
                seen,
                held_out,
                self.space.transform(synthetic),
                nearest_k=self.quality.nearest_k,
                random_state=seed,
            )
        return _macro(by_class)

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
        """The metrics of every minority class against the base class, averaged (see the
        module docstring), with ``by_class`` when there are several minority classes."""
        classes = list(classifier.classes_)
        proba = classifier.predict_proba(self.X_test)
        if threshold is None:
            y_pred = classifier.predict(self.X_test)
        else:
            negative = next(c for c in classes if c != self.positive)
            positive_score = proba[:, classes.index(self.positive)]
            y_pred = np.where(positive_score >= threshold, self.positive, negative)
        by_class = {}
        for class_ in self.minority:
            rows = (self.y_test == class_) | (self.y_test == self.base)
            metrics = score(
                self.y_test[rows] == class_,
                y_pred[rows] == class_,
                proba[rows, classes.index(class_)],
                True,
            )
            by_class[class_] = {name: float(value) for name, value in metrics.items()}
        return _macro(by_class)


def _macro(by_class):
    """``{metric: mean over classes}``, plus ``by_class`` when there is more than one class;
    None when empty."""
    if not by_class:
        return None
    first = next(iter(by_class.values()))
    macro = {name: float(np.mean([m[name] for m in by_class.values()])) for name in first}
    if len(by_class) > 1:
        macro["by_class"] = by_class
    return macro


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
    n_held_out: int = 0  # real rows the quality metrics compared with (rarest class)
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


def _augmented_methods(fold, methods, generator, seed, on_samples=None):
    """``{method: _Result}`` for the augmented methods with one generator fit per ``seed``."""
    rows = fold.generator_rows
    X_aug, y_aug, gen_fit, gen_sample, selection = _resample(
        generator, seed, fold.X_train[rows], fold.y_train[rows]
    )
    X_new, y_new = X_aug[len(rows) :], y_aug[len(rows) :]
    if on_samples is not None:
        on_samples(fold.X_train[rows], fold.y_train[rows], X_new, y_new)
    n_synthetic = len(y_new)
    start = time.perf_counter()
    quality = fold.judge(X_new, y_new, seed)
    # the feature space (a CNN for images) is fitted once per fold; counted with each fit
    quality_seconds = time.perf_counter() - start + fold.space_seconds
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
            n_held_out=min(len(rows) for rows in fold.quality_rows.values()) if quality else 0,
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
        **_by_class("metrics", [r.metrics for r in results]),
        "seconds": {
            key: mean([getattr(r, key) for r in results])
            for key in ("generator_fit", "generator_sample", "classifier_fit")
        },
    }
    if results[0].threshold is not None:
        record["threshold"] = mean([r.threshold for r in results])
    if len(results) > 1:
        record["metrics_by_seed"] = [{name: r.metrics[name] for name in METRICS} for r in results]
    if results[0].selection is not None:
        record["selection"] = (
            [r.selection for r in results] if len(results) > 1 else results[0].selection
        )
    if results[0].quality is not None:
        record["seconds"]["quality"] = mean([r.quality_seconds for r in results])
        record["n_held_out"] = results[0].n_held_out  # the fold's: the same for every seed
        names = [name for name in results[0].quality if name != "by_class"]
        record["quality"] = {name: mean([r.quality[name] for r in results]) for name in names}
        record.update(_by_class("quality", [r.quality for r in results]))
    return record


def _by_class(key, scores):
    """``{key + "_by_class": {class: {name: mean over seeds}}}`` when ``scores`` (one dict
    per generator seed) hold per-class values, else ``{}``."""
    if "by_class" not in scores[0]:
        return {}
    classes = scores[0]["by_class"]
    return {
        f"{key}_by_class": {
            str(class_): {
                name: float(np.mean([s["by_class"][class_][name] for s in scores]))
                for name in values
            }
            for class_, values in classes.items()
        }
    }


def evaluate(
    X,
    y,
    minority,
    generator,
    classifier,
    *,
    base=None,
    categorical=(),
    categories=None,
    image_shape=None,
    n_splits,
    n_repeats,
    seed,
    methods=METHODS,
    n_generator_seeds=1,
    tuning=ThresholdTuning(),
    quality=QualityCheck(),
    progress=False,
    on_samples=None,
):
    """Run every method on every fold.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Categorical columns hold category codes.
    y : ndarray of shape (n_samples,)
    minority : label or list of labels
        The minority class, positive for the metrics; or several, each scored against
        ``base``.
    generator : imblearn sampler
        Cloned and seeded per fold (and per generator seed), fitted on training rows only.
    classifier : estimator with ``predict_proba``
        Cloned and seeded per fold; the same seed for every method of a fold.
    base : label, optional
        The class every minority class is compared with; default: the most frequent
        other class.
    categorical : sequence of int
        Indices of the categorical columns: the classifier sees them one-hot encoded
        (``one_hot_first``), the quality metrics too.
    categories : list of arrays, optional
        Every categorical column's possible codes; default: those in ``X``.
    image_shape : tuple, optional
        (channels, height, width) of images given as flat rows: the quality metrics then
        compare penultimate-layer features of a small CNN trained on the generator's rows
        of each training part.
    methods : sequence of str
        Any of ``METHODS``.
    n_generator_seeds : int
        Generator fits per fold; augmented metrics average over them.
    tuning : ThresholdTuning
    quality : QualityCheck
    on_samples : callable, optional
        Called as ``on_samples(X_fit, y_fit, X_new, y_new)`` after every generator fit of
        the augmented method, in fold order: the rows the generator was fitted on and the
        rows it made (e.g. to draw a few, as the image runs' sample grid does).

    Returns
    -------
    list of dict
        One record per (fold, method), as in report.json's ``folds``.
    """
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(METHODS)}")
    labels, counts = np.unique(y, return_counts=True)
    minority = list(minority) if isinstance(minority, list | tuple) else [minority]
    if base is None:
        others = zip(counts, labels, strict=True)
        base = max((n, label) for n, label in others if label not in minority)[1]
    if len(labels) > 2 and set(methods) & set(THRESHOLD_METHODS):
        raise ValueError(
            f"{len(labels)} classes: the threshold methods {list(THRESHOLD_METHODS)} need two"
        )
    categorical = [int(i) for i in categorical]
    if categorical:
        if categories is None:
            categories = [np.unique(X[:, i]) for i in categorical]
        categories = [np.asarray(c, dtype=X.dtype) for c in categories]
        classifier = one_hot_first(classifier, categorical, categories)

    def space(X_fit, y_fit, seed):
        return feature_space(
            X_fit, y_fit, image_shape=image_shape, categorical=categorical,
            categories=categories, random_state=seed,
        )  # fmt: skip

    n_folds = n_splits * n_repeats
    records = []
    splits = zip(fold_seeds(seed, n_folds), folds(y, n_splits, n_repeats, seed), strict=True)
    for i, (fold_seed, (train, test)) in enumerate(
        tqdm(splits, total=n_folds, desc="folds", disable=not progress)
    ):
        repeat, fold_index = divmod(i, n_splits)
        fold = _Fold(
            X[train], y[train], X[test], y[test], minority, base, classifier, fold_seed, tuning,
            quality, space,
        )  # fmt: skip
        results = {method: [result] for method, result in _real_methods(fold, methods).items()}
        if any(method in methods for method in AUGMENTED):
            for generator_seed in generator_seeds(fold_seed, n_generator_seeds):
                for method, result in _augmented_methods(
                    fold, methods, generator, generator_seed, on_samples
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
