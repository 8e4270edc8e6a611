"""Fit time and sample quality of the third-party generators (issue #16) beside imblearn's
SMOTE, on the user's scenario.

``seed_case`` (20,500 rows, 20 features, 500 minority rows), 20 % held out (stratified);
every generator is fitted on the rest and balances it (``sampling_strategy="auto"``: 15,600
new minority rows). For each one: its fit seconds (the sampler's ``fit_seconds_`` where it
keeps them, else the whole ``fit_resample``) and their ratio to SMOTE's in the same run,
and the C2ST AUC of its synthetic minority against the held-out real minority (100 rows;
``synthbalance.generators.metrics.c2st_auc``, mean over ``C2ST_DRAWS`` seeds, each a fresh
subsample of the synthetic rows and fresh folds). The first row is the floor: the training
minority's own real rows against the held-out ones. ForestDiffusion runs smaller than its
defaults (``FULL["forest"]``), the largest that fits a few minutes here. Needs both extras
(``pip install "synthbalance[smote_variants,forest_diffusion]"``).

Usage::

    python benchmarks/bench_third_party.py           # the full seed_case, a few minutes
    python benchmarks/bench_third_party.py --quick   # smaller data, a smaller forest
"""

import argparse
import time

import numpy as np
from imblearn.over_sampling import SMOTE
from sklearn.model_selection import train_test_split

from synthbalance.generators import ForestDiffusionSampler, SmoteVariantsSampler
from synthbalance.generators.metrics import c2st_auc
from synthbalance.pipelines.datasets import seed_case
from synthbalance.pipelines.sweep import limit_threads

SEED = 0
THREADS = 2
C2ST_DRAWS = 5
# ForestDiffusion's own defaults (n_t=50, duplicate_K=100, n_estimators=100) grow 50x more
# trees on 5x more rows than FULL's forest: hours per fit on 2 cores.
FULL = dict(n_majority=20_000, n_minority=500,
            forest=dict(n_t=10, duplicate_K=20, n_estimators=50))  # fmt: skip
QUICK = dict(n_majority=4_000, n_minority=200,
             forest=dict(n_t=10, duplicate_K=20, n_estimators=30))  # fmt: skip


def generators(forest):
    return {
        "smote (imblearn)": SMOTE(random_state=SEED),
        "polynom_fit_SMOTE": SmoteVariantsSampler(method="polynom_fit_SMOTE", random_state=SEED),
        "ProWSyn": SmoteVariantsSampler(method="ProWSyn", random_state=SEED),
        "forest_diffusion": ForestDiffusionSampler(n_jobs=THREADS, random_state=SEED, **forest),
    }


def c2st(real, synthetic):
    return float(np.mean([c2st_auc(real, synthetic, random_state=s) for s in range(C2ST_DRAWS)]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    settings = QUICK if parser.parse_args().quick else FULL
    limit_threads(THREADS)
    data = seed_case(n_majority=settings["n_majority"], n_minority=settings["n_minority"])
    X, y = np.asarray(data.X), np.asarray(data.y)
    X_fit, X_held, y_fit, y_held = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=SEED
    )
    held = X_held[y_held == 1]
    print(f"seed_case {len(X)} rows, {X.shape[1]} features; fit on {len(X_fit)} rows "
          f"({(y_fit == 1).sum()} minority), C2ST against {len(held)} held-out minority rows, "
          f"{THREADS} threads")  # fmt: skip
    print(f"{'generator':<20} {'new rows':>9} {'fit s':>9} {'x smote':>8} {'C2ST AUC':>9}")
    print(f"{'real (floor)':<20} {'':>9} {'':>9} {'':>8} {c2st(held, X_fit[y_fit == 1]):>9.3f}")
    reference = None
    for name, sampler in generators(settings["forest"]).items():
        start = time.perf_counter()
        X_res, y_res = sampler.fit_resample(X_fit, y_fit)
        seconds = getattr(sampler, "fit_seconds_", time.perf_counter() - start)
        reference = seconds if reference is None else reference
        new = X_res[len(X_fit) :][y_res[len(X_fit) :] == 1]
        print(f"{name:<20} {len(new):>9} {seconds:>9.2f} {seconds / reference:>8.1f} "
              f"{c2st(held, new):>9.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
