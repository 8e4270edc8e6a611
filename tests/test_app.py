"""End to end: the real configs, shrunk, through run() and the console scripts."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthbalance.pipelines.app import run
from synthbalance.pipelines.datasets import seed_case
from synthbalance.pipelines.methods import METHODS
from synthbalance.pipelines.metrics import METRICS, sign
from synthbalance.pipelines.report import SCHEMA
from synthbalance.pipelines.report.build import paired_deltas
from synthbalance.pipelines.stats import verdict

from .conftest import SMALL_DATA, SMALL_EVALUATION

BIN = Path(sys.executable).parent


def cli(name, *args, cwd):
    return subprocess.run(
        [str(BIN / name), *args], cwd=cwd, capture_output=True, text=True, timeout=900
    )


def strip_timings(report):
    report = json.loads(json.dumps(report))
    for record in report["folds"]:
        record.pop("seconds")
    return report


def test_default_run_writes_a_complete_report(make_config, tmp_path):
    report = run(make_config())
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk["schema"] == SCHEMA
    assert set(on_disk) >= {
        "dataset", "generator", "classifier", "protocol", "folds", "summary", "comparisons",
        "config",
    }  # fmt: skip
    assert on_disk["generator"]["name"] == "cvae"
    assert on_disk["dataset"]["classes"] == {"0": 600, "1": 60}
    assert len(on_disk["folds"]) == 2 * len(METHODS)  # folds x methods
    assert {r["method"] for r in on_disk["folds"]} == set(METHODS)
    assert {c["metric"] for c in on_disk["comparisons"]} == set(report["summary"]["baseline"])
    rope = on_disk["protocol"]["rope"]
    for c in on_disk["comparisons"]:
        # each verdict follows from its interval, the interval from the paired fold deltas
        assert c["verdict"] == verdict(c["ci_low"], c["ci_high"], rope, sign(c["metric"]))
        deltas = paired_deltas(on_disk["folds"], c["method"], c["versus"], c["metric"])
        assert c["delta_mean"] == pytest.approx(deltas.mean())
        assert c["ci_low"] < c["delta_mean"] < c["ci_high"] or np.all(deltas == deltas[0])
        assert c["p_better"] + c["p_rope"] + c["p_worse"] == pytest.approx(1)
    markdown = (tmp_path / "report.md").read_text()
    opening = markdown.splitlines()[3:5]  # the answer, after the title and the question
    assert opening[0].startswith("- **F1: ") and opening[1].startswith("- **ROC AUC: ")
    assert (tmp_path / "deltas.png").stat().st_size > 0
    assert 'id="diagnosis"' in (tmp_path / "report.html").read_text()


def test_same_config_same_report(make_config, tmp_path):
    first = run(make_config("generator.sampling=posterior"))
    second = run(make_config("generator.sampling=posterior"))
    assert strip_timings(first) == strip_timings(second)


def test_no_augmentation_is_equivalent(make_config):
    report = run(make_config("generator=none", "evaluation.n_splits=3"))
    against_baseline = [
        c for c in report["comparisons"] if c["method"] == "augmented" and c["versus"] == "baseline"
    ]
    assert len(against_baseline) == len(METRICS)
    assert {c["verdict"] for c in against_baseline} == {"equivalent"}


def test_methods_and_generator_seeds_are_configurable(make_config, tmp_path):
    report = run(
        make_config(
            "generator=smote", "evaluation.methods=[baseline,augmented]",
            "evaluation.generator_seeds=2",
        )
    )  # fmt: skip
    assert set(report["summary"]) == {"baseline", "augmented"}
    assert "generator_std" in report["summary"]["augmented"]["f1"]
    assert report["protocol"]["generator_seeds"] == 2
    spread = f"(gen. \u00b1 {report['summary']['augmented']['f1']['generator_std']:.3f})"
    for page in ("report.md", "report.html"):  # the spread between seeds, and what it is
        text = (tmp_path / page).read_text(encoding="utf-8")
        assert spread in text and "average 2 generator fits per fold" in text, page


@pytest.mark.parametrize("classifier", ["logreg", "rf", "hgb", "mlp"])
def test_every_classifier_runs(make_config, classifier):
    extra = ["classifier.n_estimators=10"] if classifier == "rf" else []
    extra += ["classifier.max_iter=20"] if classifier in {"hgb", "mlp"} else []
    report = run(make_config("generator=smote", f"classifier={classifier}", *extra))
    assert report["classifier"]["name"] == classifier


@pytest.mark.parametrize("generator", ["ros", "smote", "borderline_smote", "adasyn", "vae", "ddpm"])
def test_every_generator_runs(make_config, generator):
    report = run(make_config(f"generator={generator}"))
    assert report["generator"]["name"] == generator
    assert all(r["n_synthetic"] > 0 for r in report["folds"] if r["method"] == "augmented")


def test_keel_and_breast_cancer_run(make_config, tmp_path):
    for dataset in (["dataset=keel", "dataset.name=ecoli1"], ["dataset=breast_cancer"]):
        report = run(
            make_config(
                *dataset, "generator=smote", f"output_dir={tmp_path / dataset[-1].split('=')[1]}"
            )
        )
        assert report["dataset"]["minority"] in {"positive", "malignant"}


@pytest.mark.slow  # slow: four runs at the generators' default training length (~80 s on 2 cores)
def test_sweep_then_compare(tmp_path):
    # Default generator settings: on 660 rows even 300 VAE epochs take a second.
    overrides = [*SMALL_DATA, *SMALL_EVALUATION, "hydra.sweep.dir=sweep"]
    result = cli("synthbalance", "-m", "generator=none,smote,vae,cvae", *overrides, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "sweep").rglob("report.json"))) == 4

    result = cli("synthbalance-compare", "sweep", "--out", "cmp", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    assert sorted(table["generator"]) == ["cvae", "none", "smote", "vae"]
    assert table.loc[table.generator == "none", "f1_verdict"].item() == "equivalent"
    assert table["f1_delta_mean"].is_monotonic_decreasing  # best first
    assert "| seed_case | logreg |" in (tmp_path / "cmp" / "comparison.md").read_text()


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npz"])
def test_export_writes_balanced_data_and_manifest(tmp_path, suffix):
    out = tmp_path / f"balanced{suffix}"
    result = cli(
        "synthbalance-export", "generator=smote", *SMALL_DATA, f"export.path={out}", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "balanced.manifest.json").read_text())
    assert manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert manifest["class_counts_before"] == {"0": 600, "1": 60}
    assert manifest["class_counts_after"] == {"0": 600, "1": 600}
    assert manifest["n_synthetic"] == 540 and manifest["generator"]["name"] == "smote"
    if suffix == ".npz":
        arrays = np.load(out)
        is_synthetic, y = arrays["is_synthetic"], arrays["y"]
    else:
        frame = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
        is_synthetic, y = frame["is_synthetic"].to_numpy(), frame["target"].to_numpy()
    assert is_synthetic.sum() == 540 and not is_synthetic[:660].any()
    assert (y[is_synthetic] == 1).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["balanced.manifest.json", out.name]
    )


def test_export_real_rows_are_unchanged(tmp_path):
    out = tmp_path / "b.parquet"
    result = cli(
        "synthbalance-export", "generator=ros", *SMALL_DATA, f"export.path={out}", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    overrides = dict(o.removeprefix("dataset.").split("=") for o in SMALL_DATA)
    original = seed_case(**{k: int(v) for k, v in overrides.items()})
    frame = pd.read_parquet(out)
    pd.testing.assert_frame_equal(frame.iloc[:660][original.X.columns], original.X)


def _bad_file(tmp_path, kind):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    frame["y"] = [0] * 36 + [1] * 4 if kind == "few" else [0] * 30 + [1] * 10
    if kind == "nan":
        frame.loc[3, "b"] = np.nan
    if kind == "one_class":
        frame["y"] = 0
    if kind == "categorical":
        frame[["a", "b", "c"]] = rng.choice(["u", "v", "w"], size=(40, 3))
    path = tmp_path / f"{kind}.csv"
    frame.to_csv(path, index=False)
    return str(path)


BOTH = ("synthbalance", "synthbalance-export")
BAD_INPUTS = {
    "unknown KEEL name": (["dataset=keel", "dataset.name=nope"], "unknown KEEL dataset 'nope'"),
    "missing file": (["dataset=file", "dataset.path=nope.csv", "dataset.target=y"], "no such file"),
    "missing target": (
        ["dataset=file", "dataset.path={ok}", "dataset.target=t"],
        "no target column",
    ),
    "one class": (
        ["dataset=file", "dataset.path={one_class}", "dataset.target=y"],
        "only one class",
    ),
    "NaN": (["dataset=file", "dataset.path={nan}", "dataset.target=y"], "NaN"),
    "continuous target": (
        ["dataset=file", "dataset.path={ok}", "dataset.target=c"],
        "a continuous target; synthbalance needs class labels",
    ),
    "bad parameter": (["generator.steps=0"], "generator.steps must be an int in the range"),
    "image generator on a table": (
        ["generator=stylegan"],
        "generator 'stylegan': StyleGANSampler generates images",
    ),
    "unknown categorical column": (
        ["dataset=file", "dataset.path={ok}", "dataset.target=y", "dataset.categorical=[zz]"],
        "declared categorical columns ['zz'] are not in the data",
    ),
    "unknown class in sampling_strategy": (
        ["generator=smote", "generator.sampling_strategy={{7:100}}"],
        "sampling_strategy names classes [7]",
    ),
    "categorical data, numeric-only generator": (
        ["dataset=keel", "dataset.name=abalone19", "generator=borderline_smote"],
        "cannot handle the categorical columns ['x0']",
    ),
    "all-categorical data, SMOTENC": (
        ["dataset=file", "dataset.path={categorical}", "dataset.target=y", "generator=smotenc"],
        "has only categorical features",
    ),
}
CASES = [(case, script) for case in BAD_INPUTS for script in BOTH]
# Cross-validation needs a minority sample in every test part; an export does not.
BAD_INPUTS["few minority"] = (
    ["dataset=file", "dataset.path={few}", "dataset.target=y"],
    "fewer than n_splits",
)
CASES.append(("few minority", "synthbalance"))


@pytest.mark.parametrize("case, script", CASES)
def test_bad_input_one_line_error_no_output(tmp_path, case, script):
    overrides, message = BAD_INPUTS[case]
    kinds = ("ok", "nan", "one_class", "few", "categorical")
    paths = {kind: _bad_file(tmp_path, kind) for kind in kinds}
    overrides = [o.format(**paths) for o in overrides]
    extra = (
        ["export.path=out.csv"]
        if script == "synthbalance-export"
        else ["evaluation.progress=false"]
    )
    result = cli(script, *overrides, *extra, "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.rglob("report.json")) and not list(tmp_path.rglob("out*"))
    assert not list(tmp_path.rglob("config.sha256"))


MODULES_AFTER_A_DATA_ERROR = """
import sys
from hydra import compose, initialize_config_module
from synthbalance.pipelines import app, export
from synthbalance.pipelines.dataset import DataError

data = ["dataset=file", "dataset.path={path}", "dataset.target=y"]
with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
    runs = (("config", lambda cfg: app.run(cfg, threads=1), ["output_dir=run"]),
            ("export", export.export, ["export.path=out.csv"]))
    for config, job, more in runs:
        try:
            job(compose(config, [*data, *more]))
        except DataError as error:
            print(config, "torch" in sys.modules, "synthbalance.generators" in sys.modules, error)
"""


def test_a_data_mistake_is_refused_before_torch_loads(tmp_path):
    """The data are checked before torch and the generators load (seconds of imports): a
    user's one-class file is refused in a second or two, by both commands' jobs."""
    path = _bad_file(tmp_path, "one_class")
    code = MODULES_AFTER_A_DATA_ERROR.format(path=path)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[:3] for line in lines] == [
        ["config", "False", "False"],
        ["export", "False", "False"],
    ], lines
    assert all("only one class" in line for line in lines)


def test_unknown_generator_lists_the_choices(tmp_path):
    result = cli("synthbalance", "generator=nope", cwd=tmp_path)
    assert result.returncode != 0
    assert "Could not find 'generator/nope'" in result.stderr and "smote" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_without_path_fails_clearly(tmp_path):
    result = cli("synthbalance-export", "generator=smote", cwd=tmp_path)
    assert result.returncode != 0
    assert "export.path is required" in result.stderr


def test_selection_history_reaches_the_report(make_config, tmp_path):
    report = run(make_config("generator.selection=coverage", "generator.eval_every=2"))
    records = [r for r in report["folds"] if r["method"] == "augmented"]
    assert all(r["selection"]["metric"] == "coverage" for r in records)
    assert all(len(r["selection"]["history"]) == 2 for r in records)  # 4 steps, every 2nd
    assert (tmp_path / "selection.png").stat().st_size > 0
    assert "## Checkpoint selection" in (tmp_path / "report.md").read_text()
    c2st = [r["quality"]["c2st_auc"] for r in records]
    assert report["quality"]["c2st_auc"]["mean"] == pytest.approx(np.mean(c2st))


@pytest.mark.parametrize(
    "script, first_line, example",
    [("synthbalance", "synthbalance: does augmenting the minority class improve",
      "synthbalance -m generator=none,smote,vae,cvae"),
     ("synthbalance-export", "synthbalance-export: fit a generator on the whole dataset",
      "synthbalance-export generator=smote export.path=balanced.parquet")],
)  # fmt: skip
def test_help_says_what_the_command_does_and_shows_examples(tmp_path, script, first_line,
                                                            example):  # fmt: skip
    result = cli(script, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(first_line)
    assert "\n\n== Configuration groups ==" in result.stdout and example in result.stdout
    assert not os.listdir(tmp_path)
