"""The Python API: synthbalance.evaluate, compare, export, Report and Comparison."""

import datetime
import json
import os

import numpy as np
import pandas as pd
import pytest
from hydra.utils import instantiate
from imblearn import FunctionSampler
from imblearn.combine import SMOTEENN
from imblearn.over_sampling import SMOTE, SMOTENC, RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from markupsafe import escape
from omegaconf import OmegaConf
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

import synthbalance as sb
from synthbalance.pipelines.app import run
from synthbalance.pipelines.components import build
from synthbalance.pipelines.datasets import seed_case

SMALL = dict(n_splits=3, n_repeats=1, seed=0)


@pytest.fixture(scope="module")
def data():
    ds = seed_case(n_majority=600, n_minority=45, n_features=5, n_informative=3, n_redundant=1)
    return ds.X, ds.y


def logreg():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def without_timings(folds):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in folds]


def test_public_names():
    public = {"evaluate", "compare", "export", "Report", "Comparison", "CVAESampler",
              "VAESampler", "CGANSampler", "CNNClassifier"}  # fmt: skip
    assert set(sb.__all__) >= public
    assert sb.__version__ and sb.__version__ != "0+unknown"


def test_the_api_and_the_cli_write_the_same_report(make_config, tmp_path):
    cfg = make_config("generator.sampling=posterior")
    from_cli = run(cfg)
    dataset = instantiate(cfg.dataset)
    sampler, _ = build(cfg.generator)
    classifier, _ = build(cfg.classifier)
    evaluation = OmegaConf.to_container(cfg.evaluation)
    report = sb.evaluate(
        dataset.X, dataset.y, generator=sampler, classifier=classifier,
        n_splits=evaluation["n_splits"], n_repeats=evaluation["n_repeats"], seed=cfg.seed,
        rope=evaluation["rope"], methods=evaluation["methods"], threshold=evaluation["threshold"],
        quality=evaluation["quality"], name="seed_case",
    )  # fmt: skip
    for key in ("dataset", "summary", "comparisons", "quality", "protocol"):
        assert report.data[key] == from_cli[key], key
    assert without_timings(report.data["folds"]) == without_timings(from_cli["folds"])


def test_several_generators_share_the_folds_and_the_baseline(data):
    X, y = data
    comparison = sb.evaluate(
        X, y, generators={"smote": SMOTE(), "ros": RandomOverSampler()}, classifier=logreg(),
        **SMALL,
    )  # fmt: skip
    assert isinstance(comparison, sb.Comparison) and list(comparison.reports) == ["smote", "ros"]
    smote, ros = comparison["smote"].data, comparison["ros"].data
    plain = [r for r in smote["folds"] if r["method"] == "baseline"]
    assert without_timings(plain) == without_timings(
        [r for r in ros["folds"] if r["method"] == "baseline"]
    )
    assert smote["summary"]["augmented"] != ros["summary"]["augmented"]
    # the same results as one generator at a time
    alone = sb.evaluate(X, y, generator=SMOTE(), classifier=logreg(), **SMALL)
    assert alone.data["summary"] == smote["summary"]
    assert set(comparison.verdicts["run"]) == {"smote", "ros"}
    best = comparison.best("f1")
    means = comparison.scores.query("metric == 'f1'")
    assert best["mean"] == pytest.approx(means["mean"].max())


def test_best_refuses_runs_whose_folds_are_not_the_same_rows(data):
    X, y = data
    runs = [sb.evaluate(X, y, generator=generator, classifier=logreg(), **{**SMALL, "seed": seed})
            for seed, generator in enumerate([SMOTE(), RandomOverSampler()])]  # fmt: skip
    with pytest.raises(ValueError, match=r"different folds \(n_splits=3, seed=0, .* seed=1"):
        sb.compare(*runs).best("f1")


def test_report_frames_best_and_plot(data):
    X, y = data
    report = sb.evaluate(X, y, generator=RandomOverSampler(), classifier=logreg(), **SMALL)
    verdicts = report.verdicts
    assert list(verdicts.columns[:5]) == ["method", "versus", "metric", "class", "delta"]
    assert len(verdicts) == len(report.data["comparisons"])
    assert len(report.folds) == 3 * len(report.data["summary"])  # folds x methods
    f1 = report.scores.query("metric == 'f1'").set_index("method")["mean"]
    best = report.best("f1")
    assert best.method == f1.idxmax() and best.mean == pytest.approx(f1.max())
    assert best.runner_up == f1.drop(best.method).idxmax()
    assert best.comparison["delta_mean"] == pytest.approx(f1.max() - f1[best.runner_up])
    figure = report.plot()
    assert len(figure.axes) == 2  # F1 and ROC AUC
    assert str(escape(report.best("f1").label)) in report._repr_html_()
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        report.best("auc")


def test_save_writes_what_the_cli_writes_and_load_reads_it_back(data, tmp_path):
    X, y = data
    report = sb.evaluate(X, y, generator=SMOTE(), classifier=logreg(), **SMALL)
    path = report.save(tmp_path / "out")
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert written == {"report.json", "report.md", "report.html", "deltas.png", "calibration.png",
                       "scatter.png"}  # fmt: skip
    loaded = sb.Report.load(tmp_path / "out")
    assert loaded.data == json.loads(path.read_text()) and loaded.headline == report.headline
    other = sb.evaluate(X, y, generator=RandomOverSampler(), classifier=logreg(), **SMALL)
    assert sb.compare(loaded, other).table["method"].tolist() == ["SMOTE", "RandomOverSampler"]


def test_a_failing_save_leaves_nothing(data, tmp_path, monkeypatch):
    X, y = data
    report = sb.evaluate(X, y, generator=SMOTE(), classifier=logreg(), **SMALL)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("synthbalance.pipelines.report.core.render_html", broken)
    for directory in (tmp_path / "run", tmp_path / "new" / "a" / "b"):
        with pytest.raises(RuntimeError, match="disk on fire"):
            report.save(directory)  # after the figures and report.md
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["notes.txt"]


def test_names_with_dollar_signs_are_drawn_as_written(data, tmp_path):
    X, y = data
    X = X.set_axis(["cost $^$ usd", "b $x", *X.columns[2:]], axis=1)  # mathtext would fail
    report = sb.evaluate(X, y, generator=SMOTE(), classifier=logreg(), name="ds $^$", **SMALL)
    report.save(tmp_path)
    assert {"deltas.png", "scatter.png", "report.json"} <= {p.name for p in tmp_path.iterdir()}
    assert report.to_html().count("<img") == sb.Report.load(tmp_path).to_html().count("<img")


def test_dataframes_keep_their_categorical_columns(tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"size": rng.normal(size=300), "colour": rng.choice(["r", "g", "b"], 300)})
    y = np.r_[np.zeros(270, int), np.ones(30, int)]
    X.loc[y == 1, "size"] += 2
    report = sb.evaluate(X, y, generator=SMOTE(), **SMALL)
    assert report.data["dataset"]["categorical"] == ["colour"]
    assert report.data["generator"]["class"] == "imblearn.over_sampling.SMOTENC"
    exported = sb.export(X, y, generator=SMOTE(), path=tmp_path / "balanced.csv")
    frame = pd.read_csv(exported)
    assert set(frame["colour"]) <= {"r", "g", "b"} and frame["is_synthetic"].sum() == 240
    assert (tmp_path / "balanced.manifest.json").is_file()


def test_export_refuses_a_manifest_that_describes_another_file(data, tmp_path):
    X, y = data
    first = sb.export(X, y, generator=RandomOverSampler(), path=tmp_path / "b.csv")
    manifest = tmp_path / "b.manifest.json"
    described = manifest.read_text()
    sb.export(X, y, generator=RandomOverSampler(), path=first)  # the same file again: replaced
    with pytest.raises(sb.DataError, match=r"b.manifest.json already exists and describes "
                                           r"the export b.csv; remove it"):  # fmt: skip
        sb.export(X, y, generator=RandomOverSampler(), path=tmp_path / "b.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.csv", "b.manifest.json"]
    assert json.loads(manifest.read_text())["sha256"] == json.loads(described)["sha256"]
    manifest.write_text("my own notes")
    with pytest.raises(sb.DataError, match="describes a file that is not this export's"):
        sb.export(X, y, generator=RandomOverSampler(), path=first)


def test_export_refuses_features_named_as_its_own_columns(data, tmp_path):
    X, y = data
    for name in ("target", "is_synthetic"):
        with pytest.raises(sb.DataError, match=f"has a feature column named '{name}'"):
            sb.export(X.rename(columns={"x0": name}), y, generator=RandomOverSampler(),
                      path=tmp_path / "b.csv")  # fmt: skip
    with pytest.raises(TypeError, match="path must be a file or directory path, got int"):
        sb.export(X, y, generator=RandomOverSampler(), path=3)
    assert not os.listdir(tmp_path)


def test_a_generator_that_changes_real_rows_or_diverges_is_named(data, tmp_path):
    X, y = data
    dropping = FunctionSampler(func=lambda X, y: (X[1:], y[1:]))
    with pytest.raises(ValueError, match=r"FunctionSampler did not return the \d+ real rows "
                                         r"unchanged before its synthetic ones"):  # fmt: skip
        sb.evaluate(X, y, generator=dropping, n_jobs=1, **SMALL)
    diverging = sb.CVAESampler(steps=30, lr=1e3, random_state=0)
    nan_rows = r"CVAESampler: 555 of its 555 synthetic rows hold NaN or infinite values"
    with pytest.raises(ValueError, match=nan_rows):
        diverging.fit_resample(X, y)
    with pytest.raises(ValueError, match=nan_rows):
        sb.export(X, y, generator=diverging, path=tmp_path / "b.csv")
    assert not os.listdir(tmp_path)


def test_a_run_of_the_baseline_alone_says_so(data):
    X, y = data
    report = sb.evaluate(X, y, generator=SMOTE(), methods=["baseline"], **SMALL)
    assert report.headline == (
        "On data with LogisticRegression, only the baseline ran: no method is compared with it."
    )


def test_a_run_without_augmentation_names_its_best_fix(data):
    from synthbalance.pipelines.report.build import find_comparison

    X, y = data
    methods = ["baseline", "class_weight", "threshold"]
    report = sb.evaluate(X, y, generator=SMOTE(), methods=methods, **SMALL)
    labels = {"class_weight": "balanced class weights", "threshold": "tuning the threshold"}
    best = max(
        labels, key=lambda m: find_comparison(report.data, m, "baseline", "f1")["delta_mean"]
    )
    assert report.headline.startswith(
        f"On data with LogisticRegression, no augmentation ran; against the baseline, "
        f"{labels[best]} "
    )
    assert "F1 (" in report.headline and "ROC AUC (" in report.headline


def test_one_categorical_column_by_name():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"ab": rng.integers(0, 3, 300), "a": rng.normal(size=300),
                      "b": rng.normal(size=300)})  # fmt: skip
    y = np.r_[np.zeros(270, int), np.ones(30, int)]
    report = sb.evaluate(X, y, generator=SMOTE(), categorical="ab", **SMALL)
    assert report.data["dataset"]["categorical"] == ["ab"]


class _Spy(FunctionSampler):
    """A sampler that records whether it was ever fitted."""

    fitted = False

    def fit_resample(self, X, y):
        _Spy.fitted = True
        return super().fit_resample(X, y)


def _nan(X, y):
    X = X.to_numpy().copy()
    X[3, 1] = np.nan
    return X, y


def _column(values):
    def change(X, y):
        X = X.copy()
        X["x1"] = values(len(X))
        return X, y

    return change


class _NoPredict:
    """A classifier without ``predict``."""

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        return np.full((len(X), 2), 0.5)

    def get_params(self, deep=True):
        return {}


BAD_INPUT = {
    "NaN": (_nan, {}, ValueError, r"NaN or infinite values in feature columns \['x1'\]"),
    "one class": (lambda X, y: (X, np.zeros_like(y)), {}, ValueError, "only one class"),
    "continuous target": (lambda X, y: (X, np.linspace(0.1, 0.9, len(y))), {}, ValueError,
                          "a continuous target; synthbalance needs class labels"),
    "3 minority rows": (
        lambda X, y: (X.iloc[:603], y[:603]), {"n_splits": 5}, ValueError,
        "3 minority samples .*fewer than n_splits=5",
    ),
    "not a sampler": (None, {"generator": LogisticRegression()}, TypeError,
                      "generator must be an imbalanced-learn sampler"),
    "no predict_proba": (None, {"classifier": LinearSVC()}, TypeError,
                         "LinearSVC has no predict_proba"),
    "image generator on a table": (None, {"generator": sb.MSGGANSampler()}, ValueError,
                                   "generator 'MSGGANSampler': MSGGANSampler generates images"),
    "ensemble by name": (None, {"ensemble": "brf"}, TypeError,
                         "ensemble must be a scikit-learn classifier .* got the text 'brf'"),
    "categorical index outside X": (
        lambda X, y: (X.to_numpy(), y), {"categorical": [99]}, ValueError,
        r"categorical column indices \[99\] are outside X's 5 columns \(0 to 4\)",
    ),
    "classifier by name": (None, {"classifier": "logreg"}, TypeError,
                           "got the text 'logreg'"),
    "ragged X": (lambda X, y: ([[1.0, 2.0], [3.0]] * (len(y) // 2), y), {}, ValueError,
                 "X must be 2-D .*inhomogeneous"),
    "unknown method": (None, {"methods": ["baseline", "magic"]}, ValueError,
                       r"unknown methods \['magic'\]"),
    "no baseline": (None, {"methods": ["augmented"]}, ValueError, "must include 'baseline'"),
    "bad n_splits": (None, {"n_splits": "abc"}, ValueError, "'n_splits' parameter"),
    "negative rope": (None, {"rope": -1}, ValueError, "'rope' parameter"),
    "no generator seeds": (None, {"generator_seeds": 0}, ValueError, "'generator_seeds'"),
    "a bool for a count": (None, {"n_repeats": True}, ValueError,
                           r"'n_repeats' parameter of Protocol must be an int .* Got True"),
    "two generator arguments": (None, {"generators": {"a": SMOTE()}}, ValueError, "give one of"),
    "ratio below the data's": (None, {"generator": RandomOverSampler(sampling_strategy=0.01)},
                               ValueError, "sampling_strategy=0.01 would add no minority rows"),
    "under-sampler": (None, {"generator": RandomUnderSampler()}, TypeError,
                      "must be an over-sampler, got RandomUnderSampler, which under-samples"),
    "combined sampler": (None, {"generator": SMOTEENN()}, TypeError,
                         "got SMOTEENN, which over-samples and then cleans"),
    "too few rows for the inner split": (
        lambda X, y: (X.iloc[:603], y[:603]), {}, ValueError,
        r"fold 1's training part \(301 rows, 1 of class 1\) is too small for the inner split",
    ),
    "a minority class named twice": (None, {"minority": [1, 1]}, ValueError,
                                     r"minority=\[1, 1\] names 1 more than once"),
    "a generator named as a method": (
        None, {"generator": None, "generators": {"baseline": _Spy()}}, ValueError,
        "'baseline' names a method without augmentation",
    ),
    "two keys, one name": (None, {"generator": None, "generators": {1: _Spy(), "1": _Spy()}},
                           ValueError, "two keys name the generator '1'"),
    "categorical_features of other columns": (
        None, {"generator": SMOTENC(categorical_features=[0])}, ValueError,
        r"categorical_features=\[0\] are the columns \['x0'\], but the data's categorical "
        r"columns are \[\]",
    ),
    "a column of numbers and text": (_column(lambda n: [1, "a"] * (n // 2) + [1] * (n % 2)), {},
                                     ValueError, r"column 'x1' mixes value types \(int, str\)"),
    "a column of dates": (_column(lambda n: pd.date_range("2026-01-01", periods=n)), {},
                          ValueError, "column 'x1' holds dates or durations"),
    "a column of date objects": (
        _column(lambda n: [datetime.date(2026, 1, 1) + datetime.timedelta(i) for i in range(n)]),
        {}, ValueError, r"column 'x1' holds dates or durations \(object\)",
    ),
    "labels of two types": (
        lambda X, y: (X, np.array(["one" if c else 0 for c in y], dtype=object)), {},
        ValueError, r"the target mixes label types \(int, str\)",
    ),
    "sparse X": (lambda X, y: (sparse.csr_matrix(X.to_numpy()), y), {}, ValueError,
                 "X is a sparse csr_matrix; .* pass X.toarray()"),
    "classifier without predict": (None, {"classifier": _NoPredict()}, TypeError,
                                   "_NoPredict has no predict:"),
    "image_shape not the dataset's": (
        None, {"image_shape": (1, 1, 5), "generator": sb.CVAESampler(image_shape=(1, 5, 1))},
        ValueError, r"image_shape=\(1, 5, 1\) is not the dataset's \(1, 1, 5\)",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_INPUT, ids=list(BAD_INPUT))
def test_bad_input_is_refused_before_any_fold_runs(data, case, tmp_path, monkeypatch):
    change, arguments, error, message = BAD_INPUT[case]
    X, y = change(*data) if change else data
    arguments = {"generator": _Spy(), "n_splits": 2, "n_repeats": 1, **arguments}
    monkeypatch.chdir(tmp_path)
    _Spy.fitted = False
    with pytest.raises(error, match=message):
        sb.evaluate(X, y, **arguments)
    assert not _Spy.fitted and not os.listdir(tmp_path)


def test_compare_reads_run_directories(data, tmp_path):
    X, y = data
    for name, sampler in {"smote": SMOTE(), "ros": RandomOverSampler()}.items():
        sb.evaluate(X, y, generator=sampler, classifier=logreg(), **SMALL).save(tmp_path / name)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "report.json").write_text('{"schema": "synthbalance/rep')
    comparison = sb.compare(tmp_path)
    assert len(comparison) == 2
    assert len(comparison.problems) == 1 and "broken" in comparison.problems[0]
    assert "not valid JSON" in comparison.problems[0]


def test_the_smallest_ratio_a_refusal_names_is_one_imblearn_takes():
    from synthbalance.pipelines.estimators import check_fit_labels

    labels = [np.r_[np.zeros(214, int), np.ones(128, int)],  # 0.598: rounds down to it
              np.r_[np.zeros(286, int), np.ones(170, int)]]  # fmt: skip
    with pytest.raises(ValueError, match=r"give a ratio from 0\.603 to 1\.0"):
        check_fit_labels(RandomOverSampler(sampling_strategy=0.598), labels)
    check_fit_labels(RandomOverSampler(sampling_strategy=0.603), labels)
    for y in labels:  # and imblearn itself adds rows to every part
        _, y_res = RandomOverSampler(sampling_strategy=0.603).fit_resample(np.zeros((len(y), 1)), y)
        assert len(y_res) > len(y)
