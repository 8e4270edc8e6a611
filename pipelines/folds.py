"""One fold of the evaluation: its training and test parts, and what every method does on it.

``Fold`` fits classifiers on the training part, tunes thresholds on an inner validation
split of it and scores on the untouched test part; ``plain_results`` and
``augmented_results`` run the registry's methods (``synthbalance.pipelines.methods``) by
what the registry says of them, never by name.
"""

import math
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedShuffleSplit

from synthbalance.generators.metrics import minority_quality
from synthbalance.pipelines.dataset import DataError
from synthbalance.pipelines.estimators import (
    PriorShifted,
    added_rows,
    balanced,
    head_scores,
    with_seed,
)
from synthbalance.pipelines.methods import REGISTRY
from synthbalance.pipelines.metrics import reliability_bins, score, tuned_threshold

# Fewest real (test part) and synthetic rows of a class that its quality metrics compare.
MIN_QUALITY_ROWS = 3


@dataclass
class Result:
    """What one method achieved on one fold (with one generator seed)."""

    metrics: dict
    classifier_fit: float
    generator_fit: float = 0.0
    generator_sample: float = 0.0
    n_synthetic: int = 0
    threshold: float | None = None
    quality: dict | None = None
    quality_seconds: float = 0.0
    n_held_out: int = 0  # unseen real rows the quality metrics compared with (rarest class)
    selection: dict | None = None
    diagnostics: dict | None = None  # what the sampler says of its fit (VAEs: active units)
    reliability: dict | None = None  # reliability-diagram bins (metrics.reliability_bins)

    @classmethod
    def scored(cls, fold, classifier, threshold=None, **fields):
        """The result of ``classifier`` (cut at ``threshold``) on ``fold``'s test part."""
        metrics, bins = fold.score(classifier, threshold)
        return cls(metrics, threshold=threshold, reliability=bins, **fields)


class Fold:
    """One training/test split: fits classifiers and scores them on the test part.

    ``task`` holds what every fold shares (``Task``); ``minority`` classes are each scored
    against ``base``, the first is the positive class of the threshold methods.
    """

    def __init__(self, task, train, test, seed):
        X, y = task.X, task.y
        self.X_train, self.y_train, self.X_test, self.y_test = X[train], y[train], X[test], y[test]
        self.task, self.seed, self.n_train, self.n_test = task, seed, len(train), len(test)
        self.minority, self.base, self.positive = task.minority, task.base, task.minority[0]
        self._fitted = {}
        self._prepare_quality()

    @cached_property
    def inner(self):
        """``(fit, validation)`` positions of the training part's inner split, made when a
        threshold method first tunes (``inner_split``)."""
        return inner_split(self.y_train, self.task.protocol, self.seed)

    def _prepare_quality(self):
        """Embed the real minority rows the quality metrics compare synthetic rows with: the
        training part's (the generator's) and the test part's, which neither the generator
        nor the classifier ever sees, in a feature space fitted on the training part."""
        self.quality_classes, self.space_seconds = [], 0.0
        if not self.task.protocol.quality.enabled:
            return
        unseen = {c: np.flatnonzero(self.y_test == c) for c in self.minority}
        self.quality_classes = [c for c, rows in unseen.items() if len(rows) >= MIN_QUALITY_ROWS]
        if not self.quality_classes:
            return
        start = time.perf_counter()
        self.space = self.task.feature_space(self.X_train, self.y_train, self.seed)
        self.real = {
            class_: (
                self.space.transform(self.X_train[self.y_train == class_]),
                self.space.transform(self.X_test[unseen[class_]]),
            )
            for class_ in self.quality_classes
        }
        self.n_unseen = min(len(unseen[c]) for c in self.quality_classes)
        self.space_seconds = time.perf_counter() - start

    def judge(self, X_synthetic, y_synthetic, seed):
        """Quality metrics of the synthetic minority rows (averaged over the minority
        classes, with ``by_class`` when there are several), or None when not measured.

        Besides the two-sample metrics of ``generators.metrics``: the Classification
        Accuracy Score (Ravuri & Vinyals 2019), the share of synthetic rows of a class that
        the run's classifier, trained with balanced class weights on the real training
        part, assigns to that class, next to the same share of the class's unseen real rows
        (``cas_real``: what a perfect generator would score); with ``quality.tstr``, the F1
        of a classifier trained on synthetic rows of the class instead of its real ones
        (train on synthetic, test on real).
        """
        quality, by_class = self.task.protocol.quality, {}
        for class_ in self.quality_classes:
            synthetic = X_synthetic[y_synthetic == class_]
            if len(synthetic) < MIN_QUALITY_ROWS:
                continue
            seen, unseen = self.real[class_]
            found = minority_quality(
                seen, unseen, self.space.transform(synthetic), nearest_k=quality.nearest_k,
                random_state=seed,
            )  # fmt: skip
            try:
                real_classifier, _ = self.fitted("class_weight")
            except ValueError:  # a classifier that takes no weights: CAS asks it unweighted
                real_classifier, _ = self.fitted("baseline")
            found["cas"] = float(np.mean(real_classifier.predict(synthetic) == class_))
            found["cas_real"] = float(
                np.mean(real_classifier.predict(self.X_test[self.y_test == class_]) == class_)
            )
            if quality.tstr:
                found["tstr_f1"] = self._tstr(class_, synthetic, seed)
            by_class[class_] = found
        return macro(by_class)

    def fitted(self, method):
        """``(classifier, seconds)`` of a method without augmentation (its untuned one's for a
        threshold method), fitted on the real training part once per fold and shared."""
        spec = REGISTRY[method]
        if spec.tunes_threshold:
            return self.fitted(spec.untuned)
        if method not in self._fitted:
            estimator = self.task.ensemble if spec.ensemble else None
            self._fitted[method] = self.fit(self.X_train, self.y_train, spec.balanced, estimator)
        return self._fitted[method]

    def _tstr(self, class_, synthetic, seed):
        """F1 for ``class_`` against the base class on the test part of the run's classifier
        trained on the real rows of every other class plus as many synthetic rows of
        ``class_`` as it has real ones."""
        real = self.y_train == class_
        rng = np.random.RandomState(seed)
        n = int(real.sum())
        chosen = synthetic[rng.choice(len(synthetic), n, replace=len(synthetic) < n)]
        classifier, _ = self.fit(
            np.vstack([self.X_train[~real], chosen]),
            np.concatenate([self.y_train[~real], np.full(n, class_, dtype=self.y_train.dtype)]),
        )
        rows = (self.y_test == class_) | (self.y_test == self.base)
        predicted = classifier.predict(self.X_test[rows]) == class_
        return float(f1_score(self.y_test[rows] == class_, predicted, zero_division=0.0))

    def fit(self, X, y, balance=False, estimator=None):
        """``(fitted, seconds)``: a seeded clone of the run's classifier (or of
        ``estimator``) fitted on ``X, y``, with balanced class weights if ``balance``."""
        estimator = self.task.classifier if estimator is None else estimator
        classifier, fit_params = with_seed(estimator, self.seed), {}
        if balance:
            classifier, fit_params = balanced(classifier, y)
        start = time.perf_counter()
        classifier.fit(X, y, **fit_params)
        return classifier, time.perf_counter() - start

    def tune(self, X_fit, y_fit):
        """The threshold on the positive class's probability that maximises the tuning
        metric on the inner validation rows for a classifier trained on ``X_fit`` (inner
        training rows, maybe augmented), and the seconds the fit and the tuning took.

        ``metrics.tuned_threshold`` makes the choice scikit-learn's
        ``TunedThresholdClassifierCV`` makes on this split for a scorer cutting the positive
        class, without its second fit and its metric call per cut point; its scorers without a
        ``pos_label`` (balanced accuracy, MCC) would cut the last class's probability instead,
        and imblearn's G-mean label 1's, whatever the positive class.
        """
        validation = self.inner[1]
        X_val, y_val = self.X_train[validation], self.y_train[validation]
        start = time.perf_counter()
        classifier, _ = self.fit(X_fit, y_fit)
        column = list(classifier.classes_).index(self.positive)
        positive_score = classifier.predict_proba(X_val)[:, column]
        metric = self.task.protocol.threshold.metric
        threshold = tuned_threshold(y_val == self.positive, positive_score, metric)
        return threshold, time.perf_counter() - start

    def score(self, classifier, threshold=None):
        """``(metrics, bins)``: the metrics of every minority class against the base class,
        averaged, with ``by_class`` when there are several minority classes; and the
        reliability-diagram bins of the first minority class's probability."""
        by_class, bins = {}, None
        for class_, (ranking, probability, predicted) in self.decisions(
            classifier, threshold
        ).items():
            rows = (self.y_test == class_) | (self.y_test == self.base)
            is_class = self.y_test[rows] == class_
            metrics = score(is_class, predicted[rows], ranking[rows], True, probability[rows])
            by_class[class_] = {name: float(value) for name, value in metrics.items()}
            bins = bins or reliability_bins(is_class, probability[rows])
        return macro(by_class), bins

    def decisions(self, classifier, threshold=None):
        """``{minority class: (its score, its probability against the base class alone,
        the rows decided to be it)}`` on the test part.

        A classifier with a head per class (``estimators.head_scores``) decides each class
        by its head's probability (at 0.5, or ``threshold``); any other by ``predict`` (or
        its score for the positive class cut at ``threshold``).
        """
        heads = head_scores(classifier, self.X_test)
        if heads is not None:  # a head's probability is already against the base class alone
            cut = 0.5 if threshold is None else threshold
            return {c: (heads[c], heads[c], heads[c] >= cut) for c in self.minority}
        classes = list(classifier.classes_)
        proba = classifier.predict_proba(self.X_test)
        if threshold is None:
            y_pred = classifier.predict(self.X_test)
        else:
            negative = next(c for c in classes if c != self.positive)
            positive_score = proba[:, classes.index(self.positive)]
            y_pred = np.where(positive_score >= threshold, self.positive, negative)
        decided = {}
        for class_ in self.minority:
            ranking = proba[:, classes.index(class_)]
            # the probability of class_ against the base class alone (= ranking for 2 classes)
            pair = ranking + proba[:, classes.index(self.base)]
            probability = np.divide(ranking, pair, out=np.full_like(ranking, 0.5), where=pair > 0)
            decided[class_] = (ranking, probability, y_pred == class_)
        return decided


def inner_split(y_train, protocol, seed):
    """``(fit, validation)`` positions in a training part: the stratified split that tunes
    decision thresholds (``protocol.threshold.validation_size`` of it for validation)."""
    inner = StratifiedShuffleSplit(
        n_splits=1, test_size=protocol.threshold.validation_size, random_state=seed
    )
    return next(inner.split(np.zeros((len(y_train), 1)), y_train))


def training_labels(y, protocol, unknown=()):
    """``(seed, labels)`` of every fold's training part, without the ``unknown`` classes
    (which never enter one), fold by fold."""
    y = np.asarray(y)
    for seed, (train, _) in zip(protocol.fold_seeds(), protocol.folds(y), strict=True):
        yield seed, y[train][~np.isin(y[train], list(unknown))] if len(unknown) else y[train]


def check_inner_splits(y, protocol, unknown=()):
    """Refuse, before the first fold, training parts too small for the inner split that
    tunes the threshold methods' thresholds (2 rows of every class at least), naming the
    fold and the class. Nothing to check without a threshold method."""
    if not any(REGISTRY[m].tunes_threshold for m in protocol.methods):
        return
    size = protocol.threshold.validation_size
    for fold, (_, y_train) in enumerate(training_labels(y, protocol, unknown), 1):
        classes, counts = np.unique(y_train, return_counts=True)
        # StratifiedShuffleSplit's own conditions, from the counts alone
        n_validation = math.ceil(size * len(y_train))
        problem = None
        if counts.min() < 2:
            problem = "at least 2 rows of every class"
        elif min(n_validation, len(y_train) - n_validation) < len(classes):
            problem = f"each side at least {len(classes)} rows, one per class"
        if problem:
            class_, n = classes.tolist()[counts.argmin()], counts.min()
            raise DataError(
                f"fold {fold}'s training part ({len(y_train)} rows, {n} of class "
                f"{class_!r}) is too small for the inner split that tunes the "
                f"thresholds ({problem}); give more rows, fewer folds (n_splits) or methods "
                "without a threshold"
            )


def generator_fit_labels(y, protocol, unknown=()):
    """The labels of every set of rows a generator is fitted on, fold by fold, without
    fitting anything: the training part (without the ``unknown`` classes, which never enter
    one) and, when an augmented method tunes a threshold, its inner training rows. What the
    checks before the first fold need (``estimators.check_fit_labels``)."""
    tunes = any(REGISTRY[m].augmented and REGISTRY[m].tunes_threshold for m in protocol.methods)
    for seed, y_train in training_labels(y, protocol, unknown):
        yield y_train
        if tunes:
            yield y_train[inner_split(y_train, protocol, seed)[0]]


def macro(by_class):
    """``{metric: mean over classes}``, plus ``by_class`` when there is more than one class;
    None when empty."""
    if not by_class:
        return None
    first = next(iter(by_class.values()))
    averaged = {name: float(np.mean([m[name] for m in by_class.values()])) for name in first}
    if len(by_class) > 1:
        averaged["by_class"] = by_class
    return averaged


def plain_results(fold, methods):
    """``{method: Result}`` for the ``methods`` that train on real rows only. A threshold
    method reuses the classifier of its untuned method (each fitted once per fold)."""
    results = {}
    for name in methods:
        spec = REGISTRY[name]
        if spec.augmented:
            continue
        classifier, seconds = fold.fitted(name)
        if spec.tunes_threshold:
            inner = fold.inner[0]
            threshold, tune_seconds = fold.tune(fold.X_train[inner], fold.y_train[inner])
            results[name] = Result.scored(
                fold, classifier, threshold, classifier_fit=seconds + tune_seconds
            )
        else:
            results[name] = Result.scored(fold, classifier, classifier_fit=seconds)
    return results


def resample(generator, seed, X, y):
    """``(X_new, y_new, fit_seconds, sample_seconds, about)``: the rows a clone of
    ``generator`` seeded with ``seed`` adds to ``(X, y)``, and what the sampler says of its
    fit (``{"selection", "diagnostics"}``, each None when it says nothing)."""
    sampler = with_seed(generator, seed)
    start = time.perf_counter()
    X_res, y_res = sampler.fit_resample(X, y)
    total = time.perf_counter() - start
    X_new, y_new = added_rows(sampler, X, y, X_res, y_res)
    # Samplers that time their own phases say so; imblearn's fit and sample in one step.
    return (
        X_new,
        y_new,
        getattr(sampler, "fit_seconds_", total),
        getattr(sampler, "sample_seconds_", 0.0),
        {key: getattr(sampler, f"{key}_", None) for key in ("selection", "diagnostics")},
    )


def augmented_results(fold, methods, generator, seed):
    """``({method: Result}, (X_fit, y_fit, X_new, y_new))`` for the augmented ``methods``
    with one generator fit seeded ``seed``: the results, and the rows the generator was
    fitted on with those it made."""
    X_fit, y_fit = fold.X_train, fold.y_train  # the generator sees every training row
    X_new, y_new, gen_fit, gen_sample, about = resample(generator, seed, X_fit, y_fit)
    start = time.perf_counter()
    quality = fold.judge(X_new, y_new, seed)
    # the feature space (a CNN for images) is fitted once per fold; counted with each fit
    quality_seconds = time.perf_counter() - start + fold.space_seconds
    y_augmented = np.concatenate([y_fit, y_new])
    augmented, seconds = fold.fit(np.vstack([X_fit, X_new]), y_augmented)
    shared = dict(generator_fit=gen_fit, generator_sample=gen_sample, n_synthetic=len(y_new))
    results = {}
    for name in methods:
        spec = REGISTRY[name]
        if not spec.augmented:
            continue
        if spec.tunes_threshold:
            threshold, extra = _augmented_threshold(fold, generator, seed)
            results[name] = Result.scored(
                fold, augmented, threshold, classifier_fit=seconds + extra["tune"],
                generator_fit=gen_fit + extra["fit"], generator_sample=gen_sample + extra["sample"],
                n_synthetic=len(y_new),
            )  # fmt: skip
        elif spec.recalibrated:
            corrected = PriorShifted(augmented, trained_on=y_augmented, real=y_fit)
            results[name] = Result.scored(fold, corrected, classifier_fit=seconds, **shared)
        else:
            results[name] = Result.scored(
                fold, augmented, classifier_fit=seconds, quality=quality,
                quality_seconds=quality_seconds, n_held_out=fold.n_unseen if quality else 0,
                selection=about["selection"], diagnostics=about["diagnostics"], **shared,
            )  # fmt: skip
    return results, (X_fit, y_fit, X_new, y_new)


def _augmented_threshold(fold, generator, seed):
    """The threshold of an augmented classifier, tuned with a generator refitted on the
    inner training rows only (the validation rows never shape synthetic data), and the
    seconds that took: ``(threshold, {"fit", "sample", "tune"})``."""
    inner = fold.inner[0]
    X_inner, y_inner = fold.X_train[inner], fold.y_train[inner]
    X_more, y_more, fit, sample, _ = resample(generator, seed, X_inner, y_inner)
    threshold, tune = fold.tune(np.vstack([X_inner, X_more]), np.concatenate([y_inner, y_more]))
    return threshold, {"fit": fit, "sample": sample, "tune": tune}
