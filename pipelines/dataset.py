"""The data model of a run: a ``Dataset`` (features, labels, feature types, which classes are
minority), how it is made from a user's arrays or frame, and the checks that refuse data a
run cannot handle."""

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from numbers import Integral, Number

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.multiclass import type_of_target

log = logging.getLogger(__name__)

# A text column is a numeric one with stray cells when at least this share of it are numbers.
NUMERIC_SHARE = 0.9
# read_csv's name for a first column without a header: how a saved pandas index comes back.
SAVED_INDEX = "Unnamed: 0"


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
    ``label_matrix``, when the data came as one file per class (``datasets.heads``), has a
    column per minority class: 1, 0, or NaN where the row's file says nothing of it.
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
    # classes kept out of every training part, scored as unknowns (``openset.with_unknown``)
    unknown: tuple = ()
    label_matrix: pd.DataFrame | None = None

    @classmethod
    def from_data(
        cls, X, y, *, name="data", minority=None, base=None, categorical=None,
        image_shape=None, target="target", where=None, what="minority",
    ):  # fmt: skip
        """A dataset from a user's features and labels.

        ``X`` is a DataFrame (its column names and dtypes kept; categorical, object and bool
        columns are categorical, and so are those named in ``categorical``) or an array
        (columns ``x0``, ``x1``, …; ``categorical`` then gives column indices). With
        ``image_shape`` = (channels, height, width) the rows are flattened images.
        ``minority`` and ``base`` as in ``resolve_classes``.
        """
        where = where or f"dataset {name!r}"
        if isinstance(X, pd.DataFrame):
            repeated = list(dict.fromkeys(X.columns[X.columns.duplicated()]))
            if repeated:
                raise DataError(
                    f"{where}: X has repeated column names {repeated}; give every column a "
                    "name of its own"
                )
            X = without_saved_index(X, where)
        else:
            if sparse.issparse(X):  # np.asarray would make it a 0-d object array
                raise DataError(
                    f"{where}: X is a sparse {type(X).__name__}; the evaluation takes dense "
                    "rows: pass X.toarray()"
                )
            try:
                X = np.asarray(X)
            except ValueError as error:  # ragged rows
                reason = str(error).splitlines()[0]
                raise DataError(f"{where}: X must be 2-D (samples x features): {reason}") from None
            if X.ndim != 2:
                raise DataError(f"{where}: X must be 2-D (samples x features), got shape {X.shape}")
            prefix = "px" if image_shape is not None else "x"
            X = pd.DataFrame(X, columns=[f"{prefix}{i}" for i in range(X.shape[1])])
            if categorical is not None:
                indices = np.atleast_1d(categorical).tolist()
                if not all(isinstance(i, int) and not isinstance(i, bool) for i in indices):
                    raise DataError(
                        f"{where}: categorical={indices}: X is an array, without column "
                        f"names; give column indices (0 to {X.shape[1] - 1}) or pass X as a "
                        "DataFrame"
                    )
                outside = [i for i in indices if not -X.shape[1] <= i < X.shape[1]]
                if outside:
                    raise DataError(
                        f"{where}: categorical column indices {outside} are outside X's "
                        f"{X.shape[1]} columns (0 to {X.shape[1] - 1})"
                    )
                categorical = [X.columns[i] for i in indices]
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise DataError(
                f"{where}: y must be one label per row of X: {len(X)} rows, y of shape {y.shape}"
            )
        X, categorical = typed(X.reset_index(drop=True), categorical, where)
        minority, base = resolve_classes(y, minority, base, where, what)
        return cls(
            name, X, y, minority=minority, target=target, categorical=categorical, base=base,
            kind="tabular" if image_shape is None else "image",
            image_shape=None if image_shape is None else _image_shape(image_shape, X, where),
        )  # fmt: skip

    @property
    def class_counts(self):
        return dict(sorted(Counter(self.y.tolist()).items(), key=lambda item: -item[1]))

    @property
    def known_classes(self):
        """The classes that training parts hold: all but the ``unknown`` ones."""
        return [c for c in self.class_counts if c not in self.unknown]

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
            **({"unknown": [_plain(c) for c in self.unknown]} if self.unknown else {}),
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


def typed(X, categorical=None, where="data"):
    """``(X, names)``: the names of ``X``'s categorical columns, in column order.

    Categorical are the columns named in ``categorical`` (a name, or a list of them) and
    every column whose dtype is categorical, object, string or bool. ``X`` is returned as it
    is. A text column that is nearly all numbers (``NUMERIC_SHARE``) is a numeric column with
    stray cells ("?", "n/a") and a DataError naming them, unless it is declared categorical;
    a column of dates, or of numbers mixed with text, is a DataError too.
    """
    if categorical is None:
        declared = []
    elif isinstance(categorical, str) or not isinstance(categorical, Iterable):
        declared = [categorical]  # one column's name, not its letters
    else:
        declared = list(categorical)
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
    for column in names:
        if _dates(X[column]):
            raise DataError(
                f"{where}: column {column!r} holds dates or durations ({X[column].dtype}); "
                "give them as numbers (e.g. days since a date) or drop the column"
            )
        if mixed := _mixed_types(X[column]):  # their categories could not even be sorted
            raise DataError(
                f"{where}: column {column!r} mixes value types ({mixed}); "
                f"give it values of one type (e.g. X[{column!r}].astype(str))"
            )
        if column not in declared:
            _refuse_stray_text(X[column], column, where)
    return X, tuple(names)


def _dates(values):
    """Whether a column holds dates, times or durations (datetime64, timedelta64, periods,
    or Python date/time objects): neither numbers nor categories. Dates as text (a CSV's)
    are text, read as categories."""
    if pd.api.types.is_datetime64_any_dtype(values) or pd.api.types.is_timedelta64_dtype(values):
        return True
    kind = pd.api.types.infer_dtype(values, skipna=True)
    return kind in ("date", "datetime", "datetime64", "time", "timedelta", "timedelta64", "period")


def _mixed_types(values):
    """The Python types of ``values``, as text, when they mix numbers and other objects
    (1 and "x"), which cannot be ordered; else ''."""
    values = pd.Series(values)
    if pd.api.types.infer_dtype(values, skipna=True) not in ("mixed", "mixed-integer"):
        return ""
    return ", ".join(sorted({type(v).__name__ for v in values.dropna()}))


def _refuse_stray_text(values, column, where):
    """A DataError when a text column's cells are nearly all numbers, naming the others."""
    if isinstance(values.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(values):
        return  # typed as categories on purpose
    values = values.dropna()
    stray = values[pd.to_numeric(values, errors="coerce").isna()]
    if not len(stray) and len(values):
        log.warning(
            "%s: column %r holds only numbers, as text (%r, …): it is read as categorical "
            "with %d levels; pass it as numbers (X.astype(float)) if they are, or declare "
            "it categorical to silence this",
            where, column, str(values.iloc[0]), values.nunique(),
        )  # fmt: skip
        return
    if not len(stray) or len(stray) > (1 - NUMERIC_SHARE) * len(values):
        return
    shown = list(dict.fromkeys(map(str, stray)))
    listed = ", ".join(map(repr, shown[:5])) + (", ..." if len(shown) > 5 else "")
    raise DataError(
        f"{where}: column {column!r} holds numbers and {len(stray)} cells that are not "
        f"({listed}); clean them, or declare the column categorical (categorical="
        f"[{column!r}]; dataset.categorical=[{column}] on the command line)"
    )


def _image_shape(image_shape, X, where):
    """``image_shape`` as (channels, height, width) of rows of ``X``'s columns, else a
    DataError: checked here, whatever the models, not first by an image model in a fold."""
    shape = np.atleast_1d(np.asarray(image_shape, dtype=object)).tolist()
    sides = all(isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in shape)
    if len(shape) != 3 or not sides or int(np.prod(shape)) != X.shape[1]:
        raise DataError(
            f"{where}: image_shape={tuple(shape)} does not fit rows of {X.shape[1]} features: "
            f"give (channels, height, width) whose product is {X.shape[1]}"
        )
    return tuple(int(s) for s in shape)


def without_saved_index(X, where="data"):
    """``X`` without a saved pandas index: a first column ``SAVED_INDEX`` of distinct
    integers (``to_csv`` without ``index=False``, read back), dropped with a warning."""
    if not len(X.columns) or X.columns[0] != SAVED_INDEX:
        return X
    first = X.iloc[:, 0]
    if not pd.api.types.is_integer_dtype(first) or not first.is_unique:
        return X
    log.warning(
        "%s: column %r is a saved pandas index (distinct integers without a header), not a "
        "feature; dropped (write files with index=False, or name the column to keep it)",
        where, SAVED_INDEX,
    )  # fmt: skip
    return X.iloc[:, 1:]


SHOWN_CLASSES = 10  # classes an error lists before "and N more"


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _label_order(label):
    """Sort key: numbers by value, then everything else by its text."""
    return (0, label, "") if isinstance(label, Number) else (1, 0, str(label))


def class_list(labels):
    """``labels`` as an error message lists a dataset's classes: numbers by value, then the
    rest by text, the first ``SHOWN_CLASSES`` and how many more."""
    shown = sorted(labels, key=_label_order)
    listed = ", ".join(map(repr, map(_plain, shown[:SHOWN_CLASSES])))
    return listed + (
        f" and {len(shown) - SHOWN_CLASSES} more" if len(shown) > SHOWN_CLASSES else ""
    )


def _label(value, labels, what, where):
    """``value`` as one of ``labels``: Hydra parses "1" as int, a CSV may hold strings."""
    if value in labels:
        return value
    matches = [label for label in labels if str(label) == str(value)]
    if not matches:
        raise DataError(
            f"{where}: {what} class {value!r} is not in the target; its classes are "
            f"{class_list(labels)}"
        )
    return matches[0]


def resolve_classes(y, minority=None, base=None, where="data", what="minority"):
    """``(minority, base)`` as labels of ``y``.

    ``minority`` defaults to the least frequent class with two classes, and with more to
    every class but ``base`` (default: the most frequent); a list names several minority
    classes, each compared with ``base``. Labels may be given as their strings; ``what``
    is how errors name the minority argument.
    """
    counts = Counter(np.asarray(y).tolist())
    labels = sorted(counts, key=lambda label: (counts[label], str(label)))
    if not labels:
        raise DataError(f"{where}: no rows")
    if base is not None:
        base = _label(base, labels, "base", where)
    if minority is None:
        rest = [label for label in labels if label != (base if base is not None else labels[-1])]
        minority = rest[0] if len(rest) == 1 else rest[::-1]
    elif isinstance(minority, list | tuple):
        minority = [_label(p, labels, what, where) for p in minority]
        repeated = list(dict.fromkeys(c for c in minority if minority.count(c) > 1))
        if repeated:
            raise DataError(
                f"{where}: {what}={[_plain(c) for c in minority]} names "
                f"{', '.join(repr(_plain(c)) for c in repeated)} more than once; name each "
                "class once"
            )
    else:
        minority = _label(minority, labels, what, where)
    return minority, base


def check_dataset(dataset, n_splits):
    """Refuse data the experiment cannot handle, with a message naming the problem."""
    where = f"dataset {dataset.name!r}"
    if not dataset.X.shape[1]:
        raise DataError(f"{where}: no feature columns, only the target {dataset.target!r}")
    numeric = [c for c in dataset.X.columns if c not in dataset.categorical]
    non_numeric = [c for c in numeric if not pd.api.types.is_numeric_dtype(dataset.X[c])]
    if non_numeric:
        raise DataError(f"{where}: non-numeric feature columns {non_numeric} are not categorical")
    complex_ = [c for c in numeric if pd.api.types.is_complex_dtype(dataset.X[c])]
    if complex_:  # casting to float would drop the imaginary parts without a word
        raise DataError(f"{where}: complex values in feature columns {complex_}")
    values = dataset.X[numeric].to_numpy(dtype=np.float64)
    bad = [c for c, ok in zip(numeric, np.isfinite(values).all(axis=0), strict=True) if not ok]
    bad += [c for c in dataset.categorical if dataset.X[c].isna().any()]
    if bad:
        raise DataError(f"{where}: NaN or infinite values in feature columns {bad}")
    if pd.isna(pd.Series(dataset.y)).any():
        raise DataError(f"{where}: missing values in the target")
    if mixed := _mixed_types(dataset.y):
        raise DataError(
            f"{where}: the target mixes label types ({mixed}); give labels "
            "of one type (e.g. y.astype(str))"
        )
    y = np.asarray(dataset.y)
    if y.dtype.kind == "f" and np.isinf(y).any():
        raise DataError(f"{where}: infinite values in the target")
    counts = dataset.class_counts
    if not counts:
        raise DataError(f"{where}: no rows")
    if min(counts.values()) < n_splits and type_of_target(dataset.y) == "continuous":
        # a regression target: every value its own class, the least frequent taken as the
        # minority, which would fail below on a minority count that names no real problem
        # (a few fractional labels with enough rows each, 0.5 and 1.5, are classes like any)
        example = next(iter(label for label in counts if float(label) != int(label)))
        raise DataError(
            f"{where}: the target holds {len(counts)} distinct non-integer values (e.g. "
            f"{example!r}), a continuous target; synthbalance needs class labels"
        )
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
