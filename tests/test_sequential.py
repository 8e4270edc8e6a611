"""Verdicts that decide: group-sequential boundaries, the minimum detectable effect and
``n_repeats=auto`` runs."""

import json

import numpy as np
import pytest
from hydra import compose, initialize_config_module
from imblearn import FunctionSampler
from imblearn.over_sampling import SMOTE
from omegaconf import OmegaConf
from scipy import stats
from sklearn.linear_model import LogisticRegression

import synthbalance as sb
from synthbalance.pipelines import sequential
from synthbalance.pipelines.adaptive import DECIDED, EXHAUSTED
from synthbalance.pipelines.app import protocol_from_config, run
from synthbalance.pipelines.protocol import Protocol
from synthbalance.pipelines.report.build import headline_comparisons
from synthbalance.pipelines.stats import corrected_ttest, detectable_effect, projected_effect

from .test_verdict import gaussians, majority_labelled_minority

FAST = dict(classifier=LogisticRegression(max_iter=1000), quality=False)


# --- the boundaries ---------------------------------------------------------------------------


@pytest.mark.parametrize("spending", sequential.SPENDING)
@pytest.mark.parametrize("n_splits, max_repeats", [(5, 10), (10, 5), (3, 6)])
def test_repeated_looks_keep_the_false_alarm_rate(spending, n_splits, max_repeats):
    """Standardised deltas with the corrected variance's correlation between looks cross
    some look's boundary with probability alpha, not more."""
    repeats = sequential.looks(n_splits, max_repeats)
    fractions = sequential.information(n_splits, repeats)
    spend = [sequential.spent(r / max_repeats, 0.05, spending) for r in repeats]
    z = np.array(sequential.z_boundaries(fractions, spend))
    rng = np.random.default_rng(0)
    steps = rng.normal(size=(200_000, len(repeats))) * np.sqrt(np.diff(np.r_[0, fractions]))
    crossed = (np.abs(steps.cumsum(axis=1) / np.sqrt(fractions)) >= z).any(axis=1)
    assert crossed.mean() == pytest.approx(0.05, abs=0.003)
    # one look alone would cross less often than alpha: every look pays for the others
    assert (2 * stats.norm.sf(z) < 0.05).all()


def test_one_look_is_the_fixed_test_and_more_looks_widen_the_last():
    assert sequential.boundaries(5, 2) == {2: pytest.approx(stats.t.ppf(0.975, 9))}
    critical = sequential.boundaries(5, 10)
    assert list(critical) == list(range(2, 11))
    assert list(critical.values()) == sorted(critical.values(), reverse=True)
    assert critical[10] > stats.t.ppf(0.975, 49)
    assert sequential.boundaries(10, 5, spending="pocock")[5] > sequential.boundaries(10, 5)[5]


def test_the_first_look_waits_for_ten_folds():
    assert sequential.looks(5, 10)[0] == 2
    assert sequential.looks(10, 5)[0] == 1
    assert sequential.looks(2, 3) == (3,)  # fewer repeats than ten folds need: one look


def test_unknown_spending_is_refused():
    with pytest.raises(ValueError, match="spending"):
        Protocol(n_repeats="auto", spending="haybittle")
    with pytest.raises(ValueError, match="n_repeats"):
        Protocol(n_repeats="often")


# --- the minimum detectable effect -----------------------------------------------------------


@pytest.mark.parametrize("n, critical", [(10, None), (50, 2.3)])
def test_the_minimum_detectable_effect_is_detected_four_times_in_five(n, critical):
    rng = np.random.default_rng(1)
    sd, n_train, n_test = 0.05, 1200, 300
    se = np.sqrt(1 / n + n_test / n_train) * sd
    critical = stats.t.ppf(0.975, n - 1) if critical is None else critical
    mde = detectable_effect(se, n, critical)
    # the corrected t statistic of deltas whose mean is the mde: mean / se_hat
    means = rng.normal(mde, se, size=20_000)
    se_hat = se * np.sqrt(rng.chisquare(n - 1, size=20_000) / (n - 1))
    assert np.mean(means - critical * se_hat > 0) == pytest.approx(0.8, abs=0.015)


def test_more_repeats_shrink_the_mde_down_to_its_floor():
    at = {r: projected_effect(0.05, 5, r, 1200, 300) for r in (2, 10, 100)}
    floor = projected_effect(0.05, 5, None, 1200, 300)
    assert at[2] > at[10] > at[100] > floor
    assert floor == pytest.approx((1.959964 + 0.841621) * 0.5 * 0.05, rel=1e-5)
    assert projected_effect(0.05, 10, None, 1350, 150) < floor  # more folds, lower floor


def test_a_wider_critical_value_widens_the_interval_and_the_mde():
    deltas = np.random.default_rng(0).normal(0.02, 0.03, size=10)
    fixed = corrected_ttest(deltas, 80, 20, rope=0.01)
    wider = corrected_ttest(deltas, 80, 20, rope=0.01, critical=3.0)
    assert wider["ci_low"] < fixed["ci_low"] and wider["ci_high"] > fixed["ci_high"]
    assert wider["mde"] > fixed["mde"] > 0
    assert wider["ci_high"] - wider["delta_mean"] == pytest.approx(
        3.0 * np.sqrt((1 / 10 + 20 / 80) * deltas.var(ddof=1))
    )


# --- rounds of folds --------------------------------------------------------------------------


def test_rounds_extend_the_split_deterministically():
    y = np.r_[np.zeros(90, int), np.ones(12, int)]
    longer = Protocol(n_repeats=6)
    auto = Protocol(n_repeats="auto", max_repeats=6)
    later = auto.folds(y, range(2, 4))
    assert len(later) == 10
    for (train, test), (train6, test6) in zip(later, longer.folds(y)[10:20], strict=True):
        assert np.array_equal(train, train6) and np.array_equal(test, test6)
    assert auto.fold_seeds(range(2, 4)) == longer.fold_seeds()[10:20]
    assert auto.n_folds == longer.n_folds == 30


def metrics_of(report):
    return [(r["repeat"], r["fold"], r["method"], r["metrics"]) for r in report.data["folds"]]


@pytest.fixture(scope="module")
def undecided():
    """An adaptive run whose F1 verdict stays open, and its data."""
    X, y = gaussians(300, 30, shift=1.0, seed=3)
    report = sb.evaluate(
        X, y, generator=SMOTE(), n_splits=2, n_repeats="auto", max_repeats=7,
        methods=("baseline", "augmented"), **FAST,
    )  # fmt: skip
    return report, X, y


def test_an_undecided_run_stops_at_max_repeats_with_the_folds_of_a_fixed_run(undecided):
    report, X, y = undecided
    protocol = report.data["protocol"]
    adaptive = protocol["adaptive"]
    assert protocol["n_repeats"] == 7 and adaptive["stopped"] == EXHAUSTED
    assert [look["n_repeats"] for look in adaptive["looks"]] == [5, 6, 7]
    assert adaptive["looks"][-1]["undecided"]
    assert adaptive["critical"] == adaptive["looks"][-1]["critical"] > stats.t.ppf(0.975, 13)
    fixed = sb.evaluate(
        X, y, generator=SMOTE(), n_splits=2, n_repeats=7, methods=("baseline", "augmented"),
        **FAST,
    )  # fmt: skip
    assert metrics_of(fixed) == metrics_of(report)
    # the same folds, read with the wider interval of the last of three looks
    for c, f in zip(report.data["comparisons"], fixed.data["comparisons"], strict=True):
        assert c["delta_mean"] == f["delta_mean"] and c["mde"] > f["mde"]
        assert c["ci_low"] < f["ci_low"]


def test_the_report_says_how_many_folds_ran_why_it_stopped_and_what_it_could_not_see(
    undecided, tmp_path
):
    report, _, _ = undecided
    text = report.to_markdown()
    assert "(seed 0; n_repeats=auto, at most 7: stopped after 3 looks, max_repeats reached" in text
    assert "repeated confidence intervals" in text
    c = next(c for c in report.data["comparisons"] if c["verdict"] == "inconclusive")
    assert f"a difference below \u00b1{c['mde']:.3f} would look like this" in text
    assert c["mde_max_repeats"] is None  # it ran max_repeats already
    assert 0 < c["mde_floor"] < c["mde"]
    assert "mde" in report.verdicts.columns
    page = report._repr_html_()  # the notebook view says the same
    assert "stopped after 3 looks, max_repeats reached" in page
    assert f"a difference below \u00b1{c['mde']:.3f} would look like this" in page
    saved = json.loads(report.save(tmp_path).read_text())
    assert sb.Report.load(tmp_path).to_markdown() == text and saved["protocol"]["n_repeats"] == 7


def test_a_fixed_run_projects_its_mde_to_max_repeats():
    X, y = gaussians(300, 30, shift=1.0, seed=3)
    report = sb.evaluate(X, y, generator=SMOTE(), n_splits=2, n_repeats=2, **FAST)
    for c in report.data["comparisons"]:
        more = c["mde_max_repeats"]
        assert (more["n_splits"], more["n_repeats"]) == (2, 10)
        assert c["mde"] > more["mde"] > c["mde_floor"]
    assert "adaptive" not in report.data["protocol"]
    assert "2 \u00d7 10 folds would shrink it to" in report.to_markdown()
    assert "2 \u00d7 10 folds would shrink it to" in report._repr_html_()


@pytest.mark.parametrize(
    "generator, verdict",
    [
        (FunctionSampler(), "equivalent"),
        (FunctionSampler(func=majority_labelled_minority), "hurts"),
    ],
    ids=["adds nothing", "poisoned"],
)
def test_a_clear_answer_stops_at_the_first_look(generator, verdict):
    X, y = gaussians(600, 60, shift=2.0)
    report = sb.evaluate(
        X, y, generator=generator, n_repeats="auto", methods=("baseline", "augmented"), **FAST
    )
    protocol = report.data["protocol"]
    assert protocol["n_repeats"] == 2 and protocol["adaptive"]["stopped"] == DECIDED
    assert len(report.data["folds"]) == 2 * 10
    headline = headline_comparisons(report.data["folds"], protocol)
    assert {c["metric"] for c in headline} == {"f1", "roc_auc"}
    assert {c["verdict"] for c in headline} == {verdict}


def test_the_headline_compares_with_the_best_option_without_augmentation():
    X, y = gaussians(300, 30, shift=1.5)
    report = sb.evaluate(
        X, y, generator=SMOTE(), methods=("baseline", "class_weight", "augmented"), **FAST
    )
    pairs = {
        (c["method"], c["versus"], c["metric"])
        for c in headline_comparisons(report.data["folds"], report.data["protocol"])
    }
    assert ("augmented", "baseline", "f1") in pairs and (
        "augmented",
        "baseline",
        "roc_auc",
    ) in pairs
    summary = report.data["summary"]
    best_f1 = max(("baseline", "class_weight"), key=lambda m: summary[m]["f1"]["mean"])
    assert ("augmented", best_f1, "f1") in pairs


def test_auto_runs_from_the_config_and_resumes(make_config, tmp_path):
    overrides = ("generator=smote", "evaluation.quality.enabled=false", "evaluation.n_repeats=auto",
                 "evaluation.max_repeats=5", "evaluation.spending=pocock")  # fmt: skip
    report = run(make_config(*overrides))
    assert report["protocol"]["adaptive"]["spending"] == "pocock"
    assert report["protocol"]["n_repeats"] == 5  # 2-fold: the one look after 10 folds
    written = (tmp_path / "report.json").stat().st_mtime_ns
    assert run(make_config(*overrides, "resume=true")) == report
    assert (tmp_path / "report.json").stat().st_mtime_ns == written


def test_the_adaptive_preset_spends_at_most_the_fits_of_five_default_runs():
    with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
        default = compose(config_name="config").evaluation
        preset = compose(config_name="config", overrides=["evaluation=adaptive"]).evaluation
    protocol = protocol_from_config(OmegaConf.create({"seed": 0, "evaluation": preset}))
    assert protocol.adaptive and protocol.looks[0] * protocol.n_splits >= 10
    assert protocol.n_folds <= 5 * default.n_splits * default.n_repeats


def test_several_generators_run_until_every_one_is_decided():
    X, y = gaussians(300, 30, shift=1.0, seed=3)
    comparison = sb.evaluate(
        X, y, generators={"nothing": FunctionSampler(), "smote": SMOTE()}, n_splits=2,
        n_repeats="auto", max_repeats=6, methods=("baseline", "augmented"), **FAST,
    )  # fmt: skip
    protocols = [data["protocol"] for _, data in comparison.runs]
    assert protocols[0] == protocols[1]  # one run of shared folds, one stopping rule
    looks = protocols[0]["adaptive"]["looks"]
    assert all(label.startswith("smote: ") for label in looks[-1]["undecided"])
    best = comparison.best("f1")
    assert best["comparison"] is None or best["comparison"]["mde"] > 0
