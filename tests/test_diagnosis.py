"""The diagnosis rules (pipelines/report/diagnosis.py) on planted generators: synthetic rows
whose defect is known, scored by the quality metrics every report carries, CAS included."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from synthbalance.generators.metrics import minority_quality
from synthbalance.pipelines.report.diagnosis import RULES, diagnose, diagnosis_text

N_FEATURES = 6
SHIFT = np.r_[2.0, 2.0, np.zeros(N_FEATURES - 2)]  # the minority's mean; the majority's is 0


@pytest.fixture(scope="module")
def real():
    """Training and unseen minority rows (N(SHIFT, I)), majority rows (N(0, I)), and the
    real-data classifier CAS asks (balanced class weights, like the folds')."""
    rng = np.random.default_rng(0)
    majority = rng.standard_normal((2000, N_FEATURES))
    train = rng.standard_normal((320, N_FEATURES)) + SHIFT
    unseen = rng.standard_normal((80, N_FEATURES)) + SHIFT
    X, y = np.vstack([majority, train]), np.r_[np.zeros(len(majority)), np.ones(len(train))]
    classifier = LogisticRegression(class_weight="balanced").fit(X, y)
    return train, unseen, classifier


def planted(name, train, rng):
    """500 synthetic minority rows of the planted generator ``name``."""
    draw = lambda scale=1.0: scale * rng.standard_normal((500, N_FEATURES))  # noqa: E731
    resampled = train[rng.integers(0, len(train), 500)]
    return {
        "faithful": lambda: draw() + SHIFT,  # new rows of the real distribution
        "centre": lambda: draw(0.02) + SHIFT,  # every sample at the class mean
        "one_row": lambda: np.repeat(train[:1], 500, axis=0),  # one training row, copied
        "copies": lambda: resampled,  # random over-sampling
        "memorises": lambda: resampled + draw(1e-3),  # training rows, barely changed
        "noisy": lambda: resampled + draw(),  # training rows with noise added
        "narrow": lambda: draw(0.5) + SHIFT,  # part of the class only
        "shifted": lambda: draw() + SHIFT + 4.0,  # off the real manifold
        "majority": lambda: draw(),  # rows of the other class
        "independent": lambda: np.column_stack(  # each column resampled on its own
            [train[rng.integers(0, len(train), 500), j] for j in range(N_FEATURES)]
        ),
    }[name]()


def quality_report(real, synthetic, params=None):
    """A report with the quality summary of ``synthetic`` against ``real``'s rows (CAS
    where ``real`` holds a classifier)."""
    train, unseen, *classifier = real
    quality = minority_quality(train, unseen, synthetic, random_state=0)
    if classifier:
        quality["cas"] = float(np.mean(classifier[0].predict(synthetic) == 1))
        quality["cas_real"] = float(np.mean(classifier[0].predict(unseen) == 1))
    return {
        "quality": {name: {"mean": value, "std": 0.0} for name, value in quality.items()},
        "generator": {"params": params or {}},
    }


@pytest.mark.parametrize(
    "name, params, found",
    [
        ("faithful", {}, []),
        ("centre", {"sampling": "latent_average", "k": 10}, ["collapsed"]),
        ("one_row", {}, ["collapsed", "copies"]),
        ("copies", {}, ["copies"]),
        ("memorises", {"steps": 100}, ["near_training_rows"]),
        ("noisy", {"noise": 1.0}, ["wide"]),
        ("narrow", {"steps": 100}, ["narrow"]),
        ("shifted", {"steps": 100}, ["off_manifold"]),
        ("majority", {"steps": 100}, ["wrong_class"]),
    ],
)
def test_diagnosis_names_what_planted_generators_do(real, name, params, found):
    synthetic = planted(name, real[0], np.random.default_rng(1))
    report = quality_report(real, synthetic, params)
    assert [f.name for f in diagnose(report)] == found
    text = diagnosis_text(report)
    if not found:
        assert text.startswith("Nothing alarming")
    else:  # every finding says what to try
        assert text.count("What to try: ") == len(found)


def test_collapse_advice_names_the_sampling_mode_and_where_rows_went(real):
    rng = np.random.default_rng(1)
    centre = diagnosis_text(
        quality_report(real, planted("centre", real[0], rng), {"sampling": "latent_average"})
    )
    assert "collapsed onto the class centre" in centre and "sampling=posterior" in centre
    one_row = diagnosis_text(quality_report(real, planted("one_row", real[0], rng)))
    assert "collapsed onto one point" in one_row and "sampling=posterior" not in one_row
    noisy = diagnosis_text(quality_report(real, planted("noisy", real[0], rng), {"noise": 1.0}))
    assert "a smaller generator.noise" in noisy


def test_fd_finds_broken_correlations_that_c2st_misses(real):
    """Columns drawn independently of each other keep every marginal: PRDC and (on 80 unseen
    rows) the C2ST hardly notice, the Fréchet distance does."""
    rng = np.random.default_rng(2)
    mixing = np.eye(N_FEATURES) + rng.standard_normal((N_FEATURES, N_FEATURES))
    train, unseen = (rows @ mixing.T for rows in real[:2])  # correlated columns
    faithful = quality_report((train, unseen), planted("faithful", real[0], rng) @ mixing.T)
    assert diagnose(faithful) == []
    report = quality_report((train, unseen), planted("independent", train, rng))
    assert report["quality"]["c2st_auc"]["mean"] < 0.9
    assert [f.name for f in diagnose(report)] == ["misses_structure"]
    assert "Fréchet distance" in diagnosis_text(report)


def test_smote_interpolations_read_as_such(real):
    train = real[0]
    rng = np.random.default_rng(3)
    pairs = rng.integers(0, len(train), (500, 2))
    between = rng.uniform(size=(500, 1))  # on segments between training rows: SMOTE-like
    nearest = np.argsort(((train[:, None] - train[None]) ** 2).sum(-1), axis=1)[:, 1:6]
    partner = nearest[pairs[:, 0], pairs[:, 1] % 5]
    synthetic = train[pairs[:, 0]] + between * (train[partner] - train[pairs[:, 0]])
    report = quality_report(real, synthetic, {"k_neighbors": 5})
    assert [f.name for f in diagnose(report)] == ["near_training_rows"]
    assert "Interpolating between neighbours" in diagnosis_text(report)


def test_rules_skip_what_a_report_did_not_measure():
    """Reports written before a metric existed (no fd_real, no CAS) get the other rules."""
    quality = {"recall": {"mean": 0.0}, "precision": {"mean": 0.9}, "density": {"mean": 5.0}}
    report = {"quality": quality, "generator": {"params": {}}}
    assert [f.name for f in diagnose(report)] == ["collapsed"]
    assert all(rule({}, {}, None) is None for rule in RULES)
    assert diagnosis_text({"quality": None, "generator": {}}) is None


def test_the_report_names_the_collapse_of_latent_averaging_on_seed_case(make_config, tmp_path):
    """Decoded averages of k latents sit at the class centre; the decoder's own noise (on by
    default for tables) spreads them again, so it is off here."""
    from synthbalance.pipelines.app import run

    report = run(make_config(
        "generator.sampling=latent_average", "generator.k=10", "generator.decoder_noise=false",
        "evaluation.methods=[baseline,augmented]",
    ))  # fmt: skip
    assert "collapsed" in [f.name for f in diagnose(report)]
    assert "generator.sampling=posterior" in diagnosis_text(report)
    faithful = run(make_config("generator=smote", "evaluation.methods=[baseline,augmented]",
                               f"output_dir={tmp_path / 'smote'}"))  # fmt: skip
    assert {f.name for f in diagnose(faithful)} <= {"near_training_rows"}
