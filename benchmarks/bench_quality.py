"""Generator quality next to utility, and what measuring the quality costs, per dataset.

Every generator runs through the real evaluation loop
(``synthbalance.pipelines.evaluation.evaluate``, 5 stratified folds, methods baseline and
augmented, logistic regression on standardised features) with the quality check on (its
defaults: 20 % of each training fold's minority held out from the generator). Per dataset,
one table: the quality metrics of the synthetic minority (means over folds), the F1 and ROC
AUC deltas of augmentation against the baseline (mean and corrected t-test verdict), the
generator's fit time, the quality metrics' time and their ratio; then the target: quality
metrics <= 25 % of the fit time.

Datasets: ``seed_case`` (20,500 rows, 20 features) and ``digits`` (8 x 8 images as 64
columns, 30 "3"s against every 5 and 8). Generators: VAESampler and CVAESampler with their
config defaults (``conf/generator/{vae,cvae}.yaml``) in each sampling mode, and SMOTE, each
set up for the dataset as ``synthbalance`` sets it up (``components.for_dataset``): on
``digits`` the VAEs learn the image shape and so are the convolutional models the app
trains on images, not MLPs on flattened pixels. Their training budget is the config's
``steps`` ("auto": resolved per dataset as the samplers resolve it, e.g. 1,000 (vae) or 500
(cvae) steps on tables and 2,000 on images); ``--quick`` divides it by ten.

Usage::

    python benchmarks/bench_quality.py           # full benchmark, 8-20 minutes on 2 busy cores
    python benchmarks/bench_quality.py --quick   # smoke check, 1-2 minutes
"""

import argparse
import statistics
import sys
import time

import numpy as np
import torch
from hydra import compose, initialize_config_module
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import synthbalance as sb
from synthbalance.generators.metrics import QUALITY_METRICS
from synthbalance.pipelines.components import build, for_dataset
from synthbalance.pipelines.datasets import seed_case
from synthbalance.pipelines.images import digits
from synthbalance.pipelines.protocol import QualityCheck

SEED = 0
N_SPLITS = 5
ROPE = 0.01
MODES = ("prior", "posterior", "latent_average")
DEEP = ("vae", "cvae")
TARGET_QUALITY_COST = 0.25
# rounds: every (dataset, generator) pair runs once per round, the order rotated between
# rounds, so that load from other processes spreads over all of them; fold timings of all
# rounds are pooled. step_divisor: the configs' optimiser steps (resolved for each
# dataset) are divided by it.
FULL = dict(seed_case={}, step_divisor=1, rounds=3)
QUICK = dict(seed_case=dict(n_majority=4000, n_minority=100), step_divisor=10, rounds=2)

QUALITY_COLUMNS = {
    "c2st_auc": ("C2ST", ".3f"),
    "precision": ("prec", ".3f"),
    "recall": ("rec", ".3f"),
    "density": ("dens", ".3f"),
    "coverage": ("cov", ".3f"),
    "memorised": ("memor", ".3f"),
    "exact_copies": ("copies", ".3f"),
    "leaked": ("leaked", ".3f"),
}
VERDICTS = {"improves": "+", "hurts": "-", "equivalent": "=", "inconclusive": "?"}


def log(message):
    print(message, file=sys.stderr, flush=True)


def generators():
    """``[(label, generator, description)]``: each deep generator in each sampling mode
    with its config's defaults, then SMOTE."""
    with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
        nodes = {
            name: compose("config", overrides=[f"generator={name}"]).generator
            for name in (*DEEP, "smote")
        }
    result = []
    for name in DEEP:
        node = nodes[name]
        for mode in MODES:
            node.sampling = mode
            generator, info = build(node)
            result.append((f"{info['name']} {mode}", generator, info))
    generator, info = build(nodes["smote"])
    result.append((info["name"], generator, info))
    return result


def budget(generator):
    """``(steps, batch_size)`` a deep generator trains with: its parameters, "auto" resolved
    as its fit resolves it (from the class's settings for its architecture)."""
    architecture = generator.architecture
    if architecture == "auto":
        architecture = "mlp" if generator.image_shape is None else "conv"
    auto = type(generator)._AUTO[architecture]  # the samplers' table of "auto" settings
    return tuple(
        auto[name] if getattr(generator, name) == "auto" else getattr(generator, name)
        for name in ("steps", "batch_size")
    )


def for_each_dataset(data, gens, step_divisor):
    """``{dataset name: [(label, generator)]}``: every generator set up for each dataset
    as the app does (image shape, categorical columns), the deep ones' steps for that
    dataset divided by ``step_divisor``."""
    result = {}
    for dataset in data:
        result[dataset.name] = []
        for label, generator, info in gens:
            generator = for_dataset(generator, info, dataset)[0]
            if label.split()[0] in DEEP and step_divisor > 1:
                steps, _ = budget(generator)
                generator = clone(generator).set_params(steps=max(1, steps // step_divisor))
            result[dataset.name].append((label, generator))
    return result


def datasets(settings):
    return [seed_case(**settings["seed_case"]), digits()]


def classifier():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def run_one(dataset, generator):
    """The augmented records of one evaluation, and its comparisons against the baseline."""
    report = sb.evaluate(
        dataset.X, dataset.y, generator=generator, classifier=classifier(),
        minority=dataset.minority, image_shape=dataset.image_shape, name=dataset.name,
        n_splits=N_SPLITS, n_repeats=1, seed=SEED, rope=ROPE, methods=("baseline", "augmented"),
    )  # fmt: skip
    folds, found = report.data["folds"], report.data["comparisons"]
    deltas = {
        c["metric"]: c
        for c in found
        if c["method"] == "augmented"
        and c["versus"] == "baseline"
        and c["metric"] in ("f1", "roc_auc")
    }
    return [r for r in folds if r["method"] == "augmented"], deltas


def measure(data, gens, rounds):
    """``{(dataset, label): {"records": [per round], "deltas": [per round]}}``, each pair run
    once per round, each round starting at a different point of the list of pairs."""
    pairs = [
        (dataset, label, generator) for dataset in data for label, generator in gens[dataset.name]
    ]
    results = {}
    for round_ in range(rounds):
        shift = round_ * len(pairs) // max(rounds, 1)
        for dataset, label, generator in pairs[shift:] + pairs[:shift]:
            start = time.perf_counter()
            records, deltas = run_one(dataset, generator)
            seconds = time.perf_counter() - start
            log(f"round {round_ + 1}/{rounds}  {dataset.name:<9}  {label:<20}  {seconds:6.1f} s")
            entry = results.setdefault((dataset.name, label), {"records": [], "deltas": []})
            entry["records"].append(records)
            entry["deltas"].append(deltas)
    return results


def row(label, entry):
    """One table row: quality means over the first round's folds, deltas from the first
    round, timings as medians over the folds of every round."""
    records = entry["records"][0]
    measured = [r["quality"] for r in records if "quality" in r]
    quality = {
        name: float(np.mean([q[name] for q in measured])) if measured else float("nan")
        for name in QUALITY_METRICS
    }
    timed = [r for records_ in entry["records"] for r in records_ if "quality" in r["seconds"]]
    fit = statistics.median(r["seconds"]["generator_fit"] for r in timed) if timed else float("nan")
    cost = statistics.median(r["seconds"]["quality"] for r in timed) if timed else float("nan")
    return dict(
        label=label,
        quality=quality,
        n_quality_folds=len(measured),
        deltas=entry["deltas"][0],
        fit=fit,
        quality_seconds=cost,
        cost=cost / fit if fit > 0 else float("inf"),
    )


def _delta(c):
    return f"{c['delta_mean']:+.3f} {VERDICTS[c['verdict']]}"


def format_table(rows):
    header = [
        "generator",
        *(head for head, _ in QUALITY_COLUMNS.values()),
        "dF1",
        "dROC AUC",
        "fit s",
        "quality s",
        "cost",
    ]
    cells = [
        [
            r["label"],
            *(format(r["quality"][name], spec) for name, (_, spec) in QUALITY_COLUMNS.items()),
            _delta(r["deltas"]["f1"]),
            _delta(r["deltas"]["roc_auc"]),
            f"{r['fit']:.3f}",
            f"{r['quality_seconds']:.3f}",
            f"{100 * r['cost']:.0f} %",
        ]
        for r in rows
    ]
    widths = [max(len(cell) for cell in column) for column in zip(header, *cells, strict=True)]

    def line(cells_):
        return "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells_, widths, strict=True))
        )

    lines = [line(header), "  ".join("-" * width for width in widths)]
    return "\n".join([*lines, *(line(c) for c in cells)])


def same_across_rounds(entry):
    """Whether every round produced the same quality metrics and classifier scores."""
    first = entry["records"][0]
    return all(
        [(r.get("quality"), r["metrics"]) for r in records]
        == [(r.get("quality"), r["metrics"]) for r in first]
        for records in entry["records"][1:]
    )


def dataset_line(dataset):
    counts = ", ".join(f"{label}: {n:,}" for label, n in dataset.class_counts.items())
    return (
        f"{dataset.name}: {len(dataset.y):,} rows x {dataset.X.shape[1]} features "
        f"({counts}; minority {dataset.minority!r})"
    )


def held_out_rows(results, dataset):
    """The range of real minority rows the folds of ``dataset`` held out for the quality
    check, as the records say."""
    counts = {
        r["n_held_out"]
        for (name, _), entry in results.items()
        if name == dataset.name
        for records in entry["records"]
        for r in records
        if "n_held_out" in r
    }
    return f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"


def budgets(data, gens):
    """The deep generators' optimiser steps and batch sizes per dataset, in words."""
    parts = []
    for dataset in data:
        seen = {}
        for label, generator in gens[dataset.name]:
            name = label.split()[0]
            if name in DEEP:
                seen.setdefault(name, budget(generator))
        parts.append(
            f"{dataset.name}: "
            + ", ".join(f"{name} {s:,} steps of {b}" for name, (s, b) in seen.items())
        )
    return "; ".join(parts)


def notes(quick, settings, gens, data, results, rows, wall):
    rounds = settings["rounds"]
    lines = [
        f"{'quick' if quick else 'full'} run: {N_SPLITS} folds x {rounds} round(s), "
        f"{wall / 60:.1f} min in all; torch on 1 thread. Budgets (optimiser steps of a batch "
        f"of rows): {budgets(data, gens)}"
        + (" (a tenth of the config defaults)." if quick else " (the config defaults)."),
        "Quality columns: means over the folds (first round) of the augmented method's "
        "synthetic minority against the real minority rows each training fold holds out from "
        "the generator: "
        + ", ".join(f"{held_out_rows(results, d)} for {d.name}" for d in data)
        + f"; C2ST and PRDC compare that many synthetic rows (PRDC k <= {QualityCheck().nearest_k}"
        ", lowered to n - 2 for tiny sets).",
        "dF1, dROC AUC: augmented minus baseline, mean over folds; the sign is the corrected "
        f"t-test verdict with rope {ROPE} (+ improves, - hurts, = equivalent, ? inconclusive).",
        f"fit s, quality s: medians over the {N_SPLITS * rounds} fold runs of "
        "seconds.generator_fit and seconds.quality; cost = quality s / fit s. For SMOTE, "
        "generator_fit is the whole fit_resample (imblearn does not time fit and sample apart).",
        "digits: the metrics compare penultimate-layer features of a small CNN trained on each "
        "training part (synthbalance.pipelines.quality.feature_space); quality s includes "
        "training it. The "
        "VAEs are convolutional there (the image shape set as the app sets it, architecture "
        "auto), so fit s is what `synthbalance dataset=digits` spends.",
    ]
    partial = [
        f"{name} {r['label']}"
        for name, dataset_rows in rows.items()
        for r in dataset_rows
        if r["n_quality_folds"] < N_SPLITS
    ]
    if partial:
        lines.append(
            f"Quality measured on fewer than {N_SPLITS} folds (too few rows) for: "
            + ", ".join(partial)
        )
    if rounds > 1:
        same = all(same_across_rounds(entry) for entry in results.values())
        lines.append(
            "Classifier scores and quality metrics were "
            + ("identical" if same else "NOT identical (non-deterministic runs)")
            + f" in all {rounds} rounds."
        )
    return lines


def targets(quick, data, rows):
    lines = []
    for dataset in data:
        for r in rows[dataset.name]:
            if r["label"].split()[0] not in DEEP:
                verdict = "not judged (no model to fit)"
            else:
                verdict = "PASS" if r["cost"] <= TARGET_QUALITY_COST else "FAIL"
            lines.append(
                f"{dataset.name:<9} {r['label']:<20} {r['quality_seconds']:.3f} s / "
                f"{r['fit']:.3f} s = {100 * r['cost']:.0f} %: {verdict}"
            )
    scope = "INDICATIVE ONLY: quick settings, not the defaults" if quick else "default settings"
    lines.append(
        f"({scope}.) The {100 * TARGET_QUALITY_COST:.0f} % target is about the deep generators: "
        "SMOTE fits in milliseconds, so its ratio is large whatever the metrics cost; its rows are "
        "reported as measured, not judged."
    )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke check: seed_case cut to 4,000 vs 100 rows, a tenth of the steps, two rounds",
    )
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    # One torch thread: the machine has 2 cores shared with other processes, and more
    # threads than free cores (oversubscription) makes every step wait for a preempted
    # thread, which slows the fits several times over and makes their timings erratic.
    torch.set_num_threads(1)

    gens = generators()
    data = datasets(settings)
    gens = for_each_dataset(data, gens, settings["step_divisor"])
    start = time.perf_counter()
    results = measure(data, gens, settings["rounds"])
    wall = time.perf_counter() - start

    rows = {
        d.name: [row(label, results[(d.name, label)]) for label, _ in gens[d.name]] for d in data
    }
    for dataset in data:
        print(f"\n== {dataset_line(dataset)}\n")
        print(format_table(rows[dataset.name]))

    print("\nnotes:")
    print(
        "\n".join(
            f"- {note}" for note in notes(args.quick, settings, gens, data, results, rows, wall)
        )
    )
    print(
        f"\ntargets: quality metrics <= {100 * TARGET_QUALITY_COST:.0f} % of the generator fit time"
    )
    print("\n".join(f"- {line}" for line in targets(args.quick, data, rows)))


if __name__ == "__main__":
    main()
