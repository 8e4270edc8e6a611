"""The evaluation loop: its overhead over bare scikit-learn, and the default job's wall time
with its folds in worker processes.

``--part overhead``: ``run(cfg)`` with generator=smote, classifier=logreg on seed_case,
5 x 2 folds, methods baseline and augmented, quality metrics off, one process
(``evaluation.n_jobs=1``), from dataset loaded to report written, against
``cross_validate`` of the same imblearn pipeline (SMOTE + StandardScaler +
LogisticRegression) and of the baseline classifier on the same folds, with the same six
metrics. Target: loop <= 1.25 x bare.

``--part parallel``: the README's first command, ``synthbalance`` on its built-in default
(seed_case, cvae, logreg, 5 x 2 folds, every method), as a user starts it (a fresh process,
imports included): serial (``evaluation.n_jobs=1 threads=1``) against the defaults (one
worker per core), then the defaults again beside one busy process (``python -c 'while True:
pass'``). Targets on 2 cores: default <= 0.65 x serial and <= 45 s, the same fold metrics;
beside the busy process <= 1.5 x the idle default.

    python benchmarks/bench_loop.py [--part overhead|parallel|all] [--rounds 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_module
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from synthbalance.pipelines.app import run
from synthbalance.pipelines.datasets import seed_case
from synthbalance.pipelines.metrics import threshold_scorers

# The six report metrics as scikit-learn scorers (class 1 is seed_case's minority).
SCORING = {**threshold_scorers(1), "roc_auc": "roc_auc", "pr_auc": "average_precision"}


def bare(seed=0):
    data = seed_case()
    X, y = data.X.to_numpy(dtype=float), data.y
    folds = list(RepeatedStratifiedKFold(n_splits=5, n_repeats=2, random_state=seed).split(X, y))
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    augmented = Pipeline([("smote", SMOTE(random_state=seed)), ("clf", classifier)])
    for estimator in (classifier, augmented):
        cross_validate(estimator, X, y, cv=folds, scoring=SCORING)


def loop(cfg):
    run(cfg)


def overhead(args):
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as out:
        with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
            cfg = compose(
                "config",
                overrides=[
                    # The same work as the bare reference: no threshold or class-weight methods,
                    # no quality metrics (bench_quality.py measures their cost).
                    "evaluation.methods=[baseline,augmented]",
                    "evaluation.quality.enabled=false",
                    "generator=smote",
                    "classifier=logreg",
                    "evaluation.progress=false",
                    "evaluation.n_jobs=1",  # as cross_validate: one process
                    f"output_dir={out}",
                ],
            )
        timings = {"bare cross_validate": [], "synthbalance run(cfg)": []}
        loop(cfg)  # warm-up: imports, font cache
        for _ in range(args.rounds):
            for name, job in (
                ("bare cross_validate", bare),
                ("synthbalance run(cfg)", lambda: loop(cfg)),
            ):
                start = time.perf_counter()
                job()
                timings[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    print(f"seed_case 20,500 x 20, smote + logreg, 5 x 2 folds, median of {args.rounds} rounds")
    for name, value in medians.items():
        print(f"  {name:<24} {value:7.2f} s")
    ratio = medians["synthbalance run(cfg)"] / medians["bare cross_validate"]
    verdict = "PASS" if ratio <= 1.25 else "FAIL"
    print(f"  ratio loop / bare        {ratio:7.2f}  (target <= 1.25: {verdict})")


def default_job(directory, *overrides):
    """Wall seconds of ``synthbalance`` (the installed command) and the report it wrote."""
    command = [str(Path(sys.executable).with_name("synthbalance")), "evaluation.progress=false",
               f"hydra.run.dir={directory}", *overrides]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    return seconds, json.loads((Path(directory) / "report.json").read_text())


def fold_metrics(report):
    return [(r["repeat"], r["fold"], r["method"], r["metrics"]) for r in report["folds"]]


# name -> (overrides, beside a busy process)
JOBS = {
    "serial (n_jobs=1 threads=1)": (["evaluation.n_jobs=1", "threads=1"], False),
    "default": ([], False),
    "default beside a busy process": ([], True),
}


def timed_job(directory, overrides, beside_busy):
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if beside_busy else None
    try:
        return default_job(directory, *overrides)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()


def parallel(args):
    print(f"the default job (synthbalance, no overrides) on {os.cpu_count()} cores, "
          f"median of {args.rounds} rounds")  # fmt: skip
    times, reports = {name: [] for name in JOBS}, []
    with tempfile.TemporaryDirectory() as out:
        for round_ in range(args.rounds):
            for name, (overrides, beside_busy) in JOBS.items():
                directory = f"{out}/{len(reports)}"
                seconds, report = timed_job(directory, overrides, beside_busy)
                times[name].append(seconds)
                reports.append(report)
                print(f"  round {round_ + 1}: {name:<32} {seconds:7.1f} s", flush=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    serial, default, busy = medians.values()
    same = len({json.dumps(fold_metrics(r)) for r in reports}) == 1
    for name, value in medians.items():
        print(f"  {name:<34} {value:7.1f} s")
    checks = [
        ("default / serial", default / serial, 0.65, ""),
        ("default", default, 45, " s"),
        ("busy / idle default", busy / default, 1.5, ""),
    ]
    for name, value, target, unit in checks:
        verdict = "PASS" if value <= target else "FAIL"
        print(f"  {name:<34} {value:7.2f}{unit}  (target <= {target}{unit}: {verdict})")
    print(f"  the same fold metrics in every run: {'PASS' if same else 'FAIL'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["overhead", "parallel", "all"], default="all")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.part in ("overhead", "all"):
        overhead(args)
    if args.part in ("parallel", "all"):
        parallel(args)


if __name__ == "__main__":
    main()
