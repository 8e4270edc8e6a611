"""The third-party generators (issue #16): smote-variants and ForestDiffusion wrapped as
imbalanced-learn over-samplers. Without their optional extra a run stops before any fold
with one line naming the ``pip install``; with it (``pytest.importorskip``) they generate
the asked rows, honour ``sampling_strategy`` and their seed. imbalanced-learn's own checks
run on them in test_estimator_checks.py."""

import os
import site as site_packages
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import synthbalance as sb
from synthbalance.generators import (
    ForestDiffusionSampler,
    MissingExtraError,
    SmoteVariantsSampler,
)
from synthbalance.pipelines import cli, experiment, sweep
from synthbalance.pipelines.app import run
from synthbalance.pipelines.datasets import seed_case

from .conftest import SMALL_DATA, SMALL_EVALUATION
from .test_errors import _no_fold, command, one_line, written

# The generator config, the module its extra installs, the extra, tiny settings.
ADAPTERS = {
    "smote_variants": ("smote_variants", "smote_variants", ["generator.method=ProWSyn"]),
    "forest_diffusion": ("ForestDiffusion", "forest_diffusion",
                         ["generator.n_t=2", "generator.duplicate_K=2",
                          "generator.n_estimators=3", "generator.max_depth=2"]),
}  # fmt: skip
TINY_FOREST = dict(n_t=3, duplicate_K=3, n_estimators=5, max_depth=3)


@pytest.fixture(scope="module")
def data():
    ds = seed_case(n_majority=300, n_minority=40, n_features=4, n_informative=2, n_redundant=1)
    return np.asarray(ds.X), np.asarray(ds.y)


def three_classes():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(m, 1.0, size=(n, 3)) for m, n in ((0, 200), (3, 60), (-3, 40))])
    return X, np.repeat([0, 1, 2], [200, 60, 40])


# --- without the extra --------------------------------------------------------------------


@pytest.mark.parametrize("name", ADAPTERS)
def test_a_missing_extra_is_one_line_from_the_cli_and_nothing_is_written(
    name, make_config, tmp_path, monkeypatch, capsys
):
    module, extra, tiny = ADAPTERS[name]
    monkeypatch.setitem(sys.modules, module, None)  # the import fails as if not installed
    monkeypatch.setattr(sweep, "limit_threads", lambda n: {"torch": n, "native": n})
    monkeypatch.setattr(experiment, "run_folds", _no_fold)
    cfg = make_config(f"generator={name}", *tiny)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        cli.evaluation_job(cfg)
    line = one_line(capsys.readouterr().err)
    assert exit.value.code == 1
    assert line == (
        f"synthbalance: error: generator={name} needs the optional package {module!r}: "
        f'pip install "synthbalance[{extra}]"'
    )
    assert written(tmp_path) == []


@pytest.mark.parametrize(
    "sweep", [["generator=none,prowsyn", *SMALL_DATA], ["experiment=keel_benchmark"]],
    ids=["generator_list", "keel_benchmark"],
)  # fmt: skip
def test_a_sweep_needing_a_missing_extra_stops_before_its_first_job(sweep, tmp_path):
    blocked = tmp_path / "blocked"  # a smote_variants whose import fails, installed or not
    blocked.mkdir()
    (blocked / "smote_variants.py").write_text('raise ImportError("blocked by the test")\n')
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    overrides = [*sweep, *SMALL_EVALUATION, "hydra.sweep.dir=sweep"]
    process = command("synthbalance", "-m", *overrides, cwd=run_dir,
                      env={**os.environ, "PYTHONPATH": str(blocked)})  # fmt: skip
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 1
    assert one_line(stderr) == (
        "synthbalance: error: generator=smote_variants needs the optional package "
        "'smote_variants': pip install \"synthbalance[smote_variants]\""
    )
    assert not (run_dir / "sweep").exists()  # no job ran, Hydra wrote nothing


@pytest.mark.parametrize("sampler", [SmoteVariantsSampler(), ForestDiffusionSampler()])
def test_a_missing_extra_is_raised_by_the_api_before_any_fold(sampler, data, monkeypatch):
    monkeypatch.setitem(sys.modules, sampler._module, None)
    monkeypatch.setattr(experiment, "run_folds", _no_fold)
    X, y = data
    with pytest.raises(MissingExtraError, match=rf'pip install "synthbalance\[{sampler._extra}\]"'):
        sb.evaluate(X, y, generator=sampler, n_splits=2, n_repeats=1, quality=False)
    assert issubclass(MissingExtraError, ImportError) and issubclass(MissingExtraError, ValueError)
    with pytest.raises(MissingExtraError):  # imblearn's own fit_resample as well
        sampler.fit_resample(X, y)


# --- smote-variants -----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["polynom_fit_SMOTE", "ProWSyn", "SMOTE_IPF", "Lee", "SMOBD"])
def test_smote_variants_makes_the_rows_asked_and_keeps_the_real_ones(method, data):
    pytest.importorskip("smote_variants")
    X, y = data
    X_res, y_res = SmoteVariantsSampler(method=method, random_state=0).fit_resample(X, y)
    assert Counter(y_res.tolist()) == {0: 300, 1: 300}
    np.testing.assert_array_equal(X_res[: len(X)], X)
    new = X_res[len(X) :]
    assert np.isfinite(new).all()
    assert not (new[:, None, :] == X[None, :, :]).all(axis=2).any()  # no copies of real rows


def test_smote_variants_follows_sampling_strategy_for_several_classes():
    pytest.importorskip("smote_variants")
    X, y = three_classes()
    sampler = SmoteVariantsSampler(method="ProWSyn", sampling_strategy={1: 150, 2: 90},
                                   random_state=0)  # fmt: skip
    _, y_res = sampler.fit_resample(X, y)
    assert Counter(y_res.tolist()) == {0: 200, 1: 150, 2: 90}


def test_smote_variants_same_seed_same_rows_other_seed_other_rows(data):
    pytest.importorskip("smote_variants")
    X, y = data
    first, _ = SmoteVariantsSampler(method="ProWSyn", random_state=1).fit_resample(X, y)
    again, _ = SmoteVariantsSampler(method="ProWSyn", random_state=1).fit_resample(X, y)
    other, _ = SmoteVariantsSampler(method="ProWSyn", random_state=2).fit_resample(X, y)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_an_unknown_smote_variants_method_is_refused_before_any_fold(data, monkeypatch):
    pytest.importorskip("smote_variants")
    monkeypatch.setattr(experiment, "run_folds", _no_fold)
    X, y = data
    with pytest.raises(ValueError, match="smote-variants has no oversampler 'SMOOTE'.*ProWSyn"):
        sb.evaluate(X, y, generator=SmoteVariantsSampler(method="SMOOTE"), n_splits=2)


# --- ForestDiffusion ----------------------------------------------------------------------


def test_forest_diffusion_fits_each_class_it_over_samples():
    pytest.importorskip("ForestDiffusion")
    X, y = three_classes()
    sampler = ForestDiffusionSampler(sampling_strategy={1: 100, 2: 70}, random_state=0,
                                     **TINY_FOREST)  # fmt: skip
    X_res, y_res = sampler.fit_resample(X, y)
    assert Counter(y_res.tolist()) == {0: 200, 1: 100, 2: 70}
    np.testing.assert_array_equal(X_res[: len(X)], X)
    # each class's rows come from that class's model: inside its range, nearer its mean
    for class_ in (1, 2):
        new = X_res[len(X) :][y_res[len(X) :] == class_]
        real = X[y == class_]
        assert (new >= real.min(axis=0) - 1e-9).all() and (new <= real.max(axis=0) + 1e-9).all()
        assert np.linalg.norm(new.mean(axis=0) - real.mean(axis=0)) < 1.0
    assert sampler.fit_seconds_ > 0 and sampler.sample_seconds_ > 0


def test_forest_diffusion_is_seeded_and_leaves_numpys_global_stream_alone(data):
    pytest.importorskip("ForestDiffusion")
    X, y = data
    np.random.seed(123)
    expected = np.random.random_sample()
    np.random.seed(123)
    first, _ = ForestDiffusionSampler(random_state=1, **TINY_FOREST).fit_resample(X, y)
    assert np.random.random_sample() == expected
    again, _ = ForestDiffusionSampler(random_state=1, **TINY_FOREST).fit_resample(X, y)
    other, _ = ForestDiffusionSampler(random_state=2, **TINY_FOREST).fit_resample(X, y)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_forest_diffusion_keeps_categorical_codes_valid():
    pytest.importorskip("ForestDiffusion")
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=300), rng.integers(0, 3, 300), rng.integers(0, 2, 300)])
    y = np.repeat([0, 1], [240, 60])
    sampler = ForestDiffusionSampler(categorical_features=[1, 2], random_state=0, **TINY_FOREST)
    X_res, _ = sampler.fit_resample(X, y)
    new = X_res[len(X) :]
    assert set(np.unique(new[:, 1])) <= {0, 1, 2} and set(np.unique(new[:, 2])) <= {0, 1}


def test_forest_diffusion_other_models_need_the_in_memory_path(data):
    pytest.importorskip("ForestDiffusion")
    X, y = data
    with pytest.raises(ValueError, match="model='lgbm' needs n_batch=0"):
        ForestDiffusionSampler(model="lgbm", random_state=0, **TINY_FOREST).fit_resample(X, y)
    sampler = ForestDiffusionSampler(model="lgbm", n_batch=0, n_jobs=1, random_state=0,
                                     **TINY_FOREST)  # fmt: skip
    _, y_res = sampler.fit_resample(X, y)
    assert Counter(y_res.tolist()) == {0: 300, 1: 300}


# --- through the CLI's config ----------------------------------------------------------------


@pytest.mark.parametrize("name", ADAPTERS)
def test_a_run_of_the_generator_config_reports_it(name, make_config):
    module, _, tiny = ADAPTERS[name]
    pytest.importorskip(module)
    report = run(make_config(f"generator={name}", *tiny, "evaluation.n_jobs=1"))
    expected = "smote_variants_ProWSyn" if name == "smote_variants" else name
    assert report["generator"]["name"] == expected
    augmented = [f for f in report["folds"] if f["method"] == "augmented"]
    assert augmented and all(f["n_synthetic"] > 0 for f in augmented)


# --- with the extras installed, in CI too ----------------------------------------------------


@pytest.mark.slow  # installs TensorFlow, XGBoost, LightGBM and CatBoost: minutes
def test_the_adapters_pass_with_their_extras_installed(tmp_path):
    """CI has neither extra (they are not in dev): this installs both into a virtual
    environment on top of this one and runs the adapters' tests and imbalanced-learn's
    checks there, none of them skipped."""
    root = Path(__file__).resolve().parents[1]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = subprocess.run([str(python), "-c", where], check=True, capture_output=True, text=True)
    site = site.stdout.strip()
    outer = [*site_packages.getsitepackages(), site_packages.getusersitepackages()]
    Path(site, "zz_outer_environment.pth").write_text("\n".join(outer) + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    subprocess.run([*pip, "smote-variants==1.0.1", "ForestDiffusion==1.0.6"], check=True)
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", "-e", str(root)], check=True)
    result = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-n", "0",
         "tests/test_third_party.py", "tests/test_estimator_checks.py",
         "-k", "third_party or SmoteVariants or ForestDiffusion"],
        cwd=root, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "skipped" not in summary and "passed" in summary, summary
