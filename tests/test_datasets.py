import numpy as np
import pandas as pd
import pytest

from synthbalance.pipelines.dataset import DataError, Dataset, check_dataset
from synthbalance.pipelines.datasets import (
    breast_cancer,
    from_file,
    heads,
    keel,
    keel_names,
    seed_case,
)


def test_seed_case_has_exact_counts_and_is_seeded():
    data = seed_case(n_majority=2000, n_minority=50, n_features=8, n_informative=3, n_redundant=1)
    assert data.class_counts == {0: 2000, 1: 50}
    assert data.X.shape == (2050, 8)
    again = seed_case(n_majority=2000, n_minority=50, n_features=8, n_informative=3, n_redundant=1)
    pd.testing.assert_frame_equal(data.X, again.X)


def test_default_seed_case_is_the_users_scenario():
    assert seed_case().class_counts == {0: 20000, 1: 500}


def test_breast_cancer_subsamples_the_minority_to_a_ratio():
    assert breast_cancer().class_counts == {"benign": 357, "malignant": 212}
    assert breast_cancer(imbalance_ratio=10).class_counts == {"benign": 357, "malignant": 36}
    with pytest.raises(DataError, match="imbalance_ratio"):
        breast_cancer(imbalance_ratio=0.5)


def test_keel_loads_numeric_sets_with_positive_minority():
    assert len(keel_names()) == 100
    data = keel("ecoli1")
    assert data.minority == "positive"
    assert set(data.class_counts) == {"positive", "negative"}
    assert all(pd.api.types.is_numeric_dtype(t) for t in data.X.dtypes)


def test_keel_unknown_name_lists_the_valid_ones():
    with pytest.raises(DataError, match="unknown KEEL dataset 'nope'; valid names: .*ecoli1"):
        keel("nope")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_user_file(tmp_path, suffix):
    frame = pd.DataFrame({"a": np.arange(30.0), "b": np.ones(30), "label": ["x"] * 25 + ["y"] * 5})
    path = tmp_path / f"data{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    data = from_file(path, target="label")
    assert data.minority == "y" and data.name == "data" and list(data.X.columns) == ["a", "b"]
    assert from_file(path, target="label", positive="x").minority == "x"
    with pytest.raises(DataError, match="no target column 'nope'"):
        from_file(path, target="nope")
    with pytest.raises(DataError, match="positive class 'z'"):
        from_file(path, target="label", positive="z")


def test_user_file_numeric_positive_given_as_text(tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame({"a": range(10), "t": [0] * 8 + [1] * 2}).to_csv(path, index=False)
    assert from_file(path, target="t", positive="1").minority == 1


def test_user_file_missing_or_unsupported(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        from_file(tmp_path / "nothere.csv", target="y")
    with pytest.raises(DataError, match="unsupported file type"):
        from_file(tmp_path / "data.xlsx", target="y")


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.csv", b"", "CSV: No columns to parse"),
        ("latin.csv", b"a,y\n" + bytes(range(128, 256)) + b",1\n", "CSV: 'utf-8' codec"),
        ("broken.parquet", b"PAR1 not a parquet file", "Parquet: .*magic bytes"),
    ],
)
def test_user_file_that_cannot_be_read_is_named(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=f"^{tmp_path / name}: cannot be read as {reason}"):
        from_file(tmp_path / name, target="y")


def test_user_file_unknown_positive_lists_the_classes(tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame({"a": range(10), "t": ["n"] * 8 + ["p"] * 2}).to_csv(path, index=False)
    with pytest.raises(
        DataError, match="positive class 1 is not in the target; its classes are 'n', 'p'$"
    ):
        from_file(path, target="t", positive=1)
    pd.DataFrame({"a": range(12), "t": range(12)}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"its classes are 0, 1, .*, 9 and 2 more$"):
        from_file(path, target="t", positive=99)


def _dataset(X, y, minority=1):
    return Dataset(
        "toy", pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]), y, minority
    )


@pytest.mark.parametrize(
    "X, y, message",
    [
        (np.where(np.eye(20, 3) == 1, np.nan, 1.0), np.r_[[0] * 15, [1] * 5], "NaN or infinite"),
        (np.ones((20, 3)), np.zeros(20, dtype=int), "only one class"),
        (np.ones((20, 3)), np.r_[[0] * 17, [1] * 3], "3 minority samples"),
        (np.ones((20, 3)), np.linspace(0.05, 0.95, 20), "20 distinct non-integer values .*"
         "a continuous target; synthbalance needs class labels"),
        (np.ones((20, 3)), np.r_[[0.0] * 15, [1.0] * 4, [np.inf]], "infinite values in the target"),
        (np.ones((20, 3)) + 1j, np.r_[[0] * 15, [1] * 5], r"complex values in feature columns "
         r"\['x0', 'x1', 'x2'\]"),
    ],
)  # fmt: skip
def test_check_dataset_refuses_bad_data(X, y, message):
    with pytest.raises(DataError, match=message):
        check_dataset(_dataset(X, y), n_splits=5)


def test_fractional_labels_with_enough_rows_are_classes():
    y = np.r_[[0.5] * 15, [1.5] * 5]
    check_dataset(_dataset(np.ones((20, 3)), y, minority=1.5), n_splits=5)


def _head_files(tmp_path, index):
    """a.csv and b.csv of dataset=heads, written with or without pandas' index."""
    rng = np.random.default_rng(0)
    paths = []
    for name in ("a", "b"):
        frame = pd.DataFrame(rng.normal(size=(20, 2)), columns=["u", "v"])
        frame["label"] = [True] * 8 + [False] * 12
        paths.append(tmp_path / f"{name}.csv")
        frame.to_csv(paths[-1], index=index)
    return paths


@pytest.mark.parametrize("names", [None, [1, 2]])
def test_heads_takes_a_base_class_that_is_no_text(tmp_path, names):
    data = heads(_head_files(tmp_path, index=False), names=names, base=0)
    classes = ["a", "b"] if names is None else ["1", "2"]
    assert data.base_class == "0" and data.minority == classes
    assert data.class_counts == {"0": 24, classes[0]: 8, classes[1]: 8}
    with pytest.raises(DataError, match="the base class '1' is also the class of a file"):
        heads(_head_files(tmp_path, index=False), names=[1, 2], base=1)
    with pytest.raises(DataError, match="^dataset.base is null: name the class of the rows"):
        heads(_head_files(tmp_path, index=False), base=None)


@pytest.mark.parametrize("n_files", [1, 2])
def test_heads_drops_each_files_saved_index(tmp_path, caplog, n_files):
    paths = _head_files(tmp_path, index=True)[:n_files]
    data = heads(paths)
    assert list(data.X.columns) == ["u", "v"]
    assert caplog.text.count("is a saved pandas index") == n_files
