"""The evaluation loop against a bare scikit-learn/imbalanced-learn equivalent, same process.

``run(cfg)`` with generator=smote, classifier=logreg on seed_case, 5 x 2 folds, methods
baseline and augmented, quality metrics off, from dataset loaded to report written, against
``cross_validate``
of the same imblearn pipeline (SMOTE + StandardScaler + LogisticRegression) and of the
baseline classifier on the same folds, with the same six metrics.
Target: loop <= 1.25 x bare.

    python benchmarks/bench_loop.py [--rounds 3]
"""

import argparse
import statistics
import tempfile
import time

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
