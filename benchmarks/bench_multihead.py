"""One multi-head model against four separate binary models: inference cost and per-class F1.

On ``seed_multiclass`` (base class 0 against four rare classes, an MLP trunk on features the
model standardises itself) and on ``mnist`` (digit 0 against digits 1-4 at 200, 120, 80 and
40 images, the CNN trunk), a ``MultiHeadClassifier`` (one trunk, four heads;
``classifier=multihead_mlp`` and ``multihead_cnn`` as configured) is compared with four
separate binary models of the same trunk and head architecture and settings (each a
``MultiHeadClassifier`` fitted on the base class and one minority class only):

- ``--part cost``: inference FLOPs of one batch of 4,096 rows (``torch.utils.flop_counter``)
  and the wall time of scoring it (every head's probability, the evaluation's hook) with 2
  torch threads, as ratios separate / multi-head. The two models are timed in alternation,
  ``--repeats`` rounds each of as many back-to-back calls as fill ``ROUND_SECONDS``, and each
  round gives a time per call; the median over rounds is printed. A batch of the MLP takes a
  millisecond or two, as long as a timer's jitter and a scheduler's hiccup: single calls
  moved its ratio from 1.66 to 3.53 between two runs;
- ``--part f1``: ``synthbalance.evaluate`` runs both on the same 5 x 2 folds (method
  baseline: real rows only), each class scored on its own head against the base class; the
  per-fold differences in macro F1 and in each class's F1 (multi-head - separate) get the
  project's corrected resampled t-test with rope 0.02 ("equivalent or better" means the
  verdict is equivalent or improves; "CI low > -rope" says whether the multi-head model is
  shown to be no worse than the separate ones by more than the rope).

    python benchmarks/bench_multihead.py [--datasets seed_multiclass mnist] [--part cost f1]

Time the cost part alone under the exclusive lock: ``flock -x /work/heavy.lock python ...``.
"""

import argparse
import math
import statistics
import time
from functools import partial
from importlib.resources import files

import numpy as np
import torch
from imblearn.over_sampling import RandomOverSampler
from omegaconf import OmegaConf
from scipy.special import logit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline
from torch.utils.flop_counter import FlopCounterMode

import synthbalance as sb
from synthbalance.pipelines.components import build
from synthbalance.pipelines.datasets import seed_multiclass
from synthbalance.pipelines.estimators import fill_unset, final_step, head_scores, with_seed
from synthbalance.pipelines.images import mnist
from synthbalance.pipelines.stats import corrected_ttest

BATCH = 4096
ROUND_SECONDS = 0.2
ROPE = 0.02
THREADS = 2


class SeparateModels(ClassifierMixin, BaseEstimator):
    """One binary ``estimator`` per minority class, each fitted on the rows of the base class
    and of that class only; scored through the same head hook as the multi-head model."""

    def __init__(self, estimator=None, base_class=None):
        self.estimator = estimator
        self.base_class = base_class

    def fit(self, X, y):
        X, y = np.asarray(X, dtype=np.float32), np.asarray(y)
        self.classes_ = np.unique(y)
        base = self.base_class
        if base is None:
            base = max(self.classes_, key=lambda c: (y == c).sum())
        self.base_class_ = base
        self.heads_ = self.classes_[self.classes_ != base]
        self.models_ = []
        for class_ in self.heads_:
            rows = (y == base) | (y == class_)
            self.models_.append(clone(self.estimator).fit(X[rows], y[rows]))
        return self

    def head_proba(self, X):
        return np.column_stack([model.head_proba(X)[:, 0] for model in self.models_])

    def predict_proba(self, X):
        log_odds = np.zeros((len(X), len(self.classes_)))
        columns = [int(np.flatnonzero(self.classes_ == h)[0]) for h in self.heads_]
        log_odds[:, columns] = logit(np.clip(self.head_proba(X), 1e-12, 1 - 1e-12))
        return softmax(log_odds, axis=1)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def setups():
    """``{dataset: (Dataset, classifier config)}``."""
    return {
        "seed_multiclass": (seed_multiclass(), "multihead_mlp"),
        "mnist": (
            mnist(minority_digit=[1, 2, 3, 4], majority_digits=[0], n_minority=[200, 120, 80, 40]),
            "multihead_cnn",
        ),
    }


def both(config, dataset):
    """The multi-head model of ``conf/classifier/<config>.yaml`` (behind its Pipeline's steps
    if the config has any) and four separate binary models with the very same settings."""
    node = OmegaConf.load(files("synthbalance.conf").joinpath("classifier", f"{config}.yaml"))
    multi, _ = build(node)
    if dataset.image_shape is not None:
        multi = fill_unset(multi, "image_shape", tuple(dataset.image_shape))
    steps = [(n, clone(s)) for n, s in multi.steps[:-1]] if isinstance(multi, Pipeline) else []
    separate = SeparateModels(clone(final_step(multi)))
    return {
        "multi-head": multi,
        "separate": Pipeline([*steps, ("separate", separate)]) if steps else separate,
    }


def networks(fitted):
    """The torch modules a fitted model runs at inference."""
    final = final_step(fitted)
    return (
        [m.module_ for m in final.models_] if isinstance(final, SeparateModels) else [final.module_]
    )


def cost(dataset, config, repeats):
    """Inference FLOPs and wall time of a batch of ``BATCH`` rows, for both models."""
    X, y = dataset.encoded().astype(np.float32), dataset.y
    batch = np.resize(X, (BATCH, X.shape[1]))  # rows repeated up to the batch size
    torch.set_num_threads(THREADS)
    flops, scorers = {}, {}
    for name, candidate in both(config, dataset).items():
        # one epoch: the weights change neither the FLOPs nor the time of a forward pass
        fitted = with_seed(candidate, 0).set_params(**_settings(candidate, epochs=1)).fit(X, y)
        # the rows as a Pipeline's steps pass them on; a model's own standardising (timed with
        # the rest of the call) is left out: values change neither FLOPs nor forward time
        seen = fitted[:-1].transform(batch) if fitted is not final_step(fitted) else batch
        rows = torch.from_numpy(np.asarray(seen, dtype=np.float32))
        with FlopCounterMode(display=False) as counter:
            _forward(networks(fitted), rows)
        flops[name] = counter.get_total_flops()
        scorers[name] = partial(head_scores, fitted, batch)
        scorers[f"{name} forward"] = partial(_forward, networks(fitted), rows)
    calls = {name: _calls_per_round(score) for name, score in scorers.items()}
    seconds = {name: [] for name in scorers}
    for _ in range(repeats):  # alternating, so that a busy moment hits both models
        for name, score in scorers.items():
            seconds[name].append(_seconds_per_call(score, calls[name]))
    median = {name: statistics.median(s) for name, s in seconds.items()}
    multi_flops, separate_flops = flops.values()
    multi_s, separate_s = median["multi-head"], median["separate"]
    print(f"  inference FLOPs per batch of {BATCH}: multi-head {multi_flops / 1e6:,.1f} M, "
          f"separate {separate_flops / 1e6:,.1f} M -> "
          f"{separate_flops / multi_flops:.2f}x fewer")  # fmt: skip
    print(f"  wall time per batch of {BATCH} on {THREADS} threads (median of {repeats} rounds "
          f"of {calls['multi-head']} / {calls['separate']} calls): "
          f"multi-head {multi_s * 1e3:.2f} ms, separate {separate_s * 1e3:.2f} ms -> "
          f"{separate_s / multi_s:.2f}x lower")  # fmt: skip
    multi_f, separate_f = median["multi-head forward"], median["separate forward"]
    print(f"  of which the networks' forward passes alone: multi-head {multi_f * 1e3:.2f} ms, "
          f"separate {separate_f * 1e3:.2f} ms -> {separate_f / multi_f:.2f}x lower; the rest "
          f"(input checks, standardising, sigmoids: {(multi_s - multi_f) * 1e3:.2f} / "
          f"{(separate_s - separate_f) * 1e3:.2f} ms) is paid per call")  # fmt: skip


def _forward(modules, rows):
    with torch.no_grad():
        for module in modules:
            module(rows)


def _calls_per_round(function):
    """How many back-to-back calls of ``function`` fill about ``ROUND_SECONDS`` (after a
    warm-up call)."""
    function()
    return max(1, math.ceil(ROUND_SECONDS / _seconds_per_call(function, 1)))


def _seconds_per_call(function, calls):
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def f1(dataset, config):
    """Both models on the same 5 x 2 folds: mean F1 and the paired verdict, per class."""
    folds = {}
    for name, candidate in both(config, dataset).items():
        start = time.perf_counter()
        report = sb.evaluate(
            dataset.X, dataset.y, generator=RandomOverSampler(), classifier=candidate,
            methods=["baseline"], n_splits=5, n_repeats=2, seed=0, rope=ROPE, quality=False,
            minority=dataset.minority_classes, base=dataset.base_class, name=dataset.name,
            image_shape=dataset.image_shape,
        )  # fmt: skip
        folds[name] = report.data["folds"]
        fit = np.mean([r["seconds"]["classifier_fit"] for r in folds[name]])
        print(f"  {name}: {time.perf_counter() - start:.0f} s for 10 folds, fit {fit:.1f} s a fold")
    multi, separate = folds["multi-head"], folds["separate"]
    assert [(r["repeat"], r["fold"]) for r in multi] == [(r["repeat"], r["fold"]) for r in separate]
    n_train, n_test = multi[0]["n_train"], multi[0]["n_test"]
    rows = [("macro", lambda r: r["metrics"]["f1"])]
    rows += [
        (c, lambda r, c=str(c): r["metrics_by_class"][c]["f1"]) for c in dataset.minority_classes
    ]
    header = ("class", "multi-head F1", "separate F1", "delta [95% CI]", "CI low > -rope")
    print("  {:>8}  {:>13}  {:>11}  {:>24}  {:>14}  verdict".format(*header))
    for label, value in rows:
        a = np.array([value(r) for r in multi])
        b = np.array([value(r) for r in separate])
        test = corrected_ttest(a - b, n_train, n_test, rope=ROPE)
        ok = "ok" if test["verdict"] in ("equivalent", "improves") else "NOT MET"
        not_worse = "yes" if test["ci_low"] > -ROPE else "no"
        print(f"  {label:>8}  {a.mean():>13.3f}  {b.mean():>11.3f}  "
              f"{test['delta_mean']:+.3f} [{test['ci_low']:+.3f}, {test['ci_high']:+.3f}]  "
              f"{not_worse:>14}  {test['verdict']} ({ok})")  # fmt: skip


def _settings(estimator, **values):
    """``values`` for every (nested) parameter of ``estimator`` of those names."""
    return {
        key: value
        for key in estimator.get_params()
        for name, value in values.items()
        if key == name or key.endswith(f"__{name}")
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["seed_multiclass", "mnist"])
    parser.add_argument("--part", nargs="+", default=["cost", "f1"], choices=["cost", "f1"])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    for name, (dataset, config) in setups().items():
        if name not in args.datasets:
            continue
        print(f"{name}: {dataset.class_counts}, classifier={config}")
        if "cost" in args.part:
            cost(dataset, config, args.repeats)
        if "f1" in args.part:
            torch.set_num_threads(1)  # tiny networks train fastest on one thread
            f1(dataset, config)


if __name__ == "__main__":
    main()
