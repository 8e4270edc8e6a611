"""Sweeps: config hashes, resume after a kill, launchers, thread limits, the tuning objective."""

import contextlib
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from synthbalance.pipelines import parallel, sweep
from synthbalance.pipelines.app import run

from .conftest import SMALL_DATA, SMALL_EVALUATION, SMALL_TORCH
from .test_errors import finished, one_line

BIN = Path(sys.executable).parent
# The quality metrics of the synthetic samples are not what these tests check.
NO_QUALITY = "evaluation.quality.enabled=false"
FAST = [*SMALL_DATA, *SMALL_EVALUATION, NO_QUALITY]


@pytest.fixture
def config(make_config):
    """``make_config`` (shrunk, writing into tmp_path) without the quality metrics."""
    return lambda *overrides: make_config(NO_QUALITY, *overrides)


def synthbalance(*args, cwd, timeout=300):
    return subprocess.run(
        [str(BIN / "synthbalance"), *args], cwd=cwd, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def comparison(directory, cwd):
    """The synthbalance-compare table of ``directory``, without the run paths."""
    out = cwd / f"cmp-{directory}"
    result = subprocess.run(
        [str(BIN / "synthbalance-compare"), directory, "--out", str(out)],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out / "comparison.csv").drop(columns="run")
    return table.sort_values(["dataset", "generator"], ignore_index=True)


def reports(directory):
    return sorted(Path(directory).rglob("report.json"))


def is_complete(path):
    digest = (path.parent / sweep.HASH_FILE).read_text().strip()
    return sweep.completed_report(path.parent, digest) is not None


# --- the config hash -------------------------------------------------------------------------


def test_config_hash_ignores_where_and_how_a_run_executes(config, tmp_path):
    base = sweep.config_hash(config("generator=smote"))
    volatile_keys = ("resume=true", "threads=1", "objective=f1", "evaluation.progress=true",
                     "evaluation.n_jobs=1")  # fmt: skip
    for volatile in volatile_keys:
        assert sweep.config_hash(config("generator=smote", volatile)) == base, volatile
    other_dir = config("generator=smote", f"output_dir={tmp_path / 'elsewhere'}")
    assert sweep.config_hash(other_dir) == base


@pytest.mark.parametrize(
    "change", ["seed=1", "generator=ros", "generator.k_neighbors=3", "evaluation.n_splits=3"]
)
def test_config_hash_changes_with_what_a_run_computes(config, change):
    assert sweep.config_hash(config("generator=smote", change)) != sweep.config_hash(
        config("generator=smote")
    )


def test_config_hash_does_not_change_the_config(config):
    cfg = config("generator=smote", "resume=true")
    sweep.config_hash(cfg)
    assert cfg.resume is True and "output_dir" in cfg and "progress" in cfg.evaluation


# --- resume ----------------------------------------------------------------------------------


def test_resume_skips_a_complete_run(config, tmp_path):
    first = run(config("generator=smote"))
    path = tmp_path / "report.json"
    assert first["config_sha256"] == (tmp_path / sweep.HASH_FILE).read_text().strip()
    written = path.stat().st_mtime_ns
    time.sleep(0.01)

    again = run(config("generator=smote", "resume=true"))
    assert path.stat().st_mtime_ns == written
    assert again == json.loads(path.read_text())

    run(config("generator=smote"))  # without resume, the run is computed again
    assert path.stat().st_mtime_ns != written


@pytest.mark.parametrize("damage", ["truncated", "other schema", "other config", "no folds"])
def test_resume_runs_again_unless_the_report_is_complete_for_this_config(config, tmp_path, damage):
    run(config("generator=smote"))
    path = tmp_path / "report.json"
    text = path.read_text()
    report = json.loads(text)
    if damage == "truncated":
        path.write_text(text[: len(text) // 2])
    else:
        key, value = {
            "other schema": ("schema", "synthbalance/report-v0"),
            "other config": ("config_sha256", "0" * 64),
            "no folds": ("folds", []),
        }[damage]
        path.write_text(json.dumps({**report, key: value}))

    overrides = ["generator=smote", "resume=true"]
    if damage == "other config":  # the report's own hash says whose it is: not replaced unasked
        with pytest.raises(ValueError, match="holds the report.json of another config"):
            run(config(*overrides))
        overrides.append("overwrite=true")
    again = run(config(*overrides))
    assert json.loads(path.read_text()) == again
    assert is_complete(path)
    assert again["config_sha256"] == report["config_sha256"]


def test_a_crash_while_writing_leaves_no_report(config, tmp_path, monkeypatch):
    original = pathlib.Path.write_text

    def dies_half_way(self, data, *args, **kwargs):
        if self.name.startswith(".report.json."):
            original(self, data[: len(data) // 2], *args, **kwargs)
            raise KeyboardInterrupt  # what a SIGINT looks like to the writer
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        run(config("generator=smote"))
    assert not (tmp_path / "report.json").exists()
    assert not list(tmp_path.glob(".*"))  # no temporary file or staged folder left either
    assert not (tmp_path / "report.md").exists()  # written before, staged with the others


def test_a_failed_save_leaves_the_earlier_report_and_its_hash(config, tmp_path, monkeypatch):
    run(config("generator=smote"))
    before = {name: (tmp_path / name).read_bytes() for name in ("report.json", sweep.HASH_FILE)}

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("synthbalance.pipelines.report.core.render_html", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        run(config("generator=ros", "overwrite=true"))  # another config, failing at its save
    assert {name: (tmp_path / name).read_bytes() for name in before} == before


@pytest.mark.slow  # slow: a sweep run twice, killed once (~40 s on 2 cores)
def test_killed_sweep_resumes_to_the_same_comparison(tmp_path):
    command = ["-m", "generator=none,smote,ros", *FAST]
    result = synthbalance(*command, "hydra.sweep.dir=whole", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(reports(tmp_path / "whole")) == 3

    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [str(BIN / "synthbalance"), *command, "hydra.sweep.dir=killed"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not reports(killed):
        assert process.poll() is None, "the sweep ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()

    done = reports(killed)
    assert 0 < len(done) < 3, "the kill should land half-way"
    assert all(is_complete(path) for path in done)
    written = {path: path.stat().st_mtime_ns for path in done}

    result = synthbalance(*command, "hydra.sweep.dir=killed", "resume=true", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(reports(killed)) == 3
    assert {path: path.stat().st_mtime_ns for path in done} == written  # skipped, not rerun
    pd.testing.assert_frame_equal(comparison("killed", tmp_path), comparison("whole", tmp_path))


# --- launchers and threads -------------------------------------------------------------------


@pytest.mark.parametrize(
    "launcher, cores, threads",
    [
        (None, 8, 8),  # outside Hydra, or the basic launcher: one job at a time
        ({"n_jobs": 2}, 8, 4),
        ({"n_jobs": 3}, 8, 2),
        ({"n_jobs": 4}, 2, 1),
        ({"n_jobs": -1}, 8, 1),  # joblib: all cores, one job per core
        ({"n_jobs": -2}, 8, 1),
        ({"cpus_per_task": 4}, 16, 4),
        ({"cpus_per_task": None}, 16, 1),  # submitit_local starts every job at once
        ({"ray": {"remote": {"num_cpus": 2}}}, 16, 2),
        ({"ray": {"remote": {}}}, 16, 1),
    ],
)
def test_threads_per_job_never_oversubscribes(launcher, cores, threads):
    assert sweep.threads_per_job(launcher, cores) == threads


def _threads_in_log(run_dir):
    log = next(Path(run_dir).glob("*.log")).read_text()
    match = re.search(r"threads per job: torch (\d+), BLAS/OpenMP (\w+)", log)
    assert match, log
    return int(match[1]), match[2]


def test_joblib_launcher_runs_jobs_in_parallel_with_limited_threads(tmp_path):
    result = synthbalance(
        "-m", "generator=none,ros", *FAST, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
        "hydra.sweep.dir=sweep", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Joblib.Parallel(n_jobs=2" in result.stdout + result.stderr
    assert len(reports(tmp_path / "sweep")) == 2
    expected = max(1, parallel.available_cores() // 2)
    for job in ("0", "1"):
        torch_threads, native = _threads_in_log(tmp_path / "sweep" / job)
        assert torch_threads == expected
        assert native in {str(expected), "None"}


def test_submitit_local_launcher_runs_the_sweep(tmp_path):
    result = synthbalance(
        "-m", "generator=none,ros", *FAST, "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=5", "hydra.sweep.dir=sweep", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    done = reports(tmp_path / "sweep")
    assert len(done) == 2 and all(is_complete(path) for path in done)
    assert sorted(json.loads(p.read_text())["generator"]["name"] for p in done) == ["none", "ros"]
    assert list((tmp_path / "sweep" / ".submitit").iterdir())  # submitit ran the jobs
    assert _threads_in_log(tmp_path / "sweep" / "0")[0] == 1


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["ray", "ray_cluster"])
def test_ray_launcher_runs_the_sweep_on_a_local_ray_instance(tmp_path, launcher):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="needs synthbalance[ray]")
    local = ["hydra.launcher.ray.init.address=null", "++hydra.launcher.ray.init.num_cpus=2"]
    result = synthbalance(
        "-m", "generator=none,ros", *FAST, f"hydra/launcher={launcher}", *local,
        "++hydra.launcher.ray.remote.num_cpus=1", "hydra.sweep.dir=sweep", cwd=tmp_path,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    done = reports(tmp_path / "sweep")
    assert len(done) == 2 and all(is_complete(path) for path in done)
    assert _threads_in_log(tmp_path / "sweep" / "0")[0] == 1


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _marked_processes(marker):
    """The ids of the processes whose environment holds ``marker``: those a command started
    with it, and everything they started, even the processes Ray re-parents to init."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone, or not ours to read
            continue
    return found


def _stop(pids, timeout=60):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.5)


@pytest.fixture
def ray_cluster(tmp_path):
    """A real one-node Ray cluster on the loopback address, started as a user does
    (``ray start --head``) and stopped by the ids of its own processes (never ``ray stop``,
    which stops every Ray process of the machine). Yields the environment that connects a
    driver to it: its address, and its own authentication token (Ray's token mode, set for
    both sides, so that no ~/.ray/auth_token of another cluster gets in the way)."""
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="needs synthbalance[ray]")
    if not (BIN / "ray").exists() or not Path("/proc/self/environ").exists():
        pytest.skip("needs the ray command and Linux /proc")
    port, mark = _free_port(), uuid.uuid4().hex
    marker = f"SYNTHBALANCE_TEST_RAY={mark}"
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths
    head = subprocess.Popen(
        [str(BIN / "ray"), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
         "--num-cpus=2", "--include-dashboard=false", f"--temp-dir={temp}", "--block"],
        cwd=tmp_path, env={**os.environ, **auth, "SYNTHBALANCE_TEST_RAY": mark},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while not list(temp.glob("session_*/sockets/raylet*")):
            assert head.poll() is None, head.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the Ray head did not start"
            time.sleep(0.5)
        yield {**auth, "RAY_ADDRESS": f"127.0.0.1:{port}"}
    finally:
        _stop([head.pid, *_marked_processes(marker)])
        head.wait(timeout=60)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
def test_ray_cluster_launcher_runs_the_sweep_on_a_running_cluster(tmp_path, ray_cluster):
    """``hydra/launcher=ray_cluster`` as documented (``address: auto``, here pointed at the
    test's own cluster by RAY_ADDRESS) joins a running cluster: hydra-ray-launcher's default
    object store size made Ray refuse to connect until the config named the key."""
    result = subprocess.run(
        [str(BIN / "synthbalance"), "-m", "generator=none,ros", *FAST,
         "hydra/launcher=ray_cluster", "hydra.launcher.ray.remote.num_cpus=1",
         "hydra.sweep.dir=sweep"],
        cwd=tmp_path, env={**os.environ, **ray_cluster}, capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Connecting to existing Ray cluster" in result.stderr
    done = reports(tmp_path / "sweep")
    assert len(done) == 2 and all(is_complete(path) for path in done)
    assert sorted(json.loads(p.read_text())["generator"]["name"] for p in done) == ["none", "ros"]
    assert _threads_in_log(tmp_path / "sweep" / "0")[0] == 1


def test_slurm_launcher_config_composes():
    with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
        cfg = compose("config", overrides=["hydra/launcher=slurm"], return_hydra_config=True)
    launcher = OmegaConf.to_container(cfg.hydra.launcher)
    assert launcher["_target_"].endswith("submitit_launcher.SlurmLauncher")
    assert sweep.threads_per_job(launcher, 64) == launcher["cpus_per_task"] > 1


def test_explicit_threads_win(tmp_path):
    result = synthbalance("generator=none", *FAST, "threads=1", "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _threads_in_log(tmp_path / "run")[0] == 1
    result = synthbalance("generator=none", *FAST, "threads=0", "hydra.run.dir=bad", cwd=tmp_path)
    assert result.returncode != 0
    assert "threads must be a positive integer or null" in result.stderr
    assert "Traceback" not in result.stderr


# --- tuning ----------------------------------------------------------------------------------


def test_objective_is_the_mean_delta_against_the_baseline(config):
    report = run(config("generator=smote", "evaluation.methods=[baseline,augmented]"))
    for metric in ("f1", "roc_auc"):
        folds = {
            (r["repeat"], r["fold"], r["method"]): r["metrics"][metric] for r in report["folds"]
        }
        deltas = [
            folds[(repeat, fold, "augmented")] - score
            for (repeat, fold, method), score in folds.items()
            if method == "baseline"
        ]
        assert sweep.objective(report, metric) == pytest.approx(sum(deltas) / len(deltas))


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["objective=accuracy"], "objective must be one of"),
        (["objective=f1", "evaluation.methods=[baseline,class_weight]"], "needs the 'augmented'"),
        (["evaluation.methods=[augmented]"], "must include 'baseline'"),
    ],
)
def test_impossible_objective_or_methods_fail_before_running(overrides, message, config, tmp_path):
    with pytest.raises(ValueError, match=message):
        run(config("generator=smote", *overrides))
    assert not list(tmp_path.rglob("config.sha256"))  # refused before the run started


def test_optuna_search_tunes_the_cvae_on_the_f1_gain(tmp_path):
    result = synthbalance(
        "-m", "hparams_search=cvae_f1", *FAST, *SMALL_TORCH, "hydra.sweeper.n_trials=2",
        "hydra.sweep.dir=search", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    done = reports(tmp_path / "search")
    assert len(done) == 2
    gains = [sweep.objective(json.loads(p.read_text()), "f1") for p in done]
    best = yaml.safe_load((tmp_path / "search" / "optimization_results.yaml").read_text())
    assert best["name"] == "optuna"
    assert best["best_value"] == pytest.approx(max(gains))
    params = {json.dumps(json.loads(p.read_text())["generator"]["params"]) for p in done}
    assert len(params) == 2  # the trials tried different hyperparameters


# --- a sweep's generators, checked before its first job -----------------------------------


def sweep_config(task, params=None):
    """The primary config of a multirun: ``task`` as its command line, ``params`` as its
    sweeper's (composed without them, as Hydra does before the sweeper expands them)."""
    plain = [line for line in task if "," not in line]
    with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
        cfg = compose("config", overrides=plain, return_hydra_config=True)
    cfg.hydra.overrides.task = list(task)
    if params is not None:
        cfg.hydra.sweeper.params = params
    return cfg


@pytest.mark.parametrize(
    "task, params, expected",
    [
        (["seed=0,1", "dataset=digits"], None, []),  # the sweep does not vary the generator
        (["generator=none,smote", "seed=0,1", "dataset=digits"], None,
         [["dataset=digits", "generator=none"], ["dataset=digits", "generator=smote"]]),
        (["generator=smote_variants", "generator.method=ProWSyn,Lee"], None,
         [["generator=smote_variants", "generator.method=ProWSyn"],
          ["generator=smote_variants", "generator.method=Lee"]]),
        (["generator=ros"], {"generator": "none,ddpm", "dataset.name": "pima,glass0"},
         []),  # the command line's generator wins over the sweeper's list
        (["experiment=keel_benchmark"], {"generator": "none,prowsyn", "dataset.name": "a,b"},
         [["experiment=keel_benchmark", "generator=none"],
          ["experiment=keel_benchmark", "generator=prowsyn"]]),
        (["+generator.steps=10,20", "generator=vae,cvae"], None,
         [["+generator.steps=10", "generator=vae"], ["+generator.steps=10", "generator=cvae"],
          ["+generator.steps=20", "generator=vae"], ["+generator.steps=20", "generator=cvae"]]),
        (["generator=vae", "generator.steps=range(10,30,10)"], None,
         [["generator=vae", "generator.steps=10"], ["generator=vae", "generator.steps=20"]]),
        (["generator.lr=interval(0.001,0.01)"], None, []),  # a search space, not choices
    ],
    ids=["no_generator_sweep", "generator_list", "method_list", "command_line_wins",
         "sweeper_params", "product", "range", "interval"],
)  # fmt: skip
def test_swept_generators_are_the_choices_a_sweep_runs(task, params, expected):
    assert sweep.swept_generators(sweep_config(task, params)) == expected


def test_the_keel_benchmark_sweeps_the_generators_it_says():
    cfg = sweep_config(["experiment=keel_benchmark"])  # its sweeper's params come with it
    generators = [overrides[-1] for overrides in sweep.swept_generators(cfg)]
    assert generators == [f"generator={name}" for name in (
        "none", "ros", "smote", "vae", "cvae", "ddpm", "polynom_fit_smote", "prowsyn")]  # fmt: skip


def test_swept_choices_of_the_evaluation_leave_the_generator_out():
    cfg = sweep_config(["seed=0,1", "generator=none,smote", "evaluation.n_splits=3"])
    assert sweep.swept_choices(cfg, sweep._chooses_the_evaluation) == [
        ["evaluation.n_splits=3", "seed=0"], ["evaluation.n_splits=3", "seed=1"]]  # fmt: skip


@pytest.mark.parametrize(
    "swept, message",
    [("seed=0,abc", "seed must be an int in the range [0, 4294967295]; got 'abc'"),
     ("evaluation.rope=0.01,-1", "evaluation.rope must be a float in the range [0.0, inf); got -1"),
     ("evaluation.rope=abc", "evaluation.rope must be a float in the range [0.0, inf); got 'abc'"),
     ("evaluation.n_jobs=1,0",
      "evaluation.n_jobs must be auto, null or a non-zero integer (-1: all cores); got 0"),
     ("evaluation.ensemble.n_estimators=10,abc",
      "evaluation.ensemble.n_estimators must be an int in the range [1, inf); got 'abc'"),
     ("objective=f1,nope", "objective must be one of f1, roc_auc, pr_auc, balanced_accuracy, "
                           "gmean, mcc, brier, log_loss, ece, got 'nope'"),
     ("generator=smote generator.k_neighbors=5,abc", "generator.k_neighbors must be an int in "
      "the range [1, inf) or an object implementing 'kneighbors' and 'kneighbors_graph'; got "
      "'abc'"),
     ("generator=glob(cvae) generator.lr=abc",  # a glob's choices need the config loader
      "generator.lr must be a float in the range (0.0, inf); got 'abc'"),
     ("generator=cvae +budget.steps=abc,5",
      "generator.steps must be an int in the range [1, inf) or a str among {'auto'}; got 'abc'"),
     ("classifier=logreg classifier.C=1,-1",
      "classifier.C must be a float in the range (0.0, inf]; got -1"),
     ("dataset.n_minority=40,1",
      "dataset 'seed_case': 1 minority samples (1), fewer than n_splits=2"),
     ("dataset.n_minority=4 evaluation.n_splits=3,5",  # the folds it must have rows for
      "dataset 'seed_case': 4 minority samples (1), fewer than n_splits=5")],
)  # fmt: skip
def test_a_bad_seed_or_evaluation_value_stops_the_sweep_before_job_0(tmp_path, swept, message):
    generator = [] if "generator=" in swept else ["generator=none"]
    code, stderr = finished("synthbalance", "-m", *SMALL_DATA, *SMALL_EVALUATION,
                            *swept.split(), *generator, "hydra.sweep.dir=sweep",
                            cwd=tmp_path)  # fmt: skip
    assert code == 1
    assert one_line(stderr) == f"synthbalance: error: {message}"
    assert not os.listdir(tmp_path)  # job 0 did not run: Hydra wrote nothing


def test_a_missing_file_in_a_sweep_stops_it_before_job_0(tmp_path):
    rows = pd.DataFrame({"x": range(40), "y": [0] * 30 + [1] * 10})
    rows.to_csv(tmp_path / "good.csv", index=False)
    code, stderr = finished("synthbalance", "-m", "dataset=file", "dataset.target=y",
                            "dataset.path=good.csv,nope.csv", "generator=none",
                            *SMALL_EVALUATION, "hydra.sweep.dir=sweep", cwd=tmp_path)  # fmt: skip
    assert code == 1
    assert one_line(stderr) == "synthbalance: error: nope.csv: no such file"
    assert sorted(os.listdir(tmp_path)) == ["good.csv"]
