"""Does the verdict decide? False alarms of a generator that adds nothing, power against a
perfect one, and the folds each protocol spends to get there.

Every simulated set is 1,500 rows (1,350 majority, 150 minority, 10 features) of its own
data-generating process: ``make_classification`` with 2 clusters per class, 2 redundant
features, ``class_sep`` drawn from U(0.5, 1.5) and 3-6 informative features, of which a
100,000-row sample is drawn once and split into the set, a pool of fresh minority rows and
held-out rows. The classifier is a random forest (100 trees, ``n_jobs=1``); the methods are
``baseline`` and ``augmented``; the comparisons judged are augmented vs baseline on F1 and
ROC AUC.

- **No effect** (30 sets): the generator adds 120 bootstrap copies of the training part's
  rows, in its class proportions, each with its own label. A verdict of "improves" or
  "hurts" is a false alarm (nominal rate 5 %).
- **Perfect generator** (20 sets): the generator adds 120 fresh minority rows drawn from
  the pool, rows of the same process that are never part of the set. Power is the share of
  sets whose true F1 gain is at least +0.02 that are judged "improves".

A set's true gain is measured independently of its 1,500 rows: the mean, over 20 training
sets of 1,200 rows (1,080 + 120, the size of a 5-fold training part) drawn from the
held-out rows, of the generator's gain on 20,000 further held-out rows (18,000 + 2,000).

Protocols: the default (5 x 2 folds), ``n_repeats=auto`` with 5-fold rounds (5 x 2 to
5 x 10) and with 10-fold rounds (10 x 1 to 10 x 5, ``evaluation=adaptive``): at most 50
generator fits, 5 times the default's 10. Sets run in ``--jobs`` processes; every number is
a function of the set's seed alone.

    python benchmarks/bench_verdict.py [--quick] [--jobs 2] [--spending obrien_fleming]
        [--null-sets 30] [--power-sets 20] [--draws 20]

``--null-sets 0`` or ``--power-sets 0`` runs one benchmark alone (two processes then run
the two side by side).
"""

import argparse
import time
from numbers import Integral

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

import synthbalance as sb

HEADLINE = ("f1", "roc_auc")
N_NEW = 120
REAL_GAIN = 0.02
# name -> (n_splits, n_repeats, max_repeats)
PROTOCOLS = {
    "default 5 x 2": (5, 2, 10),
    "auto, 5-fold rounds (<= 5 x 10)": (5, "auto", 10),
    "auto, 10-fold rounds (<= 10 x 5)": (10, "auto", 5),
}


class FreshRows(BaseOverSampler):
    """The perfect generator: ``n_new`` minority rows drawn from ``pool``, rows of the
    data-generating process that are never part of the dataset."""

    _parameter_constraints = {
        **BaseOverSampler._parameter_constraints,
        "pool": ["array-like"],
        "n_new": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, sampling_strategy="auto", pool=None, n_new=N_NEW, random_state=None):
        self.sampling_strategy = sampling_strategy
        self.pool = pool
        self.n_new = n_new
        self.random_state = random_state

    def _fit_resample(self, X, y):
        rng = check_random_state(self.random_state)
        (minority,) = self.sampling_strategy_
        pool = np.asarray(self.pool)
        rows = pool[rng.choice(len(pool), self.n_new, replace=False)]
        return np.vstack([X, rows]), np.r_[y, np.full(self.n_new, minority, dtype=y.dtype)]


class BootstrapCopies(BaseOverSampler):
    """The generator without an expected effect: ``n_new`` rows drawn with replacement
    from the training part, in its class proportions, each keeping its label."""

    _parameter_constraints = {
        **BaseOverSampler._parameter_constraints,
        "n_new": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, sampling_strategy="auto", n_new=N_NEW, random_state=None):
        self.sampling_strategy = sampling_strategy
        self.n_new = n_new
        self.random_state = random_state

    def _fit_resample(self, X, y):
        rng = check_random_state(self.random_state)
        rows = []
        for label in np.unique(y):
            members = np.flatnonzero(y == label)
            count = int(round(self.n_new * len(members) / len(y)))
            rows.append(rng.choice(members, count, replace=True))
        rows = np.concatenate(rows)
        return np.vstack([X, X[rows]]), np.r_[y, y[rows]]


def simulated_set(seed):
    """``(X, y, pool, held_out)`` of one process: the 1,500-row set, fresh minority rows
    for the perfect generator, and ``(X, y)`` rows for its true gain, none shared."""
    rng = np.random.default_rng(seed)
    X, y = make_classification(
        n_samples=100_000, n_features=10, n_informative=int(rng.integers(3, 7)),
        n_redundant=2, n_clusters_per_class=2, weights=[0.9], flip_y=0,
        class_sep=float(rng.uniform(0.5, 1.5)), random_state=seed,
    )  # fmt: skip
    majority, minority = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    data = rng.permutation(np.r_[majority[:1350], minority[:150]])
    pool = X[minority[150:3150]]
    held_out = np.r_[majority[1350:], minority[3150:]]
    return X[data], y[data], pool, (X[held_out], y[held_out])


def true_gain(generator, held_out, seed, draws):
    """``{metric: mean gain}`` of ``generator`` for 1,200-row training sets of the process,
    on 20,000 rows none of them holds."""
    X, y = held_out
    rng = np.random.default_rng(seed)
    majority, minority = (
        rng.permutation(np.flatnonzero(y == 0)),
        rng.permutation(np.flatnonzero(y == 1)),
    )
    test = np.r_[majority[:18000], minority[:2000]]
    majority, minority = majority[18000:], minority[2000:]
    gains = {metric: [] for metric in HEADLINE}
    for _ in range(draws):
        train = np.r_[
            rng.choice(majority, 1080, replace=False), rng.choice(minority, 120, replace=False)
        ]
        state = int(rng.integers(2**31))
        sampler = clone(generator).set_params(random_state=state)
        X_aug, y_aug = sampler.fit_resample(X[train], y[train])
        scores = {}
        for name, (X_fit, y_fit) in {
            "baseline": (X[train], y[train]),
            "augmented": (X_aug, y_aug),
        }.items():
            forest = RandomForestClassifier(n_jobs=1, random_state=state).fit(X_fit, y_fit)
            scores[name] = {
                "f1": f1_score(y[test], forest.predict(X[test])),
                "roc_auc": roc_auc_score(y[test], forest.predict_proba(X[test])[:, 1]),
            }
        for metric in HEADLINE:
            gains[metric].append(scores["augmented"][metric] - scores["baseline"][metric])
    return {metric: float(np.mean(values)) for metric, values in gains.items()}


def judged(X, y, generator, seed, protocol, spending):
    """The verdicts of one protocol on one set, the folds it spent and why it stopped."""
    n_splits, n_repeats, max_repeats = protocol
    report = sb.evaluate(
        X, y, generator=generator, classifier=RandomForestClassifier(n_jobs=1),
        methods=("baseline", "augmented"), n_splits=n_splits, n_repeats=n_repeats,
        max_repeats=max_repeats, spending=spending, seed=seed, quality=False,
    )  # fmt: skip
    data = report.data
    found = {
        c["metric"]: c
        for c in data["comparisons"]
        if (c["method"], c["versus"]) == ("augmented", "baseline") and c["metric"] in HEADLINE
    }
    fits = sum(1 for r in data["folds"] if r["method"] == "augmented")
    return {
        "verdicts": {m: found[m]["verdict"] for m in HEADLINE},
        "mde": {m: found[m]["mde"] for m in HEADLINE},
        "fits": fits * data["protocol"]["generator_seeds"],
        "stopped": data["protocol"].get("adaptive", {}).get("stopped", "fixed"),
    }


def one_set(kind, seed, draws, spending):
    """Everything measured on one simulated set."""
    X, y, pool, held_out = simulated_set(seed)
    generator = FreshRows(pool=pool) if kind == "perfect" else BootstrapCopies()
    start = time.perf_counter()
    result = {"kind": kind, "seed": seed, "truth": true_gain(generator, held_out, seed, draws)}
    result["protocols"] = {
        name: judged(X, y, generator, seed, protocol, spending)
        for name, protocol in PROTOCOLS.items()
    }
    result["seconds"] = time.perf_counter() - start
    return result


def wrong_sign(results):
    """Comparisons judged "hurts" for a real gain or "improves" for a real loss."""
    wrong = {name: 0 for name in PROTOCOLS}
    for r in results:
        for name, outcome in r["protocols"].items():
            for metric, verdict in outcome["verdicts"].items():
                truth = r["truth"][metric]
                wrong[name] += (verdict == "hurts" and truth > 0) or (
                    verdict == "improves" and truth < 0
                )
    return wrong


def fits_line(results, name):
    fits = [r["protocols"][name]["fits"] for r in results]
    default = np.mean([r["protocols"]["default 5 x 2"]["fits"] for r in results])
    stopped = sum(
        r["protocols"][name]["stopped"] == "every headline comparison decided" for r in results
    )
    mean = np.mean(fits)
    return f"{mean:5.1f} fits ({mean / default:.1f} x), decided early {stopped}/{len(results)}"


def report_null(results):
    truth = {m: [r["truth"][m] for r in results] for m in HEADLINE}
    print(
        f"\nNo-effect generator (bootstrap copies): {len(results)} sets, {2 * len(results)} "
        f"comparisons; true gain F1 {np.mean(truth['f1']):+.4f} (sd {np.std(truth['f1']):.4f}), "
        f"ROC AUC {np.mean(truth['roc_auc']):+.4f} (sd {np.std(truth['roc_auc']):.4f})"
    )
    for name in PROTOCOLS:
        verdicts = [v for r in results for v in r["protocols"][name]["verdicts"].values()]
        alarms = sum(v in ("improves", "hurts") for v in verdicts)
        equivalent = sum(v == "equivalent" for v in verdicts)
        mde = np.mean([r["protocols"][name]["mde"]["f1"] for r in results])
        print(
            f"  {name:34s} false alarms {alarms:2d}/{len(verdicts)} "
            f"({100 * alarms / len(verdicts):4.1f} %), "
            f"equivalent {equivalent:2d}, F1 MDE {mde:.3f}; {fits_line(results, name)}"
        )


def report_power(results):
    gains = np.array([r["truth"]["f1"] for r in results])
    real = [r for r in results if r["truth"]["f1"] >= REAL_GAIN]
    bins = [(0.02, 0.05), (0.05, 0.1), (0.1, np.inf)]
    print(
        f"\nPerfect generator ({N_NEW} fresh minority rows): {len(results)} sets; true F1 gain "
        f"{gains.mean():+.3f} on average ({gains.min():+.3f} to {gains.max():+.3f}), "
        f"{len(real)} sets >= +{REAL_GAIN}; true ROC AUC gain "
        f"{np.mean([r['truth']['roc_auc'] for r in results]):+.4f}"
    )
    for name in PROTOCOLS:
        hits = sum(r["protocols"][name]["verdicts"]["f1"] == "improves" for r in real)
        by_bin = []
        for low, high in bins:
            members = [r for r in real if low <= r["truth"]["f1"] < high]
            found = sum(r["protocols"][name]["verdicts"]["f1"] == "improves" for r in members)
            by_bin.append(f"{found}/{len(members)}")
        auc = sum(r["protocols"][name]["verdicts"]["roc_auc"] == "improves" for r in results)
        mde = np.mean([r["protocols"][name]["mde"]["f1"] for r in results])
        print(
            f"  {name:34s} power F1 {hits:2d}/{len(real)} "
            f"({100 * hits / max(len(real), 1):3.0f} %; by gain [.02,.05) [.05,.1) >=.1: "
            f"{' '.join(by_bin)}), ROC AUC improves {auc}/{len(results)}, "
            f"F1 MDE {mde:.3f}; {fits_line(results, name)}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 + 4 sets, 5 draws per true gain")
    parser.add_argument("--null-sets", type=int, default=30)
    parser.add_argument("--power-sets", type=int, default=20)
    parser.add_argument("--draws", type=int, default=20, help="training sets per true gain")
    parser.add_argument("--jobs", type=int, default=1, help="sets evaluated at once")
    parser.add_argument(
        "--spending", default="obrien_fleming", choices=("obrien_fleming", "pocock")
    )
    args = parser.parse_args()
    if args.quick:
        args.null_sets, args.power_sets, args.draws = 4, 4, 5
    print(
        "per set: true gains, then F1/ROC AUC verdicts and generator fits of "
        + ", ".join(PROTOCOLS),
        flush=True,
    )
    jobs = [("null", 1000 + i) for i in range(args.null_sets)]
    jobs += [("perfect", 2000 + i) for i in range(args.power_sets)]
    start = time.perf_counter()
    sets = Parallel(n_jobs=args.jobs, return_as="generator")(
        delayed(one_set)(kind, seed, args.draws, args.spending) for kind, seed in jobs
    )
    results = []
    for r in sets:  # in order, as they finish
        outcome = "  ".join(
            f"{o['verdicts']['f1'][:3]}/{o['verdicts']['roc_auc'][:3]} {o['fits']:2d}"
            for o in r["protocols"].values()
        )
        print(
            f"{r['kind']:7s} set {r['seed']}: true F1 {r['truth']['f1']:+.3f} "
            f"ROC AUC {r['truth']['roc_auc']:+.4f} | {outcome} | {r['seconds']:.0f} s",
            flush=True,
        )
        results.append(r)
    if null := [r for r in results if r["kind"] == "null"]:
        report_null(null)
    if perfect := [r for r in results if r["kind"] == "perfect"]:
        report_power(perfect)
    wrong = wrong_sign(results)
    print(
        "\nJudged 'hurts' for a real gain or 'improves' for a real loss (F1 and ROC AUC, both "
        "benchmarks): " + ", ".join(f"{name}: {n}" for name, n in wrong.items())
    )
    print(f"spending {args.spending}; {time.perf_counter() - start:.0f} s on {args.jobs} job(s)")


if __name__ == "__main__":
    main()
