"""Open set in the evaluation: dataset.unknown, the open_set section of the reports, errors."""

import json
import re

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression

import synthbalance as sb
from synthbalance.pipelines import experiment
from synthbalance.pipelines.app import run
from synthbalance.pipelines.openset import OPEN_SET_METRICS, OpenSetCheck, with_unknown
from synthbalance.pipelines.report import check_report
from synthbalance.pipelines.report.markdown import render_markdown

LIGHT = {"scores": ["msp", "max_logit", "mahalanobis", "other_class"], "outliers": ["smote"]}


class KnownOnly(LogisticRegression):
    """Logistic regression that refuses to train on an unknown class ("e" or "f")."""

    def fit(self, X, y, sample_weight=None):
        assert not np.isin(y, ["e", "f"]).any(), "an unknown class reached a training part"
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.fixture(scope="module")
def data():
    centers = [[0, 0], [5, 0], [0, 5], [5, 5], [2.5, 2.5], [12, 12]]
    X, y = make_blobs(n_samples=[200, 80, 80, 80, 60, 60], centers=centers, random_state=0)
    return X, np.array(list("abcdef"), dtype=object)[y]  # e between the classes, f far


@pytest.fixture(scope="module")
def report(data):
    X, y = data
    return sb.evaluate(
        X, y, generator=_smote(), classifier=KnownOnly(max_iter=500),
        methods=["baseline", "augmented"], n_splits=3, n_repeats=1, quality=False,
        minority=["b", "c", "d"], base="a", unknown=["e", "f"], open_set=LIGHT,
    )  # fmt: skip


def _smote():
    return SMOTE()


def test_unknown_classes_stay_out_of_training_and_are_scored(report):
    open_set = check_report(report.data)["open_set"]
    methods = ["msp", "max_logit", "mahalanobis", "other_class+smote"]
    assert list(open_set["summary"]) == methods
    assert len(open_set["folds"]) == 3 * len(methods)
    assert open_set["unknown"] == ["e", "f"] and report.data["dataset"]["unknown"] == ["e", "f"]
    for stats in open_set["summary"].values():
        assert set(stats) == set(OPEN_SET_METRICS)
        for stat in stats.values():
            assert 0 <= stat["mean"] <= 1 and stat["ci_low"] <= stat["mean"] <= stat["ci_high"]
    record = open_set["folds"][0]
    assert record["n_test_unknown"] == 40  # a third of the 120 unknown rows
    assert set(record["metrics_by_unknown"]) == {"e", "f"}
    # the far cluster is easier to reject than the one between the classes
    by_unknown = open_set["summary_by_unknown"]
    assert by_unknown["f"]["mahalanobis"]["auroc"]["mean"] > 0.99
    assert by_unknown["f"]["mahalanobis"]["auroc"]["mean"] > by_unknown["e"]["msp"]["auroc"]["mean"]
    compared = {(c["method"], c["metric"]) for c in open_set["comparisons"]}
    assert compared == {(m, metric) for m in methods[1:] for metric in ("auroc", "fpr95")}
    assert all(c["versus"] == "msp" for c in open_set["comparisons"])


def test_the_markdown_has_the_open_set_section(report):
    text = render_markdown(report.data)
    assert "## Open set" in text and "other_class+smote" in text and "FPR@95TPR" in text
    assert "Each unknown class alone" in text


def test_the_other_metrics_only_see_known_rows(report):
    # the augmentation methods' records are scored on known classes only
    assert {r["method"] for r in report.data["folds"]} == {"baseline", "augmented"}
    assert all(0 <= r["metrics"]["roc_auc"] <= 1 for r in report.data["folds"])


def test_fpr_comparison_reads_as_a_reduction():
    from synthbalance.pipelines.report.build import open_set_report

    records = []
    for fold in range(4):
        for method, fpr in (("msp", 0.5 + 0.01 * fold), ("mahalanobis", 0.2 - 0.01 * fold)):
            metrics = dict.fromkeys(OPEN_SET_METRICS, 0.9)
            metrics["fpr95"] = fpr
            records.append({"repeat": 0, "fold": fold, "method": method, "n_train": 80,
                            "n_test": 20, "metrics": metrics})  # fmt: skip
    section = open_set_report(records, {"rope": 0.01}, [9])
    (fpr,) = [c for c in section["comparisons"] if c["metric"] == "fpr95"]
    assert fpr["delta_mean"] < 0 and fpr["ci_high"] < 0 and fpr["verdict"] == "improves"


@pytest.mark.parametrize(
    "unknown, message",
    [
        (["z"], r"names classes \['z'\] that do not exist; its classes are 'a', 'b', .*'f'$"),
        (list("abcdef"), "at least two classes must stay known"),
        (list("abcde"), "at least two classes must stay known"),
        (["a"], "both unknown and a minority or the base class"),
        (["b", "c"], "both unknown and a minority or the base class"),
    ],
)
def test_bad_unknown_classes_are_one_line_errors(data, unknown, message):
    X, y = data
    dataset = sb.Dataset.from_data(X, y, minority=["b", "c"], base="a")
    with pytest.raises(sb.DataError, match=message) as error:
        with_unknown(dataset, unknown)
    assert "\n" not in str(error.value)


def test_unknown_minority_classes_leave_the_list(data):
    X, y = data
    dataset = with_unknown(sb.Dataset.from_data(X, y, base="a"), ["e", "f"])
    assert sorted(dataset.minority) == ["b", "c", "d"]
    assert sorted(dataset.known_classes) == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"coverage": 1.5}, "'coverage' parameter"),
        ({"coverage": 0.0}, "'coverage' parameter"),
        ({"scores": ["energy"]}, "must include 'msp'"),
        ({"scores": ["msp", "odin"]}, "must include 'msp'"),
        ({"outliers": []}, r"^open_set.outliers is empty, but open_set.scores \['other_class', "
                           r"'detector'\] are trained on outlier rows"),
        ({"outliers": ["d1/o.csv", "d2/o.csv"]}, r"^open_set.outliers \['d1/o.csv', 'd2/o.csv'\] "
                                                 r"would all name methods '<score>\+o.csv'"),
        ({"outliers": ["smote", "cvae", "smote"]}, r"\['smote', 'smote'\] would all name"),
        ({"n_neighbors": True}, r"'n_neighbors' parameter of OpenSetCheck must be an int .* "
                                r"Got True"),
        ({"temperature": True}, r"'temperature' parameter of OpenSetCheck .* Got True"),
    ],
)  # fmt: skip
def test_bad_open_set_settings(settings, message):
    with pytest.raises(ValueError, match=message):
        OpenSetCheck(**settings)


def test_an_unknown_open_set_setting_is_named_with_the_settings_there(data):
    with pytest.raises(TypeError, match=r"^open_set has no setting \['foo'\]; its settings are "
                       "scores, outliers, coverage, validation_fraction, temperature, "
                       "n_neighbors$"):  # fmt: skip
        sb.evaluate(*data, generator=SMOTE(), open_set={"foo": 1})


def test_untrained_scores_need_no_outliers():
    assert OpenSetCheck(scores=["msp", "knn"], outliers=[]).methods() == {
        "msp": ("msp", None), "knn": ("knn", None)
    }  # fmt: skip


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"validation_fraction": 0.995}, r"validation_fraction=0.995 splits \d+ known rows into "
                                         r"\d+ to fit and \d+ to choose the threshold"),
        ({"scores": ["msp", "knn"], "n_neighbors": 10**5}, "n_neighbors=100000 needs at least"),
    ],
)  # fmt: skip
def test_training_parts_too_small_for_the_open_set_are_refused_before_any_fold(
    data, settings, message, monkeypatch
):
    X, y = data
    monkeypatch.setattr(experiment, "run_folds", _no_fold)
    with pytest.raises(
        sb.DataError, match="open_set, on a training part of the folds: .*" + message
    ):
        sb.evaluate(X, y, generator=_smote(), methods=["baseline"], base="a", unknown=["f"],
                    open_set=settings)  # fmt: skip


def test_an_unknown_class_with_fewer_rows_than_folds_is_refused_before_any_fold(data, monkeypatch):
    X, y = data
    keep = np.r_[np.flatnonzero(y != "f"), np.flatnonzero(y == "f")[:2]]
    monkeypatch.setattr(experiment, "run_folds", _no_fold)
    with pytest.raises(
        sb.DataError, match=r"2 row\(s\) of unknown class 'f', fewer than n_splits=3: a test "
    ) as error:
        sb.evaluate(X[keep], y[keep], generator=_smote(), methods=["baseline"], base="a",
                    unknown=["e", "f"], n_splits=3, open_set={"scores": ["msp"]})  # fmt: skip
    assert "\n" not in str(error.value)


def _no_fold(*args, **kwargs):
    raise AssertionError("a fold ran before the mistake was found")


def test_logit_scores_need_logits_before_any_fold(data):
    from sklearn.neighbors import KNeighborsClassifier

    X, y = data
    with pytest.raises(ValueError, match="need logits: classifier KNeighborsClassifier"):
        sb.evaluate(X, y, generator=_smote(), classifier=KNeighborsClassifier(),
                    methods=["baseline"], base="a", unknown=["f"])  # fmt: skip


def test_outliers_from_a_users_file(data, tmp_path):
    X, y = data
    path = tmp_path / "outliers.csv"
    rows = np.random.RandomState(0).uniform(-5, 15, size=(100, 2))
    np.savetxt(path, rows, delimiter=",", header="x0,x1", comments="")
    report = sb.evaluate(
        X, y, generator=_smote(), classifier=LogisticRegression(), methods=["baseline"],
        n_splits=2, n_repeats=1, quality=False, base="a", unknown=["f"],
        open_set={"scores": ["msp", "detector"], "outliers": [str(path)]},
    )  # fmt: skip
    records = report.data["open_set"]["folds"]
    assert {r["method"] for r in records} == {"msp", "detector+outliers.csv"}
    assert all(r["n_outliers"] == 100 for r in records if r["method"] != "msp")
    with pytest.raises(sb.DataError, match="no such outlier file"):
        sb.evaluate(X, y, generator=_smote(), classifier=LogisticRegression(), base="a",
                    unknown=["f"], open_set={"outliers": [str(tmp_path / "none.csv")]})  # fmt: skip


def _write(path, content):
    if path.suffix == ".npy" and not isinstance(content, str):
        np.save(path, content)
    else:
        path.write_text(content)
    return path


BAD_OUTLIERS = {
    "wide.npy": (np.zeros((2, 4)), r"an array of shape \(2, 4\); outliers must be rows of the "
                 r"data's 2 features, shape \(n, 2\)"),
    "odd.npy": (np.zeros(21), r"an array of shape \(21,\)"),
    "text.npy": (np.array(["a", "b"] * 3).reshape(3, 2), "outliers must be numbers"),
    "broken.npy": ("not an array", "cannot be read as a .npy array"),
    "nan.npy": (np.array([[0.0, np.nan], [1.0, 1.0]]), r"1 outlier row\(s\) hold NaN"),
    "nan.csv": ("x0,x1\n1,2\n3,\n", r"1 outlier row\(s\) hold NaN or infinite values"),
    "text.csv": ("x0,x1\n1,2\n3,abc\n", r"outlier columns \['x1'\] are not numbers"),
    "empty.csv": ("", "cannot be read as CSV"),
    "header.csv": ("x0,x1\n", "no outlier rows"),
}  # fmt: skip


@pytest.mark.parametrize("name", BAD_OUTLIERS)
def test_bad_outlier_files_are_refused_naming_them_before_any_fold(
    data, tmp_path, monkeypatch, name
):
    X, y = data
    content, message = BAD_OUTLIERS[name]
    path = _write(tmp_path / name, content)
    monkeypatch.setattr(experiment, "run_folds", _no_fold)
    with pytest.raises(sb.DataError, match=f"^{re.escape(str(path))}: {message}") as error:
        sb.evaluate(X, y, generator=_smote(), methods=["baseline"], base="a", unknown=["f"],
                    open_set={"scores": ["msp", "detector"], "outliers": [str(path)]})  # fmt: skip
    assert "\n" not in str(error.value)


def test_cli_run_writes_the_open_set_section(make_config, tmp_path):
    cfg = make_config(
        "dataset=seed_multiclass", "generator=smote", "+dataset.unknown=[3]",
        "evaluation.methods=[baseline,augmented]", "evaluation.quality.enabled=false",
        "evaluation.open_set.scores=[msp,energy,mahalanobis,detector]",
        "evaluation.open_set.outliers=[smote]",
    )  # fmt: skip
    run(cfg)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["dataset"]["unknown"] == [3]
    assert list(report["open_set"]["summary"]) == ["msp", "energy", "mahalanobis", "detector+smote"]
    assert report["protocol"]["open_set"]["coverage"] == 0.95
    assert "## Open set" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize(
    "override, message",
    [
        ("+dataset.unknown=[9]", "names classes"),
        ("+dataset.unknown=[0,1,2,3]", "at least two classes must stay known"),
        ("evaluation.open_set.coverage=1.2", "evaluation.open_set.coverage must be a float"),
    ],
)
def test_cli_bad_input_writes_nothing(make_config, tmp_path, override, message):
    cfg = make_config("dataset=seed_multiclass", "generator=smote", override)
    with pytest.raises(ValueError, match=message):
        run(cfg)
    assert not any(tmp_path.iterdir())


def test_the_shared_classifier_is_the_known_rows_one_whatever_the_order(data):
    X, y = data
    msp = {}
    for scores in (["other_class", "msp", "knn"], ["msp", "other_class", "knn"]):
        report = sb.evaluate(
            X, y, generator=_smote(), classifier=LogisticRegression(max_iter=500),
            methods=["baseline"], n_splits=2, n_repeats=1, quality=False, base="a",
            unknown=["e", "f"], open_set={"scores": scores, "outliers": ["smote"]},
        )  # fmt: skip
        folds = report.data["open_set"]["folds"]
        msp[scores[0]] = [(r["method"], r["threshold"], r["metrics"]) for r in folds
                          if r["score"] != "other_class"]  # fmt: skip
    assert msp["other_class"] == msp["msp"]
