"""The leakage-free evaluation loop: identical folds for every method and generator,
generators fitted inside each training part, every method scored on the same untouched
test part.

The methods are the registry's (``synthbalance.pipelines.methods``). With several
generators, the methods that train on real rows only run once per fold and are shared by
every generator's records, so all generators are judged against the same baseline on the
same folds. With several minority classes every one is scored against the base class alone
(its rows and the base class's rows of the test part: that class's F1, ROC AUC, …);
``metrics`` holds the macro average over the minority classes and ``metrics_by_class`` each
class's scores. A decision threshold is a binary notion: the threshold methods need two
classes.
"""

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from synthbalance.pipelines.estimators import one_hot_first
from synthbalance.pipelines.folds import Fold, augmented_results, plain_results
from synthbalance.pipelines.methods import AUGMENTED, METHODS, THRESHOLD_METHODS
from synthbalance.pipelines.metrics import METRICS
from synthbalance.pipelines.parallel import ordered_map, plan
from synthbalance.pipelines.protocol import generator_seeds
from synthbalance.pipelines.quality import feature_space

# Minority rows kept from each generator's first fit: what the report draws.
SAMPLES_KEPT = 500


@dataclass
class Task:
    """What every fold of one evaluation shares: the encoded features ``X`` (category codes
    in the ``categorical`` columns, whose possible codes are ``categories``), the labels,
    the minority classes (each scored against ``base``), the classifier (behind a one-hot
    encoding when there are categorical columns), the protocol and, for images, their
    shape (the quality metrics then compare CNN features)."""

    X: np.ndarray
    y: np.ndarray
    minority: list
    base: object
    classifier: object
    protocol: object
    categorical: list
    categories: list | None = None
    image_shape: tuple | None = None
    ensemble: object = None
    unknown: tuple = ()  # classes kept out of every training part (open set)

    @classmethod
    def from_dataset(cls, dataset, classifier, protocol, ensemble=None):
        """The task of evaluating ``classifier`` (and the balanced ``ensemble``, when the
        protocol runs it) on ``dataset``."""
        categorical, categories = dataset.categorical_indices, dataset.categories()
        if categorical:
            categories = [np.asarray(c, dtype=np.float64) for c in categories]
            classifier = one_hot_first(classifier, categorical, categories)
            if ensemble is not None:
                ensemble = one_hot_first(ensemble, categorical, categories)
        methods = set(protocol.methods)
        if len(dataset.known_classes) > 2 and methods & set(THRESHOLD_METHODS):
            raise ValueError(
                f"{len(dataset.known_classes)} classes: the threshold methods "
                f"{sorted(methods & set(THRESHOLD_METHODS))} need two"
            )
        return cls(
            dataset.encoded(), dataset.y, dataset.minority_classes, dataset.base_class,
            classifier, protocol, categorical, categories, dataset.image_shape, ensemble,
            tuple(dataset.unknown),
        )  # fmt: skip

    def known(self, rows):
        """The indices among ``rows`` of rows of known classes (all but ``unknown``)."""
        return rows[~np.isin(self.y[rows], self.unknown)] if self.unknown else rows

    def feature_space(self, X_fit, y_fit, seed):
        """The quality metrics' feature space, fitted on a generator's training rows."""
        return feature_space(
            X_fit, y_fit, image_shape=self.image_shape, categorical=self.categorical,
            categories=self.categories, random_state=seed,
        )  # fmt: skip


@dataclass
class GeneratorRun:
    """One generator's fold records (report.json's ``folds``) and the minority rows of its
    first fit: real rows it was fitted on and rows it made (at most ``SAMPLES_KEPT`` each)."""

    records: list
    samples: tuple | None = None


def run_folds(task, generators, *, repeats=None, progress=False, n_jobs=None):
    """Run every method of ``task.protocol`` on every fold of ``repeats``, for every
    generator.

    Parameters
    ----------
    task : Task
    generators : dict
        Name -> imbalanced-learn sampler; each is cloned and seeded per fold (and per
        generator seed), fitted on training rows only.
    repeats : range, optional
        The repeats of the split to run (an adaptive run's round); default: all of them.
    progress : bool
        Show a progress bar over the folds (on a terminal or in a notebook).
    n_jobs : "auto", int or None
        Folds run at once, in worker processes (``synthbalance.pipelines.parallel.plan``);
        the records are the same and in the same order as a serial run's.

    Returns
    -------
    dict
        Name -> ``GeneratorRun``, in the order of ``generators``.
    """
    protocol = task.protocol
    repeats = range(protocol.looks[-1]) if repeats is None else repeats
    runs = {name: GeneratorRun([]) for name in generators}
    splits = zip(protocol.fold_seeds(repeats), protocol.folds(task.y, repeats), strict=True)
    # unknown classes appear in the test parts only
    folds = [(task, generators, task.known(train), test, seed) for seed, (train, test) in splits]
    workers, threads = plan(n_jobs, len(folds))
    outcomes = ordered_map(evaluate_fold, folds, workers=workers, threads=threads)
    first = protocol.n_splits * repeats.start  # the folds earlier rounds ran
    # on a terminal only; closed (its line cleared) however the loop ends
    bar = tqdm(outcomes, total=len(folds), desc="folds", disable=None if progress else True,
               leave=False)  # fmt: skip
    done = first
    try:
        with bar:
            for i, outcome in enumerate(bar, start=first):
                repeat, fold = divmod(i, protocol.n_splits)
                for name, (records, samples) in outcome.items():
                    runs[name].records += [{"repeat": repeat, "fold": fold, **r} for r in records]
                    if runs[name].samples is None:
                        runs[name].samples = samples
                done = i + 1
    except KeyboardInterrupt as interrupt:
        raise Interrupted(f"interrupted after fold {done} of {protocol.n_folds}") from interrupt
    return runs


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during the folds; the message says how many had finished."""


def evaluate_fold(task, generators, train, test, seed):
    """``{name: (records, samples)}`` of one fold for every generator: its records (one per
    method, without the fold's position) and its first fit's minority samples."""
    fold = Fold(task, train, test, seed)
    methods = task.protocol.methods
    plain = plain_results(fold, methods)
    outcome = {}
    for name, generator in generators.items():
        results = {method: [result] for method, result in plain.items()}
        samples = None
        if any(m in methods for m in AUGMENTED):
            for generator_seed in generator_seeds(seed, task.protocol.generator_seeds):
                found, rows = augmented_results(fold, methods, generator, generator_seed)
                for method, result in found.items():
                    results.setdefault(method, []).append(result)
                samples = samples or _kept_samples(task.minority[0], *rows)
        records = [
            {"method": m, "n_train": fold.n_train, "n_test": fold.n_test, **record(results[m])}
            for m in METHODS
            if m in results
        ]
        outcome[name] = (records, samples)
    return outcome


def _kept_samples(minority, X_fit, y_fit, X_new, y_new):
    """The first ``SAMPLES_KEPT`` real and synthetic rows of class ``minority``, or None."""
    new = X_new[y_new == minority]
    if not len(new):
        return None
    return X_fit[y_fit == minority][:SAMPLES_KEPT], new[:SAMPLES_KEPT]


def record(results):
    """The report fields of one method on one fold, averaged over generator seeds."""
    first = results[0]
    record = {
        "n_synthetic": int(round(_mean([r.n_synthetic for r in results]))),
        "metrics": {name: _mean([r.metrics[name] for r in results]) for name in METRICS},
        **_by_class("metrics", [r.metrics for r in results]),
        "seconds": {
            key: _mean([getattr(r, key) for r in results])
            for key in ("generator_fit", "generator_sample", "classifier_fit")
        },
    }
    if first.threshold is not None:
        record["threshold"] = _mean([r.threshold for r in results])
    if first.reliability is not None:  # pooled over generator seeds
        record["reliability"] = {
            key: np.sum([r.reliability[key] for r in results], axis=0).tolist()
            for key in first.reliability
        }
    if len(results) > 1:
        record["metrics_by_seed"] = [{name: r.metrics[name] for name in METRICS} for r in results]
    if first.diagnostics is not None:
        record["diagnostics"] = (
            [r.diagnostics for r in results] if len(results) > 1 else first.diagnostics
        )
    if first.selection is not None:
        record["selection"] = (
            [r.selection for r in results] if len(results) > 1 else first.selection
        )
    if first.quality is not None:
        record["seconds"]["quality"] = _mean([r.quality_seconds for r in results])
        record["n_held_out"] = first.n_held_out  # the fold's: the same for every seed
        names = [name for name in first.quality if name != "by_class"]
        record["quality"] = {name: _mean([r.quality[name] for r in results]) for name in names}
        record.update(_by_class("quality", [r.quality for r in results]))
        if len(results) > 1:  # rankings of generators by quality use folds x seeds
            record["quality_by_seed"] = [{name: r.quality[name] for name in names} for r in results]
    return record


def _mean(values):
    return float(np.mean(values))


def _by_class(key, scores):
    """``{key + "_by_class": {class: {name: mean over seeds}}}`` when ``scores`` (one dict
    per generator seed) hold per-class values, else ``{}``."""
    if "by_class" not in scores[0]:
        return {}
    classes = scores[0]["by_class"]
    return {
        f"{key}_by_class": {
            str(class_): {
                name: _mean([s["by_class"][class_][name] for s in scores]) for name in values
            }
            for class_, values in classes.items()
        }
    }
