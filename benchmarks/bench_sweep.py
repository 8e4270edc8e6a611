"""Wall time of a sweep with the joblib launcher (n_jobs=2) against Hydra's basic launcher.

    python benchmarks/bench_sweep.py --quick   # 3 KEEL datasets x {smote, cvae}, 2 folds
    python benchmarks/bench_sweep.py --quick --splits 5
    python benchmarks/bench_sweep.py           # experiment=keel_benchmark: 12 x 8, 5 x 2 folds
                                               # (its smote-variants runs need that extra)
    python benchmarks/bench_sweep.py --splits 2 --repeats 1   # the same 96 runs, 2 folds each

Both sweeps run the same ``synthbalance -m`` command in a subprocess; only the launcher
differs. With ``threads=null`` each joblib job limits torch and BLAS to cores / n_jobs
threads, while a basic-launcher job may use every core. The script prints both wall times,
their ratio (basic / joblib: the speed-up) and whether the two sweeps reached the same
comparison table.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

BIN = Path(sys.executable).parent
QUICK = ["dataset.name=ecoli1,glass0,pima", "generator=smote,cvae", "evaluation.n_repeats=1"]


def sweep(overrides, directory):
    command = [str(BIN / "synthbalance"), "-m", "experiment=keel_benchmark", *overrides]
    command.append(f"hydra.sweep.dir={directory}")
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return seconds


def comparison(directory):
    result = subprocess.run(
        [str(BIN / "synthbalance-compare"), str(directory), "--out", str(directory / "cmp")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    table = pd.read_csv(directory / "cmp" / "comparison.csv").drop(columns="run")
    return table.sort_values(["dataset", "generator"], ignore_index=True)


def differing_cells(a, b):
    """The cells where two comparison tables (same runs, same order) differ: numbers by
    more than 1e-9, anything else at all."""
    keys = ["dataset", "generator", "class"]
    rows = []
    for column in a.columns.drop(keys, errors="ignore"):
        x, y = a[column], b[column]
        numeric = [
            pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v) for v in (x, y)
        ]
        if all(numeric):
            differ = ((x - y).abs() > 1e-9) & ~(x.isna() & y.isna())
        else:
            differ = x.astype(str) != y.astype(str)
        for i in differ[differ].index:
            rows.append(
                {**a.loc[i, keys].to_dict(), "column": column, "basic": x[i], "joblib": y[i]}
            )
    return pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 datasets x 2 generators, 2 folds")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument(
        "--splits", type=int, help="folds per repeat (default: 2 with --quick, else as configured)"
    )
    parser.add_argument("--repeats", type=int, help="repeats (default: the experiment's)")
    args = parser.parse_args()
    overrides = list(QUICK) if args.quick else []
    if args.splits or args.quick:
        overrides.append(f"evaluation.n_splits={args.splits or 2}")
    if args.repeats:
        overrides.append(f"evaluation.n_repeats={args.repeats}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        basic = sweep(overrides, tmp / "basic")
        joblib = sweep(
            [*overrides, "hydra/launcher=joblib", f"hydra.launcher.n_jobs={args.n_jobs}"],
            tmp / "joblib",
        )
        runs = len(list((tmp / "basic").rglob("report.json")))
        differences = differing_cells(comparison(tmp / "basic"), comparison(tmp / "joblib"))
    print(
        f"{runs} runs ({'quick' if args.quick else 'keel_benchmark'}; "
        f"{' '.join(overrides) or 'its own folds'}) on {len(os.sched_getaffinity(0))} cores"
    )
    print(f"basic launcher:           {basic:8.1f} s")
    print(f"joblib launcher, n_jobs={args.n_jobs}: {joblib:8.1f} s")
    print(f"wall-time ratio basic / joblib: {basic / joblib:.2f}")
    if differences.empty:
        print("same comparison table: yes")
        return
    print(
        f"same comparison table: NO, {len(differences)} cells differ (torch and BLAS results "
        "depend on the thread count: the basic launcher's jobs get cores / 1 threads, the "
        "joblib jobs cores / n_jobs):"
    )
    print(differences.to_string(index=False, float_format=lambda v: f"{v:.9g}"))


if __name__ == "__main__":
    main()
