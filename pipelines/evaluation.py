"""The leakage-free evaluation loop: identical folds for every method, generators fitted
inside each training part, every method scored on the same untouched test part."""

import time

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import RepeatedStratifiedKFold
from tqdm.auto import tqdm

from .metrics import score


def fold_seeds(seed, n_folds):
    """One integer seed per fold, derived from the run's ``seed`` alone.

    Two runs with the same seed and fold count get the same seeds, whatever their
    generator, so their fold results pair up across a sweep.
    """
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n_folds)]


def with_seed(estimator, seed):
    """A clone of ``estimator`` whose unset ``random_state`` parameters (nested ones
    included, as in a Pipeline) are set to ``seed``."""
    estimator = clone(estimator)
    unset = {
        key: seed
        for key, value in estimator.get_params().items()
        if (key == "random_state" or key.endswith("__random_state")) and value is None
    }
    return estimator.set_params(**unset)


def folds(y, n_splits, n_repeats, seed):
    """``RepeatedStratifiedKFold(n_splits, n_repeats, random_state=seed)`` over all rows."""
    cv = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    return cv.split(np.zeros((len(y), 1)), y)


def _fit_and_score(classifier, X_train, y_train, X_test, y_test, positive):
    start = time.perf_counter()
    classifier.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    positive_score = classifier.predict_proba(X_test)[:, list(classifier.classes_).index(positive)]
    return score(y_test, classifier.predict(X_test), positive_score, positive), fit_seconds


def evaluate(X, y, positive, generator, classifier, *, n_splits, n_repeats, seed, progress=False):
    """Run the baseline and the augmented method on every fold.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    positive : label
        The minority class, positive for the metrics.
    generator : imblearn sampler
        Cloned and seeded per fold, fitted on the training part only.
    classifier : estimator with ``predict_proba``
        Cloned and seeded per fold; the same seed for both methods of a fold.

    Returns
    -------
    list of dict
        One record per (fold, method), as in report.json's ``folds``.
    """
    n_folds = n_splits * n_repeats
    records = []
    splits = zip(fold_seeds(seed, n_folds), folds(y, n_splits, n_repeats, seed), strict=True)
    for i, (fold_seed, (train, test)) in enumerate(
        tqdm(splits, total=n_folds, desc="folds", disable=not progress)
    ):
        repeat, fold = divmod(i, n_splits)
        X_train, y_train, X_test, y_test = X[train], y[train], X[test], y[test]

        sampler = with_seed(generator, fold_seed)
        start = time.perf_counter()
        X_aug, y_aug = sampler.fit_resample(X_train, y_train)
        resample_seconds = time.perf_counter() - start
        # Samplers that time their own phases say so; imblearn's fit and sample in one step.
        generator_fit = getattr(sampler, "fit_seconds_", resample_seconds)
        generator_sample = getattr(sampler, "sample_seconds_", 0.0)

        for method, X_fit, y_fit, seconds in (
            ("baseline", X_train, y_train, {"generator_fit": 0.0, "generator_sample": 0.0}),
            (
                "augmented",
                X_aug,
                y_aug,
                {"generator_fit": generator_fit, "generator_sample": generator_sample},
            ),
        ):
            metrics, fit_seconds = _fit_and_score(
                with_seed(classifier, fold_seed), X_fit, y_fit, X_test, y_test, positive
            )
            records.append(
                {
                    "repeat": repeat,
                    "fold": fold,
                    "method": method,
                    "n_train": int(len(train)),
                    "n_test": int(len(test)),
                    "n_synthetic": int(len(y_fit) - len(train)),
                    "metrics": {name: float(value) for name, value in metrics.items()},
                    "seconds": {**seconds, "classifier_fit": fit_seconds},
                }
            )
    return records
