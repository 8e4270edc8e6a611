"""Open-set evaluation: can the classifier say "none of the above"?

Classes named in ``dataset.unknown`` never enter a training part; they appear only in the
test parts, as unknowns. On every fold (the same folds and seeds as the augmentation
methods), each open-set method wraps the run's classifier in a ``RejectOptionClassifier``
trained on the known training rows and is scored on the test part: how well its score
separates known from unknown rows (AUROC, FPR at 95 % TPR, AUPR with known or unknown rows
as positives) and what its threshold does (the share of known rows accepted, the accuracy
on them, the share of unknown rows rejected). ``pipelines.report.build`` summarises the
records and compares every method with maximum softmax.
"""

import dataclasses
import time
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
from sklearn.utils._param_validation import Interval

from synthbalance.classifiers import SCORES, RejectOptionClassifier, has_logits
from synthbalance.classifiers import TRAINED_SCORES as TRAINED
from synthbalance.pipelines.config import validate_fields
from synthbalance.pipelines.dataset import DataError, class_list
from synthbalance.pipelines.datasets import read_table
from synthbalance.pipelines.estimators import final_step, with_seed
from synthbalance.pipelines.parallel import ordered_map, plan

# The method every other is compared with.
MSP = "msp"
# Outlier sources that the generators make; anything else is a file or a folder.
SYNTHETIC = ("smote", "cvae")
# The per-fold metrics, in report order.
OPEN_SET_METRICS = (
    "auroc", "fpr95", "aupr_in", "aupr_out", "accepted_known", "accuracy_accepted",
    "accuracy_known", "unknown_rejected",
)  # fmt: skip
# What ``metrics_by_unknown`` holds for each unknown class (several unknown classes).
BY_UNKNOWN_METRICS = ("auroc", "fpr95", "aupr_in", "aupr_out", "unknown_rejected")
LOWER_IS_BETTER = ("fpr95",)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class OpenSetCheck:
    """How the open set is evaluated when the dataset names unknown classes: the
    ``scores`` of ``RejectOptionClassifier`` (``msp`` required: the reference), the
    ``outliers`` the trained scores learn from (``"smote"``, ``"cvae"`` or the path of a
    file or folder of outlier rows: one method per trained score and source), the share of
    known rows to accept (``coverage``), the share of the training rows held out to choose
    the threshold, the softmax/energy ``temperature`` and the ``n_neighbors`` of ``knn``."""

    scores: tuple = SCORES
    outliers: tuple = SYNTHETIC
    coverage: float = 0.95
    validation_fraction: float = 0.2
    temperature: float = 1.0
    n_neighbors: int = 5

    _constraints = {
        "scores": ["array-like"],
        "outliers": ["array-like"],
        "coverage": [Interval(Real, 0, 1, closed="neither")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    }

    def __post_init__(self):
        validate_fields(self, self._constraints)
        scores = tuple(str(s) for s in self.scores)
        unknown = [s for s in scores if s not in SCORES]
        if unknown or MSP not in scores:
            raise ValueError(
                f"open_set.scores={list(scores)}: must include {MSP!r} (the reference) and "
                f"name only {', '.join(SCORES)}"
            )
        outliers = tuple(str(o) for o in self.outliers)
        trained = [s for s in scores if s in TRAINED]
        if trained and not outliers:
            raise ValueError(
                f"open_set.outliers is empty, but open_set.scores {trained} are trained on "
                "outlier rows: give outliers (smote, cvae or a file) or leave those scores out"
            )
        named = [source_name(o) for o in outliers]
        repeated = [o for o, name in zip(outliers, named, strict=True) if named.count(name) > 1]
        if repeated:
            raise ValueError(
                f"open_set.outliers {repeated} would all name methods "
                f"'<score>+{source_name(repeated[0])}': name each source once, and files by "
                "different file names"
            )
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "outliers", outliers)

    def methods(self):
        """``{method: (score, outlier source or None)}``: one method per untrained score,
        and per trained score and outlier source (``"other_class+smote"``)."""
        methods = {}
        for score in self.scores:
            sources = self.outliers if score in TRAINED else [None]
            for source in sources:
                name = score if source is None else f"{score}+{source_name(source)}"
                methods[name] = (score, source)
        return methods

    def describe(self):
        return {
            "scores": list(self.scores),
            "outliers": list(self.outliers),
            "coverage": self.coverage,
            "validation_fraction": self.validation_fraction,
            "temperature": self.temperature,
            "n_neighbors": self.n_neighbors,
        }


def source_name(source):
    """How method names call an outlier source: its name, or a path's file name."""
    return source if source in SYNTHETIC else Path(source).name


def with_unknown(dataset, unknown):
    """``dataset`` with the classes ``unknown`` (labels or their strings) set aside as
    unknown; minority classes that are unknown are dropped from a list of them. A class
    that does not exist, fewer than two known classes left, or an unknown minority or base
    class is a DataError."""
    if not unknown:
        return dataset
    where = f"dataset {dataset.name!r}"
    labels = {str(label): label for label in dataset.class_counts}
    unknown = [unknown] if isinstance(unknown, str | int) else list(unknown)
    missing = [u for u in unknown if str(u) not in labels]
    if missing:
        raise DataError(
            f"{where}: dataset.unknown names classes {missing} that do not exist; its classes "
            f"are {class_list(dataset.class_counts)}"
        )
    unknown = tuple(dict.fromkeys(labels[str(u)] for u in unknown))
    if len(labels) - len(unknown) < 2:
        raise DataError(
            f"{where}: dataset.unknown={list(unknown)} leaves {len(labels) - len(unknown)} "
            "known class; at least two classes must stay known"
        )
    minority = dataset.minority
    if isinstance(minority, list | tuple):
        minority = [m for m in minority if m not in unknown] or minority
    for class_ in [*np.atleast_1d(np.asarray(minority, dtype=object)), dataset.base_class]:
        if class_ in unknown:
            raise DataError(
                f"{where}: class {class_!r} is both unknown and a minority or the base class; "
                "choose other minority classes"
            )
    if isinstance(minority, list) and len(minority) == 1:
        minority = minority[0]
    return dataclasses.replace(dataset, unknown=unknown, minority=minority)


def check_open_set(dataset, classifier, check, protocol=None):
    """Refuse, before any fold runs, what the open-set methods cannot do with ``classifier``
    (logits for max_logit and energy), unknown classes with fewer rows than ``protocol``'s
    folds (a test part without them has no AUROC), training parts too small for the
    threshold split or ``knn``, and outlier files that cannot be read; returns
    ``{source: rows}`` of the outliers given as files or folders."""
    if not dataset.unknown:
        return {}
    final = final_step(classifier)
    needs_logits = [s for s in check.scores if s in ("max_logit", "energy")]
    if needs_logits and not has_logits(final):
        raise ValueError(
            f"open_set.scores {needs_logits} need logits: classifier {type(final).__name__} "
            "has neither logits nor decision_function; leave them out of open_set.scores"
        )
    if protocol is not None:
        _check_unknown_rows(dataset, protocol.n_splits)
        wrapper = RejectOptionClassifier(
            classifier, score="knn" if "knn" in check.scores else MSP,
            validation_fraction=check.validation_fraction, n_neighbors=check.n_neighbors,
        )  # fmt: skip
        y = np.asarray(dataset.y)
        for train, _ in protocol.folds(y):
            try:
                wrapper.check_rows(y[train][~np.isin(y[train], list(dataset.unknown))])
            except ValueError as error:
                raise DataError(f"open_set, on a training part of the folds: {error}") from None
    if any(s in TRAINED for s in check.scores):
        return {o: load_outliers(o, dataset) for o in check.outliers if o not in SYNTHETIC}
    return {}


def _check_unknown_rows(dataset, n_splits):
    """Refuse an unknown class with fewer rows than ``n_splits``: the stratified folds give
    every test part a row of each class only when it has that many."""
    counts = dataset.class_counts
    for class_ in dataset.unknown:
        if counts[class_] < n_splits:
            raise DataError(
                f"dataset {dataset.name!r}: {counts[class_]} row(s) of unknown class "
                f"{class_!r}, fewer than n_splits={n_splits}: a test part without them has no "
                "open-set scores"
            )


def load_outliers(path, dataset):
    """Outlier rows from a CSV/Parquet file with the dataset's feature columns, a ``.npy``
    array of one row per outlier (image datasets: also one image per outlier), or (image
    datasets) a folder of images resized to the dataset's image shape. A file that cannot be
    read, holds rows of another width, no rows, text or missing or infinite values is a
    DataError naming it."""
    path = Path(path)
    if path.is_dir():
        return _outlier_images(path, dataset)
    if not path.is_file():
        raise DataError(f"{path}: no such outlier file or folder (open_set.outliers)")
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".csv", ".parquet", ".pq"):
        raise DataError(f"{path}: outliers must be .csv, .parquet, .npy or a folder of images")
    rows = _outlier_array(path, dataset) if suffix == ".npy" else _outlier_table(path, dataset)
    if not len(rows):
        raise DataError(f"{path}: no outlier rows")
    bad = ~np.isfinite(rows).all(axis=1)
    if bad.any():
        raise DataError(f"{path}: {bad.sum()} outlier row(s) hold NaN or infinite values")
    return rows


def _outlier_array(path, dataset):
    """The rows of a ``.npy`` outlier file: (n, n_features), or (n, *image shape) for an
    image dataset."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DataError(f"{path}: cannot be read as a .npy array: {reason}") from None
    n_features = dataset.X.shape[1]
    flat = array.ndim > 2 and dataset.image_shape is not None
    width = int(np.prod(array.shape[1:])) if flat else (array.shape[1] if array.ndim == 2 else 0)
    if width != n_features:
        raise DataError(
            f"{path}: an array of shape {array.shape}; outliers must be rows of the data's "
            f"{n_features} features, shape (n, {n_features})"
        )
    if array.dtype.kind not in "biuf":  # complex numbers would lose their imaginary parts
        raise DataError(f"{path}: outliers must be numbers; the array holds {array.dtype}")
    return array.reshape(len(array), n_features).astype(np.float64)


def _outlier_table(path, dataset):
    """The dataset's feature columns of a CSV/Parquet outlier file."""
    if dataset.categorical:
        raise DataError(f"{path}: outlier files for data with categorical columns: not supported")
    frame = read_table(path)
    missing = [c for c in dataset.X.columns if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: the outliers lack the feature columns {missing[:5]}")
    frame = frame[list(dataset.X.columns)]
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if text and len(frame):  # a header alone reads as text columns: "no outlier rows"
        raise DataError(f"{path}: outlier columns {text[:5]} are not numbers")
    return frame.to_numpy(dtype=np.float64)


def _outlier_images(folder, dataset):
    if dataset.image_shape is None:
        raise DataError(f"{folder}: a folder of outlier images needs an image dataset")
    from PIL import Image

    channels, height, width = dataset.image_shape
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no images in the outlier folder")
    mode = "L" if channels == 1 else "RGB"
    rows = []
    for file in files:
        image = Image.open(file).convert(mode).resize((width, height))
        pixels = np.asarray(image, dtype=np.float64) / 255.0
        rows.append(pixels.reshape(height, width, -1).transpose(2, 0, 1).reshape(-1))
    return np.stack(rows)


def run_open_set(task, check, outliers, n_jobs=None):
    """The open-set records of every fold: the folds and seeds of ``run_folds``, the
    unknown classes' rows left out of every training part. ``outliers`` are the rows of
    the file sources (``check_open_set``); ``n_jobs`` the folds run at once, in worker
    processes as ``run_folds`` runs them (the same records, in fold order)."""
    protocol = task.protocol
    splits = zip(protocol.fold_seeds(), protocol.folds(task.y), strict=True)
    folds = [
        (task, check, outliers, task.known(train), test, seed) for seed, (train, test) in splits
    ]
    workers, threads = plan(n_jobs, len(folds))
    records = []
    for i, fold_records in enumerate(ordered_map(open_set_fold, folds, workers=workers,
                                                 threads=threads)):  # fmt: skip
        repeat, fold = divmod(i, protocol.n_splits)
        records += [{"repeat": repeat, "fold": fold, **record} for record in fold_records]
    return records


def open_set_fold(task, check, outliers, train, test, seed):
    """One record per open-set method on one fold. The classifier trained on the known rows
    alone (by the first method other than ``other_class``, whatever the order of
    ``check.scores``) is shared (frozen) by the other untrained scores and the detectors,
    and a synthetic source's fitted sampler by the trained scores using it: the same rows
    as refitting."""
    X_train, y_train, X_test, y_test = task.X[train], task.y[train], task.X[test], task.y[test]
    is_known = ~np.isin(y_test, task.unknown)
    classifier = with_seed(task.classifier, seed)
    common = dict(
        coverage=check.coverage, temperature=check.temperature, n_neighbors=check.n_neighbors,
        validation_fraction=check.validation_fraction, random_state=seed,
    )  # fmt: skip
    base, samplers, records = None, {}, []
    for method, (score, source) in check.methods().items():
        params = dict(common, score=score)
        if source is not None:
            found = outliers.get(source, samplers.get(source))
            params["outliers"] = source if found is None else found
        estimator = classifier if score == "other_class" or base is None else base
        if score == "detector":
            params["detector"] = classifier
        start = time.perf_counter()
        wrapper = RejectOptionClassifier(estimator, **params).fit(X_train, y_train)
        seconds = time.perf_counter() - start
        if base is None and score != "other_class":  # its estimator knows an extra class
            base = FrozenEstimator(wrapper.estimator_)
        if source in SYNTHETIC and source not in samplers:
            samplers[source] = FrozenEstimator(wrapper.outlier_sampler_)
        records.append({
            "method": method, "score": score, "outliers": source, "n_train": len(train),
            "n_test": len(test), "n_test_unknown": int((~is_known).sum()),
            "n_outliers": wrapper.n_outliers_, "threshold": wrapper.threshold_,
            "metrics": open_set_metrics(wrapper, X_test, y_test, is_known),
            **_by_unknown(wrapper, X_test, y_test, is_known, task.unknown),
            "seconds": seconds,
        })  # fmt: skip
    return records


def _by_unknown(wrapper, X, y, is_known, unknown):
    """With several unknown classes, ``{"metrics_by_unknown": {class: metrics}}``: the
    known rows against that class's rows alone; else ``{}``."""
    if len(unknown) < 2:
        return {}
    by_unknown = {}
    for class_ in unknown:
        rows = is_known | (y == class_)
        metrics = open_set_metrics(wrapper, X[rows], y[rows], is_known[rows])
        by_unknown[str(class_)] = {m: metrics[m] for m in BY_UNKNOWN_METRICS}
    return {"metrics_by_unknown": by_unknown}


def open_set_metrics(wrapper, X, y, is_known):
    """The per-fold open-set metrics of a fitted ``RejectOptionClassifier`` on test rows
    ``X`` (labels ``y``; ``is_known`` marks the rows of known classes)."""
    score = wrapper.score_samples(X)
    fpr, tpr, _ = roc_curve(is_known, score)
    accepted = score >= wrapper.threshold_
    correct = wrapper.classes_[wrapper.predict_proba(X).argmax(axis=1)] == y
    kept = is_known & accepted
    return {
        "auroc": float(roc_auc_score(is_known, score)),
        "fpr95": float(fpr[np.searchsorted(tpr, 0.95, side="left")]),
        "aupr_in": float(average_precision_score(is_known, score)),
        "aupr_out": float(average_precision_score(~is_known, -score)),
        "accepted_known": float(accepted[is_known].mean()),
        "accuracy_accepted": float(correct[kept].mean()) if kept.any() else 0.0,
        "accuracy_known": float(correct[is_known].mean()),
        "unknown_rejected": float(1 - accepted[~is_known].mean()),
    }
