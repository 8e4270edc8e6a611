"""Mixed numeric/categorical features and several minority classes (one base class)."""

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_module
from hydra.utils import instantiate
from imblearn.over_sampling import SMOTE, SMOTEN, SMOTENC, BorderlineSMOTE, RandomOverSampler

from synthbalance.generators import CVAESampler, TabularPreprocessor, VAESampler
from synthbalance.pipelines.app import run
from synthbalance.pipelines.components import build, for_dataset
from synthbalance.pipelines.dataset import DataError, Dataset, check_dataset, typed
from synthbalance.pipelines.datasets import from_file, keel
from synthbalance.pipelines.estimators import with_seed
from synthbalance.pipelines.metrics import METRICS
from synthbalance.pipelines.report import MACRO

from .conftest import fold_records

TINY = dict(latent_dim=3, hidden_dims=(16,), steps=6, batch_size=64, device="cpu")


def mixed_frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "height": rng.normal(170, 10, n),
            "count": rng.integers(0, 20, n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "member": rng.choice([True, False], n),
            "grade": pd.Categorical(rng.choice(["a", "b", "c", "d"], n)),
        }
    )


def mixed_dataset(n=300, seed=0):
    X, categorical = typed(mixed_frame(n, seed))
    y = np.array([0] * (n - n // 10) + [1] * (n // 10))
    return Dataset("mixed", X, y, minority=1, categorical=categorical)


def test_feature_types_are_detected_and_can_be_declared():
    _, detected = typed(mixed_frame())
    assert detected == ("colour", "member", "grade")
    _, declared = typed(mixed_frame(), categorical=["count"])
    assert declared == ("count", "colour", "member", "grade")
    with pytest.raises(DataError, match=r"declared categorical columns \['nope'\]"):
        typed(mixed_frame(), categorical=["nope"])


def test_dataset_codes_round_trip_to_original_columns_and_dtypes():
    data = mixed_dataset()
    back = data.decoded(data.encoded())
    pd.testing.assert_frame_equal(back, data.X)  # names, dtypes (object, bool, category), values
    assert back["member"].dtype == bool and isinstance(back["grade"].dtype, pd.CategoricalDtype)
    assert set(np.unique(data.encoded()[:, 2])) == {0, 1, 2}  # blue, green, red


@pytest.mark.parametrize("as_labels", [False, True], ids=["codes", "labels"])
def test_preprocessing_round_trip_of_a_mixed_frame(as_labels):
    data = mixed_dataset()
    X = data.X.to_numpy(dtype=object) if as_labels else data.encoded()
    preprocessor = TabularPreprocessor(categorical_features=data.categorical_indices).fit(X)
    Z = preprocessor.transform(X)
    assert Z.shape[1] == 2 + 3 + 2 + 4  # numeric columns, then one one-hot block per column
    back = preprocessor.inverse_transform(Z)
    numeric, categorical = [0, 1], data.categorical_indices
    np.testing.assert_allclose(
        back[:, numeric].astype(float), X[:, numeric].astype(float), rtol=1e-5, atol=1e-5
    )  # float32 network space
    assert (back[:, categorical] == X[:, categorical]).all()
    # projected network rows are valid one-hot rows that decode to the same categories
    noisy = Z + np.random.default_rng(0).normal(0, 0.1, Z.shape).astype(np.float32)
    projected = preprocessor.project(noisy)
    for block in preprocessor.categorical_slices_:
        assert set(np.unique(projected[:, block])) <= {0.0, 1.0}
        assert (projected[:, block].sum(axis=1) == 1).all()


def test_preprocessing_refuses_a_category_unseen_in_fit():
    X = mixed_dataset().encoded()
    preprocessor = TabularPreprocessor(categorical_features=[2, 3, 4]).fit(X)
    X_new = X.copy()
    X_new[0, 2] = 9
    with pytest.raises(ValueError, match=r"feature 2 has categories \[9.0\] not seen in fit"):
        preprocessor.transform(X_new)


@pytest.fixture(scope="module")
def abalone():
    return keel("abalone19")


def test_keel_categorical_columns_are_typed(abalone):
    assert abalone.categorical == ("x0",)
    assert set(abalone.X["x0"]) == {"F", "I", "M"}
    assert [len(c) for c in abalone.categories()] == [3]
    check_dataset(abalone, n_splits=5)


GENERATORS = ["vae", "cvae", "cgan", "wgan_gp", "ddpm", "smote", "smotenc", "ros"]


@pytest.mark.parametrize("name", GENERATORS)
def test_every_generator_yields_only_valid_categories(name, abalone, one_torch_thread):
    with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
        cfg = compose("config", overrides=[f"generator={name}"])
    if name in {"vae", "cvae", "cgan", "wgan_gp", "ddpm"}:
        cfg.generator.steps, cfg.generator.hidden_dims = 6, [16]
    generator, _ = for_dataset(*build(cfg.generator), abalone)
    X, y = abalone.encoded(), abalone.y
    X_res, y_res = with_seed(generator, 0).fit_resample(X, y)
    new = X_res[len(X) :, abalone.categorical_indices]
    assert len(new) > 0
    seen = set(X[:, 0][y == "positive"]) if name == "vae" else set(X[:, 0])
    assert set(new.ravel()) <= seen
    exported = abalone.decoded(X_res)
    assert set(exported["x0"].astype(str)) <= {"F", "I", "M"}


def test_smote_becomes_smotenc_or_smoten_by_the_features(abalone):
    smote = (SMOTE(k_neighbors=3), {"name": "smote", "class": "imblearn.over_sampling.SMOTE"})
    mixed, info = for_dataset(*smote, abalone)
    assert type(mixed) is SMOTENC and mixed.categorical_features == [0]
    assert mixed.k_neighbors == 3 and info["class"] == "imblearn.over_sampling.SMOTENC"
    frame = pd.DataFrame({"a": list("uvw") * 10, "b": list("xyzz") * 7 + ["x", "y"]})
    X, categorical = typed(frame)
    all_categorical = Dataset("cat", X, np.array([0] * 24 + [1] * 6), 1, categorical=categorical)
    assert type(for_dataset(*smote, all_categorical)[0]) is SMOTEN
    numeric = Dataset("num", pd.DataFrame({"a": np.arange(30.0)}), np.array([0] * 24 + [1] * 6), 1)
    assert type(for_dataset(*smote, numeric)[0]) is SMOTE


def test_generators_that_cannot_handle_categories_are_refused(abalone):
    info = {"name": "borderline_smote"}
    with pytest.raises(DataError, match=r"cannot handle the categorical columns \['x0'\]"):
        for_dataset(BorderlineSMOTE(), info, abalone)
    numeric = Dataset("num", pd.DataFrame({"a": np.arange(30.0)}), np.array([0] * 24 + [1] * 6), 1)
    with pytest.raises(DataError, match="has no categorical features"):
        for_dataset(SMOTENC(categorical_features=None), {"name": "smotenc"}, numeric)
    assert isinstance(
        for_dataset(RandomOverSampler(), {"name": "ros"}, abalone)[0], RandomOverSampler
    )


def test_sampling_strategy_classes_must_exist(abalone):
    with pytest.raises(DataError, match=r"names classes \['nope'\] .*; its classes are \S+, \S+$"):
        for_dataset(SMOTE(sampling_strategy={"nope": 10}), {"name": "smote"}, abalone)


def test_keel_mixed_set_runs_end_to_end_and_exports_its_categories(make_config, tmp_path):
    report = run(
        make_config("dataset=keel", "dataset.name=abalone19", "generator=cvae", "classifier=hgb")
    )
    assert report["dataset"]["categorical"] == ["x0"]
    assert all(r["n_synthetic"] > 0 for r in report["folds"] if r["method"] == "augmented")
    assert report["generator"]["params"]["categorical_features"] == [0]  # from the dataset
    from synthbalance.pipelines.export import export

    overrides = ["dataset=keel", "dataset.name=abalone19", "generator=smote"]
    with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
        cfg = compose("export", overrides=[*overrides, f"export.path={tmp_path}/b.csv"])
    export(cfg)
    frame = pd.read_csv(tmp_path / "b.csv")
    assert list(frame.columns[:8]) == [f"x{i}" for i in range(8)]
    assert set(frame["x0"]) == {"F", "I", "M"}
    manifest = json.loads((tmp_path / "b.manifest.json").read_text())
    assert manifest["generator"]["class"] == "imblearn.over_sampling.SMOTENC"


def test_user_file_with_several_classes(tmp_path):
    frame = mixed_frame(200)
    frame["label"] = ["base"] * 150 + ["a"] * 30 + ["b"] * 20
    frame.to_csv(tmp_path / "d.csv", index=False)
    data = from_file(tmp_path / "d.csv", target="label")
    assert data.minority_classes == ["a", "b"] and data.base_class == "base"
    assert data.categorical == ("colour", "member", "grade")
    one = from_file(tmp_path / "d.csv", target="label", positive="b", base="a")
    assert one.minority_classes == ["b"] and one.base_class == "a"


@pytest.mark.parametrize("Sampler", [VAESampler, CVAESampler])
def test_torch_samplers_follow_a_multiclass_sampling_strategy(Sampler, one_torch_thread):
    data = instantiate(
        {"_target_": "synthbalance.pipelines.datasets.seed_multiclass", "n_base": 400,
         "n_minority": [40, 30, 20], "n_features": 5, "n_informative": 3, "n_redundant": 1}
    )  # fmt: skip
    X, y = data.encoded(), data.y
    strategy = {1: 100, 3: 60}
    _, y_res = Sampler(sampling_strategy=strategy, random_state=0, **TINY).fit_resample(X, y)
    assert Counter(y_res) == {0: 400, 1: 100, 2: 30, 3: 60}


def test_multiclass_scores_every_minority_class_against_the_base_class():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(700, 4))
    y = np.array([0] * 500 + [1] * 120 + [2] * 80)
    X[y == 1, 0] += 3  # class 1 is easy to tell from the base class, class 2 is noise
    from sklearn.linear_model import LogisticRegression

    folds = fold_records(
        X, y, [1, 2], RandomOverSampler(), LogisticRegression(), n_splits=3, n_repeats=1, seed=0,
        methods=["baseline", "augmented"],
    )  # fmt: skip
    record = folds[0]
    by_class = record["metrics_by_class"]
    assert set(by_class) == {"1", "2"}
    assert by_class["1"]["roc_auc"] > 0.9 > 0.7 > by_class["2"]["roc_auc"]
    assert record["metrics"]["roc_auc"] == pytest.approx(
        (by_class["1"]["roc_auc"] + by_class["2"]["roc_auc"]) / 2
    )
    # a threshold is a two-class notion: the threshold methods are left out
    folds = fold_records(X, y, [1, 2], RandomOverSampler(), LogisticRegression(), n_splits=2,
                         n_repeats=1, seed=0, methods=["baseline", "threshold"])  # fmt: skip
    assert {r["method"] for r in folds} == {"baseline"}


def test_multiclass_default_runs_end_to_end(make_config, tmp_path):
    report = run(make_config("dataset=seed_multiclass", "generator=cvae"))
    assert report["dataset"]["minority"] == [1, 2, 3] and report["dataset"]["base"] == 0
    assert "threshold" not in report["summary"]  # a threshold needs two classes
    blocks = {}
    for c in report["comparisons"]:
        if c["versus"] == "baseline":
            blocks.setdefault(c["class"], set()).add((c["method"], c["metric"]))
    assert set(blocks) == {MACRO, "1", "2", "3"}
    # every class gets the full block: each method against the baseline on every metric
    assert all(block == blocks[MACRO] for block in blocks.values())
    # class_weight, balanced_ensemble, augmented and augmented+recalibrated
    assert len(blocks[MACRO]) == 4 * len(METRICS)
    assert set(report["summary_by_class"]) == {"1", "2", "3"}
    markdown = (tmp_path / "report.md").read_text()
    assert "## Scores by minority class (each against 0 alone)" in markdown
    assert "comparisons are in report.html and report.json." in markdown
    assert report["quality"] is not None


def test_multiclass_datasets_refuse_bad_classes():
    X = pd.DataFrame({"a": np.arange(60.0)})
    y = np.array([0] * 40 + [1] * 15 + [2] * 5)
    with pytest.raises(DataError, match="both a minority and the base class"):
        check_dataset(Dataset("d", X, y, minority=[1, 2], base=1), n_splits=2)
    with pytest.raises(DataError, match="base class 7 is not in the target"):
        check_dataset(Dataset("d", X, y, minority=[1, 2], base=7), n_splits=2)
    with pytest.raises(DataError, match=r"5 minority samples \(2\), fewer than n_splits=10"):
        check_dataset(Dataset("d", X, y, minority=[1, 2]), n_splits=10)


def test_compare_shows_every_minority_class(make_config, tmp_path):
    from synthbalance.pipelines.compare import write_comparison

    for generator in ("ros", "smote"):
        run(make_config("dataset=seed_multiclass", f"generator={generator}",
                        f"output_dir={tmp_path}/runs/{generator}"))  # fmt: skip
    comparison = write_comparison([tmp_path / "runs"], tmp_path / "out")
    table, _ = comparison.everything, comparison.across
    assert sorted(table["class"]) == sorted([MACRO, "1", "2", "3"] * 2)
    assert table["primary"].sum() == 2
    markdown = (tmp_path / "out" / "comparison.md").read_text()
    assert "| dataset | classifier | generator | class |" in markdown
    assert "| seed_multiclass | logreg | smote | 3 |" in markdown


@pytest.mark.parametrize("classifier", ["logreg", "hgb"])
def test_mostly_categorical_data_reaches_any_classifier_dense(classifier, make_config):
    # car-good: six categorical columns, so the one-hot block is sparse by sklearn's default
    extra = ["classifier.max_iter=20"] if classifier == "hgb" else []
    report = run(
        make_config("dataset=keel", "dataset.name=car-good", "generator=smote",
                    f"classifier={classifier}", *extra)
    )  # fmt: skip
    assert report["generator"]["class"] == "imblearn.over_sampling.SMOTEN"
    assert report["summary"]["augmented"]["roc_auc"]["mean"] > 0.5


def test_bad_dataset_values_are_data_errors():
    from synthbalance.pipelines.datasets import breast_cancer, seed_multiclass

    assert seed_multiclass(n_base=200, n_minority=50, n_features=4, n_informative=2,
                           n_redundant=0).class_counts == {0: 200, 1: 50}  # fmt: skip
    with pytest.raises(ValueError, match="'imbalance_ratio' parameter of breast_cancer"):
        breast_cancer(imbalance_ratio=0)
    empty = Dataset("e", pd.DataFrame({"a": []}), np.array([]), minority=1)
    with pytest.raises(DataError, match="no rows"):
        check_dataset(empty, n_splits=2)
    X = pd.DataFrame({"a": np.arange(20.0)})
    with pytest.raises(DataError, match="no minority class given"):
        check_dataset(Dataset("d", X, np.array([0] * 15 + [1] * 5), minority=[]), n_splits=2)


def test_compare_without_augmented_runs_says_so(make_config, tmp_path):
    from synthbalance.pipelines.compare import write_comparison

    run(make_config("generator=none", "evaluation.methods=[baseline,class_weight]"))
    with pytest.raises(DataError, match="no run compared the 'augmented' method"):
        write_comparison([tmp_path], tmp_path / "out")
