"""Folds in worker processes: the plan of workers and threads, and reports identical to a
serial run's."""

import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from imblearn.over_sampling import SMOTE
from sklearn.datasets import make_blobs, make_classification

import synthbalance as sb
from synthbalance.pipelines import cli, parallel

from .conftest import shrink


@pytest.fixture
def threads():
    """Set this process's torch threads (the run's budget) for one test."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("n_jobs", "budget", "n_folds", "expected"),
    [
        ("auto", 4, 10, (4, 1)),  # one worker per thread of the budget, one thread each
        ("auto", 2, 10, (2, 1)),
        ("auto", 1, 10, (1, 1)),  # a budget of one (a busy sweep): this process
        ("auto", 8, 3, (3, 2)),  # never more workers than folds; the rest as threads
        (None, 4, 10, (1, 4)),  # scikit-learn's None: one process with the whole budget
        (1, 4, 10, (1, 4)),
        (2, 4, 10, (2, 2)),
        (3, 1, 10, (3, 1)),  # asked for: at least one thread each
    ],
)
def test_the_plan_shares_the_thread_budget(threads, n_jobs, budget, n_folds, expected):
    threads(budget)
    assert parallel.plan(n_jobs, n_folds) == expected


def test_negative_n_jobs_count_from_the_cores(threads, monkeypatch):
    threads(1)
    monkeypatch.setattr(parallel, "available_cores", lambda: 6)
    assert parallel.plan(-1, 10) == (6, 1)
    assert parallel.plan(-2, 10) == (5, 1)
    assert parallel.plan(-10, 10) == (1, 1)


@pytest.mark.parametrize("bad", [0, "many", 1.5, True])
def test_a_bad_n_jobs_is_refused_before_any_fold(bad):
    X, y = make_classification(200, 4, weights=[0.85], random_state=0)
    with pytest.raises(ValueError, match="^n_jobs must be 'auto', None or a non-zero integer"):
        sb.evaluate(X, y, generator=SMOTE(), n_jobs=bad)


def _without_timings(report, records=None):
    """The fold records (or ``records``) without their wall-clock seconds, the one thing
    that may differ."""
    records = report.data["folds"] if records is None else records
    return [{k: v for k, v in record.items() if k != "seconds"} for record in records]


def test_folds_in_workers_give_the_serial_report(threads):
    # a torch generator (its own seeds in every fold) and a quality check: all must match
    threads(1)  # one thread per fold in both runs: the same floating-point sums
    X, y = make_classification(600, 6, n_informative=3, weights=[0.88], random_state=1)
    arguments = dict(generator=sb.CVAESampler(steps=30, hidden_dims=[16]), n_splits=2,
                     n_repeats=2, seed=3)  # fmt: skip
    serial = sb.evaluate(X, y, n_jobs=None, **arguments)
    in_workers = sb.evaluate(X, y, n_jobs=2, **arguments)
    assert [(r["repeat"], r["fold"]) for r in in_workers.data["folds"]] == [
        (r["repeat"], r["fold"]) for r in serial.data["folds"]
    ]
    assert _without_timings(in_workers) == _without_timings(serial)
    assert in_workers.data["comparisons"] == serial.data["comparisons"]


def test_open_set_folds_in_workers_give_the_serial_records(threads, caplog):
    threads(1)
    centers = [[0, 0], [5, 0], [0, 5], [2.5, 2.5]]
    X, y = make_blobs(n_samples=[200, 60, 60, 50], centers=centers, random_state=0)
    y = np.array(list("abcd"), dtype=object)[y]
    arguments = dict(
        generator=SMOTE(), methods=["baseline", "augmented"], n_splits=3, n_repeats=1,
        quality=False, minority=["b", "c"], base="a", unknown=["d"], seed=2,
        open_set={"scores": ["msp", "mahalanobis", "other_class"], "outliers": ["smote"]},
    )  # fmt: skip
    serial = sb.evaluate(X, y, n_jobs=None, **arguments).data["open_set"]["folds"]
    with caplog.at_level("INFO", logger="synthbalance.pipelines.parallel"):
        in_workers = sb.evaluate(X, y, n_jobs=3, **arguments).data["open_set"]["folds"]
    # the augmentation folds and then the open-set folds went to workers
    assert [r.getMessage() for r in caplog.records] == [
        "folds: 3 worker processes, 1 thread(s) each"
    ] * 2
    assert len(serial) == 3 * 3
    assert _without_timings(None, in_workers) == _without_timings(None, serial)


def test_an_error_in_a_worker_reaches_the_caller_as_it_is():
    class Broken(SMOTE):
        def fit_resample(self, X, y):
            raise ValueError("the generator broke")

    X, y = make_classification(300, 4, weights=[0.85], random_state=0)
    with pytest.raises(ValueError, match="^the generator broke$"):
        sb.evaluate(X, y, generator=Broken(), n_splits=2, n_repeats=1, n_jobs=2)


def _tqdm_lock_after_a_bar(i):
    from tqdm import tqdm

    for _ in tqdm(range(2), disable=True):  # a disabled bar creates the lock too
        pass
    lock = tqdm.get_lock()
    return type(getattr(lock, "mp_lock", lock)).__module__


def test_workers_hold_no_multiprocessing_lock_that_a_ctrl_c_would_leak():
    # a worker killed on Ctrl-C never releases a named semaphore: the resource tracker
    # then printed "There appear to be 2 leaked semaphore objects" after the one-line message
    modules = list(parallel.ordered_map(_tqdm_lock_after_a_bar, [(0,), (1,)], workers=2,
                                        threads=1))  # fmt: skip
    assert modules == ["_thread"] * 2, modules


def test_the_cli_runs_folds_in_workers_and_refuses_a_bad_n_jobs(make_config, capsys, tmp_path):
    cfg = make_config("generator=smote", "evaluation.n_jobs=2", "threads=1")
    cli.evaluation_job(cfg)
    report = json.loads((Path(cfg.output_dir) / "report.json").read_text())
    assert len(report["folds"]) > 0
    bad = make_config("generator=smote", "evaluation.n_jobs=0", f"output_dir={tmp_path / 'bad'}")
    with pytest.raises(SystemExit), cli.one_line_errors("synthbalance"):
        cli.evaluation_job(bad)
    assert capsys.readouterr().err == (
        "synthbalance: error: evaluation.n_jobs must be auto, null or a non-zero integer "
        "(-1: all cores); got 0\n"
    )
    assert not (tmp_path / "bad").exists()


def _command(directory, *overrides):
    """The ``synthbalance`` command on a shrunk config: its stderr and its report."""
    overrides = [*shrink(overrides), f"hydra.run.dir={directory}", *overrides]
    command = [str(Path(sys.executable).with_name("synthbalance")), *overrides]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stderr, json.loads((directory / "report.json").read_text())


@pytest.mark.skipif(
    parallel.FORK_SERVER not in multiprocessing.get_all_start_methods(), reason="no fork server"
)
def test_the_command_forks_its_workers_from_the_preloaded_server(tmp_path):
    # a torch generator, so the workers use what the server preloaded (torch, its optimisers)
    small = ["generator=cvae", "evaluation.n_splits=3", "generator.steps=20"]
    _, serial = _command(tmp_path / "serial", *small, "evaluation.n_jobs=1", "threads=1")
    stderr, forked = _command(tmp_path / "forked", *small, "evaluation.n_jobs=3", "threads=3")
    log = (tmp_path / "forked" / "synthbalance.log").read_text()
    assert "folds: 3 worker processes from the preloaded fork server, 1 thread(s) each" in log
    assert _without_timings(None, forked["folds"]) == _without_timings(None, serial["folds"])
    assert stderr == ""  # no resource-tracker warning, no worker traceback


@pytest.mark.parametrize(
    ("n_jobs", "budget", "starts"),
    [("auto", 2, True), (2, 4, True), ("auto", 1, False), (1, 4, False), (None, 4, False),
     (0, 4, False), ("many", 4, False)],
)  # fmt: skip
def test_the_fork_server_starts_only_for_a_run_with_workers(monkeypatch, n_jobs, budget, starts):
    from multiprocessing import forkserver

    from joblib.externals.loky.backend import context

    started = []
    monkeypatch.setattr(context, "_DEFAULT_START_METHOD", parallel.FORK_SERVER)
    monkeypatch.setattr(forkserver, "ensure_running", lambda: started.append(True))
    parallel.start_fork_server(n_jobs, budget)  # an invalid n_jobs is the run's to refuse
    assert started == ([True] if starts else [])
