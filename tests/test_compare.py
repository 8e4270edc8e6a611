"""synthbalance-compare on planted reports with a known answer, and on real runs."""

import json
import re

import numpy as np
import pandas as pd
import pytest

import synthbalance as sb
from synthbalance.pipelines.compare import find_reports, friedman, holm, write_comparison
from synthbalance.pipelines.compare.across import _bayesian_signed_rank
from synthbalance.pipelines.dataset import DataError
from synthbalance.pipelines.metrics import METRICS
from synthbalance.pipelines.report import SCHEMA
from synthbalance.pipelines.stats import verdict


def write_fake_report(
    root, dataset, generator, delta, baseline, amount=None, quality=None, params=None, run=None,
    classifier_params=None, protocol=None, data=None, classifier="logreg",
):  # fmt: skip
    """A report.json whose augmented method beats the baseline by ``delta`` on every metric,
    in ``root/dataset/run`` (default: the generator's name and amount); ``protocol`` and
    ``data`` change its protocol and dataset blocks. Returns its path."""
    params = dict(params or {}) | ({} if amount is None else {"sampling_strategy": amount})
    report = {
        "schema": SCHEMA,
        "dataset": {"name": dataset, **(data or {})},
        "generator": {"name": generator, "params": params},
        "classifier": {"name": classifier, "params": classifier_params or {}},
        "protocol": {"n_splits": 5, "n_repeats": 2, "seed": 0, "rope": 0.01, **(protocol or {})},
        "summary": {
            "baseline": {m: {"mean": baseline, "std": 0.01} for m in METRICS},
            "augmented": {m: {"mean": baseline + delta, "std": 0.01} for m in METRICS},
        },
        "comparisons": [
            {
                "method": "augmented", "versus": "baseline", "metric": m, "delta_mean": delta,
                "ci_low": delta - 0.02, "ci_high": delta + 0.02, "p_value": 0.5,
                "verdict": verdict(delta - 0.02, delta + 0.02, 0.01),
            }
            for m in METRICS
        ],
    }  # fmt: skip
    protocol = report["protocol"]
    report["folds"] = [
        {"repeat": repeat, "fold": fold, "method": method, "n_train": 80, "n_test": 20,
         "n_synthetic": 0, "metrics": {m: report["summary"][method][m]["mean"] for m in METRICS},
         "seconds": {}}
        for repeat in range(protocol["n_repeats"]) for fold in range(protocol["n_splits"])
        for method in report["summary"]
    ]  # fmt: skip
    report["config"] = {}
    if quality is not None:
        report["quality"] = {name: {"mean": value, "std": 0.0} for name, value in quality.items()}
    directory = root / dataset / (run or f"{generator}{'' if amount is None else amount}")
    directory.mkdir(parents=True)
    (directory / "report.json").write_text(json.dumps(report))
    return directory / "report.json"


@pytest.fixture
def planted(tmp_path):
    twin = {"d1": -0.02, "d2": 0.01, "d3": -0.01}
    for dataset, baseline in {"d1": 0.5, "d2": 0.6, "d3": 0.7}.items():
        write_fake_report(tmp_path / "runs", dataset, "winner", 0.10, baseline)
        write_fake_report(tmp_path / "runs", dataset, "loser", -0.10, baseline)
        write_fake_report(tmp_path / "runs", dataset, "twin_a", twin[dataset], baseline)
        write_fake_report(tmp_path / "runs", dataset, "twin_b", twin[dataset], baseline)
    return tmp_path


def test_planted_winner_ranks_first_with_significant_friedman(planted):
    comparison = write_comparison([planted / "runs"], planted / "out")
    table, across = comparison.everything, comparison.across
    result = across[("logreg", "f1")]
    ranks = result["friedman"]["mean_ranks"]
    assert ranks.index[0] == "winner" and ranks["winner"] == 1.0
    assert ranks.index[-1] == "loser"
    assert result["friedman"]["p_value"] < 0.05
    assert (planted / "out" / "cd_logreg_f1.png").stat().st_size > 0
    # best first within each dataset
    assert all(group["generator"].iloc[0] == "winner" for _, group in table.groupby("dataset"))


def test_identical_generators_are_not_reported_as_different(planted):
    comparison = write_comparison([planted / "runs"], planted / "out")
    _, across = comparison.everything, comparison.across
    result = across[("logreg", "f1")]
    assert result["friedman"]["nemenyi"].loc["twin_a", "twin_b"] == pytest.approx(1.0)
    tests = result["tests"].set_index("method")
    assert tests.loc["twin_a", "wilcoxon_p"] == tests.loc["twin_b", "wilcoxon_p"]
    assert not tests.loc["twin_a", "significant"] and not tests.loc["twin_b", "significant"]


def test_compare_writes_tables(planted):
    write_comparison([planted / "runs"], planted / "out")
    runs = pd.read_csv(planted / "out" / "comparison.csv")
    assert len(runs) == 12 and set(runs["generator"]) == {"winner", "loser", "twin_a", "twin_b"}
    generators = pd.read_csv(planted / "out" / "comparison_generators.csv")
    assert set(generators["method"]) == {"winner", "loser", "twin_a", "twin_b"}
    markdown = (planted / "out" / "comparison.md").read_text()
    assert "## Across 3 datasets: F1, logreg" in markdown and "Friedman test" in markdown


def test_sampling_strategy_sweep_gets_a_plot_and_one_method_per_amount(tmp_path):
    for amount, delta in ((0.1, 0.01), (0.5, 0.03), (1.0, -0.02)):
        write_fake_report(tmp_path / "runs", "d1", "smote", delta, 0.5, amount=amount)
    comparison = write_comparison([tmp_path / "runs"], tmp_path / "out")
    table, _ = comparison.everything, comparison.across
    assert sorted(table["method"]) == ["smote@0.1", "smote@0.5", "smote@1"]
    assert (tmp_path / "out" / "amount_logreg.png").stat().st_size > 0


def test_holm_correction():
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(holm([0.5]), [0.5])


def test_friedman_on_identical_methods_is_not_significant():
    matrix = pd.DataFrame({"a": [0.5, 0.6, 0.7], "b": [0.5, 0.6, 0.7], "c": [0.5, 0.6, 0.7]})
    assert friedman(matrix)["p_value"] == 1.0


def test_quality_metrics_are_correlated_with_the_utility_gain(tmp_path):
    # The more a generator's samples fool the C2ST, the more it helps; coverage is noise.
    for i, (delta, c2st) in enumerate([(0.05, 0.55), (0.02, 0.7), (-0.01, 0.8), (-0.05, 0.95)]):
        quality = {"c2st_auc": c2st, "coverage": [0.5, 0.2, 0.6, 0.3][i]}
        write_fake_report(tmp_path / "runs", "d1", f"g{i}", delta, 0.5, quality=quality)
    write_comparison([tmp_path / "runs"], tmp_path / "out")
    markdown = (tmp_path / "out" / "comparison.md").read_text()
    assert "Does generator quality predict the utility gain?" in markdown
    assert "| c2st_auc | 4 | -1.00" in markdown
    assert (tmp_path / "out" / "quality_vs_utility.png").stat().st_size > 0


def test_two_runs_of_one_generator_on_one_dataset_are_refused(planted):
    # the same runs again under another directory: a seed sweep looks like this
    write_fake_report(planted / "again", "d1", "winner", 0.05, 0.5)
    with pytest.raises(DataError, match="two runs of winner on d1 with logreg"):
        write_comparison([planted / "runs", planted / "again"], planted / "out")


def test_hyperparameter_sweep_is_one_method_per_setting_on_every_dataset(tmp_path):
    # vae swept over latent_dim on d1 and d2; d3 ran latent_dim=4 only, and gets the same
    # name; categorical_features differs between datasets only (filled in from each) and
    # names nothing
    runs = {"d1": (4, 8), "d2": (4, 8), "d3": (4,)}
    for i, (dataset, latent_dims) in enumerate(runs.items()):
        write_fake_report(tmp_path / "runs", dataset, "smote", 0.0, 0.5)
        for dim in latent_dims:
            delta = 0.05 if dim == 4 else -0.05
            params = {"latent_dim": dim, "hidden_dims": [64, 64], "categorical_features": [i]}
            write_fake_report(
                tmp_path / "runs", dataset, "vae", delta, 0.5, params=params, run=f"vae{dim}"
            )
    comparison = write_comparison([tmp_path / "runs"], tmp_path / "out")
    table, across = comparison.everything, comparison.across
    methods = table.groupby("dataset")["method"].apply(sorted).to_dict()
    assert methods["d1"] == methods["d2"] == ["smote", "vae(latent_dim=4)", "vae(latent_dim=8)"]
    assert methods["d3"] == ["smote", "vae(latent_dim=4)"]
    tests = across[("logreg", "f1")]["tests"].set_index("method")
    assert tests.loc["vae(latent_dim=4)", "mean_delta"] == pytest.approx(0.05)
    markdown = (tmp_path / "out" / "comparison.md").read_text()
    assert "| d1 | logreg | vae(latent_dim=8) |" in markdown


def test_sweep_over_amounts_and_another_parameter_names_both(tmp_path):
    for amount in (0.5, 1.0):
        for k in (3, 5):
            write_fake_report(
                tmp_path / "runs", "d1", "smote", 0.01, 0.5, amount=amount,
                params={"k_neighbors": k}, run=f"smote{amount}_{k}",
            )  # fmt: skip
    comparison = write_comparison([tmp_path / "runs"], tmp_path / "out")
    table, _ = comparison.everything, comparison.across
    assert sorted(table["method"]) == [
        "smote(k_neighbors=3)@0.5", "smote(k_neighbors=3)@1",
        "smote(k_neighbors=5)@0.5", "smote(k_neighbors=5)@1",
    ]  # fmt: skip
    assert (tmp_path / "out" / "amount_logreg.png").stat().st_size > 0


def test_one_setting_spelled_two_ways_is_one_method(tmp_path):
    # Hydra reads sampling_strategy=1 as an int and =1.0 as a float: the same amount
    write_fake_report(tmp_path / "runs", "d1", "smote", 0.01, 0.5, amount=1, run="a")
    write_fake_report(tmp_path / "runs", "d1", "smote", 0.01, 0.5, amount=0.5, run="b")
    write_fake_report(tmp_path / "runs", "d2", "smote", 0.01, 0.6, amount=1.0, run="a")
    write_fake_report(tmp_path / "runs", "d2", "smote", 0.01, 0.6, amount=0.5, run="b")
    comparison = write_comparison([tmp_path / "runs"], tmp_path / "out")
    table, across = comparison.everything, comparison.across
    assert sorted(set(table["method"])) == ["smote@0.5", "smote@1"]
    assert set(across[("logreg", "f1")]["tests"]["method"]) == {"smote@0.5", "smote@1"}
    # and the same setting twice on one dataset is refused, not split in two
    write_fake_report(tmp_path / "more", "d1", "smote", 0.02, 0.5, amount=1.0, run="c")
    with pytest.raises(DataError, match="two runs of smote@1 on d1"):
        write_comparison([tmp_path / "runs", tmp_path / "more"], tmp_path / "out")


def test_a_parameter_missing_from_older_reports_reads_as_unknown(tmp_path):
    write_fake_report(tmp_path / "runs", "d1", "vae", 0.01, 0.5, params={"latent_dim": 4}, run="a")
    new = {"latent_dim": 8, "selection": "last"}
    write_fake_report(tmp_path / "runs", "d1", "vae", 0.01, 0.5, params=new, run="b")
    comparison = write_comparison([tmp_path / "runs"], tmp_path / "out")
    table, _ = comparison.everything, comparison.across
    assert sorted(table["method"]) == [
        "vae(latent_dim=4, selection=?)", "vae(latent_dim=8, selection=last)",
    ]  # fmt: skip


def test_classifier_sweep_is_one_classifier_per_setting(tmp_path):
    # classifier.C=0.1,1 with two generators on three datasets
    for dataset, baseline in {"d1": 0.5, "d2": 0.6, "d3": 0.7}.items():
        for c in (0.1, 1):
            for generator, delta in (("smote", 0.05), ("vae", -0.05)):
                write_fake_report(
                    tmp_path / "runs", dataset, generator, delta, baseline,
                    classifier_params={"C": c, "max_iter": 1000}, run=f"{generator}_C{c}",
                )  # fmt: skip
    comparison = write_comparison([tmp_path / "runs"], tmp_path / "out")
    table, across = comparison.everything, comparison.across
    assert set(table["classifier"]) == {"logreg(C=0.1)", "logreg(C=1)"}
    assert set(table["method"]) == {"smote", "vae"}
    assert {key for key in across} == {
        (classifier, metric) for classifier in ("logreg(C=0.1)", "logreg(C=1)")
        for metric in ("f1", "roc_auc")
    }  # fmt: skip
    # one figure per classifier setting, the label made safe for a file name
    assert len(list((tmp_path / "out").glob("cd_logreg_C=0.1_*_f1.png"))) == 1
    assert len(list((tmp_path / "out").glob("cd_logreg_C=1_*_f1.png"))) == 1
    assert (
        "## Across 3 datasets: F1, logreg(C=1)" in (tmp_path / "out" / "comparison.md").read_text()
    )


def test_execution_settings_name_nothing_and_scale_off_is_named(tmp_path):
    # device differs on one run only: still one logreg; scale is recorded only when on
    for dataset in ("d1", "d2", "d3"):
        for generator in ("smote", "vae"):
            device = "cuda" if (dataset, generator) == ("d1", "smote") else "auto"
            write_fake_report(
                tmp_path / "runs", dataset, generator, 0.01, 0.5,
                classifier_params={"device": device, "scale": True}, run=generator,
            )  # fmt: skip
        write_fake_report(tmp_path / "runs", dataset, "smote", 0.01, 0.5, run="unscaled")
    comparison = write_comparison([tmp_path / "runs"], tmp_path / "out")
    table, across = comparison.everything, comparison.across
    assert set(table["classifier"]) == {"logreg(scale=True)", "logreg(scale=False)"}
    tests = across[("logreg(scale=True)", "f1")]["tests"]
    assert set(tests["method"]) == {"smote", "vae"}


def test_methods_missing_on_some_datasets_are_named_as_left_out(tmp_path):
    for dataset in ("d1", "d2", "d3"):
        write_fake_report(tmp_path / "runs", dataset, "smote", 0.01, 0.5)
    write_fake_report(tmp_path / "runs", "d1", "vae", 0.02, 0.5)
    comparison = write_comparison([tmp_path / "runs"], tmp_path / "out")
    _, across = comparison.everything, comparison.across
    assert across[("logreg", "f1")]["missing"] == {"vae": ["d2", "d3"]}
    markdown = (tmp_path / "out" / "comparison.md").read_text()
    assert (
        "Left out of these statistics, as they did not run everywhere: vae (no run on d2, d3)"
        in (markdown)
    )


def test_quality_correlations_do_not_pool_classifier_settings(tmp_path):
    # the same four generator fits (same quality) judged by two classifier settings
    for i, (delta, c2st) in enumerate([(0.05, 0.55), (0.02, 0.7), (-0.01, 0.8), (-0.05, 0.95)]):
        for c in (0.1, 1):
            write_fake_report(
                tmp_path / "runs", "d1", f"g{i}", delta, 0.5, quality={"c2st_auc": c2st},
                classifier_params={"C": c}, run=f"g{i}_C{c}",
            )  # fmt: skip
    write_comparison([tmp_path / "runs"], tmp_path / "out")
    markdown = (tmp_path / "out" / "comparison.md").read_text()
    assert markdown.count("| c2st_auc | 4 | -1.00") == 2  # 4 runs each, not 8 pooled
    assert "With logreg(C=0.1): ![quality against utility" in markdown
    assert len(list((tmp_path / "out").glob("quality_vs_utility_logreg_C=*.png"))) == 2


def test_generators_are_ranked_by_sample_quality_over_folds_and_seeds(tmp_path):
    # Three generators on one dataset, 10 folds x 3 seeds: "sharp" always has the lowest
    # C2ST and "blurry" the highest, but "blurry" helps the classifier most.
    rng = np.random.default_rng(0)
    # A C2ST AUC below 0.5 is noise: 0.3 ("odd") is as far from indistinguishable as 0.7.
    for generator, c2st, delta in [("sharp", 0.6, -0.02), ("middling", 0.75, 0.0),
                                   ("blurry", 0.9, 0.05), ("odd", 0.3, 0.01)]:  # fmt: skip
        write_fake_report(tmp_path / "runs", "d1", generator, delta, 0.5)
        path = tmp_path / "runs" / "d1" / generator / "report.json"
        report = json.loads(path.read_text())
        report["folds"] = [
            {"method": "augmented", "repeat": 0, "fold": fold, "metrics": {}, "seconds": {},
             "quality_by_seed": [{"c2st_auc": c2st + rng.normal(0, 0.02), "coverage": 0.5}
                                 for _ in range(3)]}
            for fold in range(10)
        ]  # fmt: skip
        path.write_text(json.dumps(report))
    comparison = write_comparison([tmp_path / "runs"], tmp_path / "out")
    ranks = comparison.quality_ranks["c2st_auc"]
    assert list(ranks["mean_ranks"].index) == ["sharp", "odd", "middling", "blurry"]
    assert ranks["n_blocks"] == 30 and ranks["p_value"] < 0.001
    assert comparison.quality_ranks["coverage"]["p_value"] == 1.0  # all tied
    markdown = (tmp_path / "out" / "comparison.md").read_text()
    assert "## Generators ranked by sample quality" in markdown
    assert "| sharp | 1.00 | 2.50 | -0.020 |" in markdown.replace("  ", " ")
    assert (tmp_path / "out" / "cd_quality_c2st_auc.png").stat().st_size > 0


def test_the_bayesian_signed_rank_gives_the_same_probabilities_every_time():
    deltas = [0.01, 0.02, -0.005, 0.03, 0.0, 0.015, 0.02, -0.01, 0.005, 0.012]
    first = _bayesian_signed_rank(deltas, 0.01)  # a Monte Carlo estimate, seeded
    assert _bayesian_signed_rank(deltas, 0.01) == first
    assert 0 < first["p_better"] < 1 and 0 < first["p_rope"] < 1


def test_find_reports_takes_report_files_and_refuses_other_paths(planted):
    runs = planted / "runs"
    files = [runs / "d1" / "winner" / "report.json", runs / "d2" / "loser" / "report.json"]
    reports, problems = find_reports(files)
    assert [directory for directory, _ in reports] == [str(f.parent.resolve()) for f in files]
    assert problems == []
    (planted / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="notes.txt: not a directory or a report's .json file"):
        find_reports([planted / "notes.txt"])
    with pytest.raises(DataError, match="nope: no such directory"):
        find_reports([planted / "nope"])


def test_a_failing_save_adds_none_of_its_files(planted, monkeypatch):
    out = planted / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("synthbalance.pipelines.compare.core.render_comparison", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_comparison([planted / "runs"], out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]  # figures and tables came first
    monkeypatch.undo()
    write_comparison([planted / "runs"], out)
    written = {p.name for p in out.iterdir()}
    assert {"comparison.md", "comparison.html", "comparison.csv", "cd_logreg_f1.png"} <= written
    assert not [name for name in written if name.startswith(".")]


def test_a_report_being_saved_is_not_compared(planted):
    staged = planted / "runs" / "d1" / "winner" / ".staged.x1y2"
    staged.mkdir()
    (staged / "report.json").write_text("{")  # half a report, still being saved
    reports, problems = find_reports([planted / "runs"])
    assert len(reports) == 12 and problems == []


def test_runs_on_one_dataset_with_other_folds_are_not_pooled_across_datasets(tmp_path):
    # ros on d1 ran with seed 1: its row of the score matrix would hold smote's baseline
    # (seed 0's folds), judging ros against folds it never ran on
    data = {"n_samples": 600}
    for dataset in ("d1", "d2"):
        write_fake_report(tmp_path / "runs", dataset, "smote", 0.01, 0.5, data=data)
        write_fake_report(tmp_path / "runs", dataset, "ros", 0.02, 0.4, data=data,
                          protocol={"seed": 1 if dataset == "d1" else 0})  # fmt: skip
    runs = tmp_path / "runs"
    with pytest.raises(DataError, match=(
        r"take d1's plain methods from one run with logreg and pair every method on its "
        r"folds, but these runs have different folds \(n_splits=5, seed=1, n_repeats=2, 600 "
        rf"rows in {runs / 'd1' / 'ros'}; n_splits=5, seed=0, n_repeats=2, 600 rows in "
        rf"{runs / 'd1' / 'smote'}\)"
    )):  # fmt: skip
        write_comparison([runs], tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # other repeats are other folds too: the means are over all of a run's folds
    (runs / "d1" / "ros" / "report.json").unlink()
    (runs / "d1" / "ros").rmdir()
    write_fake_report(runs, "d1", "ros", 0.02, 0.4, data=data, protocol={"n_repeats": 3})
    with pytest.raises(DataError, match="different folds"):
        write_comparison([runs], tmp_path / "out")
    # one dataset: each run against its own baseline, no statistics across datasets
    assert len(write_comparison([runs / "d1"], tmp_path / "out")) == 2


def test_runs_of_one_dataset_name_with_other_data_are_refused(tmp_path):
    # dataset=breast_cancer dataset.imbalance_ratio=10 keeps the name, not the rows
    write_fake_report(
        tmp_path / "runs",
        "bc",
        "smote",
        0.01,
        0.5,
        data={"n_samples": 569, "classes": {"benign": 357, "malignant": 212}},
    )
    write_fake_report(
        tmp_path / "runs",
        "bc",
        "ros",
        0.01,
        0.5,
        run="ros_ir10",
        data={"n_samples": 393, "classes": {"benign": 357, "malignant": 36}},
    )
    with pytest.raises(DataError, match=(
        r"two runs on dataset 'bc' hold different data \(393 rows \{'benign': 357, "
        r"'malignant': 36\} in .*ros_ir10; 569 rows \{'benign': 357, 'malignant': 212\} in "
        r".*smote\): compare them in separate calls"
    )):  # fmt: skip
        write_comparison([tmp_path / "runs"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_every_run_is_in_reports_and_frames_with_several_classifiers_or_datasets(tmp_path):
    runs = tmp_path / "runs"
    write_fake_report(runs, "d1", "smote", 0.01, 0.5, run="smote_logreg")
    write_fake_report(runs, "d1", "smote", 0.02, 0.6, run="smote_rf", classifier="rf")
    comparison = sb.compare(runs)
    assert len(comparison) == 2
    assert list(comparison.reports) == [("logreg", "smote"), ("rf", "smote")]
    assert comparison["rf", "smote"].data["classifier"]["name"] == "rf"
    for frame in (comparison.verdicts, comparison.scores, comparison.folds):
        assert set(frame["run"]) == {("logreg", "smote"), ("rf", "smote")}
    assert len(comparison.folds) == 2 * 2 * 10  # runs x methods x folds
    # one classifier over several datasets: the dataset goes in front
    write_fake_report(runs, "d2", "smote", 0.01, 0.5, run="smote_logreg")
    comparison = sb.compare(runs / "d1" / "smote_logreg", runs / "d2")
    assert list(comparison.reports) == [("d1", "smote"), ("d2", "smote")]
    # runs alike in all of these (a seed sweep on one dataset) add their run
    write_fake_report(tmp_path / "seed1", "d1", "smote", 0.03, 0.5, protocol={"seed": 1})
    comparison = sb.compare(runs / "d1" / "smote_logreg", tmp_path / "seed1")
    assert [key[0] for key in comparison.reports] == ["smote", "smote"] and len(
        set(comparison.reports)
    ) == 2


def test_best_refuses_runs_of_several_classifiers(tmp_path):
    # rf's smote ranked against logreg's baseline and plain methods
    write_fake_report(tmp_path / "runs", "d1", "ros", 0.01, 0.5)
    write_fake_report(tmp_path / "runs", "d1", "smote", 0.05, 0.7, classifier="rf")
    comparison = sb.compare(tmp_path / "runs")
    with pytest.raises(ValueError, match=(
        r"best\(\) compares the methods of one classifier; these runs use \['logreg', 'rf'\]"
    )):  # fmt: skip
        comparison.best("f1")
    assert sb.compare(tmp_path / "runs" / "d1" / "ros").best("f1")["option"] == "ros"


def _without(block, key):
    del block[key]


DAMAGED = {
    "summary.baseline has no 'f1'": lambda r: _without(r["summary"]["baseline"], "f1"),
    "comparisons[0] has no 'verdict'": lambda r: _without(r["comparisons"][0], "verdict"),
    'dataset is "d1", not an object': lambda r: r.update(dataset="d1"),
    "generator has no 'name'": lambda r: r.update(generator={}),
    "dataset has no 'name'": lambda r: _without(r["dataset"], "name"),
    "summary is empty": lambda r: r.update(summary={}),
    "classifier.name is null, not a string": lambda r: r["classifier"].update(name=None),
    'summary.augmented.f1.mean is "0.6", not a number': (
        lambda r: r["summary"]["augmented"]["f1"].update(mean="0.6")
    ),
}


@pytest.mark.parametrize("problem", DAMAGED)
def test_a_hand_edited_report_is_skipped_naming_its_field(planted, problem):
    path = planted / "runs" / "d1" / "winner" / "report.json"
    report = json.loads(path.read_text())
    DAMAGED[problem](report)
    path.write_text(json.dumps(report))
    comparison = write_comparison([planted / "runs"], planted / "out")
    assert comparison.problems == [f"{path}: a damaged synthbalance report: {problem}"]
    assert len(comparison) == 11  # the other runs compared
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: a damaged .*: "):
        sb.Report.load(path)


def test_a_run_without_the_augmented_method_is_skipped_in_one_line(tmp_path):
    # evaluation.methods=[baseline,class_weight]: nothing to compare with the baseline
    for dataset in ("d1", "d2"):
        write_fake_report(tmp_path / "runs", dataset, "smote", 0.01, 0.5)
    path = write_fake_report(tmp_path / "runs", "d2", "smote", 0.0, 0.5, run="plain_only")
    report = json.loads(path.read_text())
    report["summary"] = {m: report["summary"]["baseline"] for m in ("baseline", "class_weight")}
    report["comparisons"] = [{**c, "method": "class_weight"} for c in report["comparisons"]]
    report["folds"] = [r for r in report["folds"] if r["method"] == "baseline"]
    path.write_text(json.dumps(report))
    comparison = write_comparison([tmp_path / "runs"], tmp_path / "out")
    assert comparison.problems == [
        f"{path.parent}: no 'augmented' method compared with the baseline (its methods: "
        "baseline, class_weight); nothing to compare"
    ]
    assert len(comparison) == 2 and len(pd.read_csv(tmp_path / "out" / "comparison.csv")) == 2
    assert comparison.across[("logreg", "f1")]["missing"] == {}
    markdown = (tmp_path / "out" / "comparison.md").read_text()
    page = (tmp_path / "out" / "comparison.html").read_text()
    assert "nan" not in markdown and "Left out" not in markdown and "nan" not in page
    assert "plain_only" in page  # the page lists what was skipped


def test_a_reused_out_keeps_no_file_of_the_earlier_comparison(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    for dataset, baseline in {"d1": 0.5, "d2": 0.6, "d3": 0.7}.items():
        for generator, delta in (("winner", 0.1), ("loser", -0.1), ("twin", 0.0)):
            quality = {"c2st_auc": 0.6 - delta}
            write_fake_report(runs, dataset, generator, delta, baseline, quality=quality)
        for amount in (0.5, 1.0):
            write_fake_report(runs, dataset, "smote", 0.01, baseline, amount=amount)
    write_comparison([runs], out)
    before = {p.name for p in out.iterdir()}
    assert {"comparison_generators.csv", "cd_logreg_f1.png", "amount_logreg.png",
            "quality_vs_utility.png"} <= before  # fmt: skip
    mine = {"notes.txt", "cd_notes.png", "comparison_old.csv", "amount.png"}
    for name in mine:
        (out / name).write_text("mine")
    write_comparison([runs / "d1" / "winner"], out)
    assert {p.name for p in out.iterdir()} == {
        "comparison.md", "comparison.html", "comparison.csv", *mine,
    }  # fmt: skip


def test_names_from_the_data_keep_comparison_md_as_written(tmp_path):
    # a | in a name split its table row; a < opened HTML
    for dataset in ("a|b", "<u>c"):
        write_fake_report(tmp_path / "runs", dataset, "smote", 0.01, 0.5)
    write_fake_report(tmp_path / "runs", "<u>c", "vae", 0.02, 0.5)
    write_comparison([tmp_path / "runs"], tmp_path / "out")
    markdown = (tmp_path / "out" / "comparison.md").read_text()
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    header = rows[0]
    cells = re.compile(r"(?<!\\)\|")
    assert all(len(cells.findall(row)) == len(cells.findall(header)) for row in rows[:4])
    assert "| a\\|b | logreg | smote |" in markdown
    assert "| \\<u>c | logreg | vae |" in markdown
    assert re.search(r"(?<!\\)<", markdown) is None
    assert "vae (no run on a|b)." in markdown


def test_names_with_dollar_signs_are_drawn_as_written(tmp_path):
    for dataset, baseline in {"d1 $^$": 0.5, "d2": 0.6, "d3": 0.7}.items():
        for generator, delta in (("win $^$", 0.1), ("lose", -0.1)):
            write_fake_report(tmp_path / "runs", dataset, generator, delta, baseline,
                              quality={"c2st_auc": 0.6 - delta})  # fmt: skip
    write_comparison([tmp_path / "runs"], tmp_path / "out")  # mathtext would fail the diagrams
    assert (tmp_path / "out" / "cd_logreg_f1.png").stat().st_size > 0


def test_generators_on_other_folds_are_not_ranked_by_sample_quality(tmp_path):
    rng = np.random.default_rng(0)
    for seed_of_c in (0, 1):  # with seed 1, c's folds are not a's and b's
        root = tmp_path / f"c_seed{seed_of_c}"
        for generator, seed in (("a", 0), ("b", 0), ("c", seed_of_c)):
            path = write_fake_report(root, "d1", generator, 0.01, 0.5, protocol={"seed": seed})
            report = json.loads(path.read_text())
            for record in report["folds"]:
                record["quality"] = {"c2st_auc": 0.6 + rng.normal(0, 0.02)}
            path.write_text(json.dumps(report))
        comparison = write_comparison([root], tmp_path / f"out{seed_of_c}")
        problems = [p for p in comparison.problems if "ranking by sample quality" in p]
        assert len(comparison.table) == 3  # the per-run table stays
        if seed_of_c == 0:
            assert "c2st_auc" in comparison.quality_ranks and not problems
        else:
            assert comparison.quality_ranks == {} and "seed=1" in problems[0]
