"""The comparison's tables: one row per run (deltas of augmentation against the baseline,
verdicts, quality), and per classifier and metric a datasets x methods matrix of scores."""

import pandas as pd

from synthbalance.pipelines.compare.names import _amount, run_names
from synthbalance.pipelines.dataset import DataError
from synthbalance.pipelines.methods import AUGMENTATION, run_label
from synthbalance.pipelines.metrics import HEADLINE, sign
from synthbalance.pipelines.report.build import find_comparison
from synthbalance.pipelines.report.schema import primary_class

# What makes a run's folds, in report.json's protocol block: fold (r, f) of two runs holds
# the same rows only when these and the data are equal; a run's means are over all its folds.
FOLD_SETTINGS = ("n_splits", "seed", "n_repeats")


def _folds_text(report, keys):
    protocol, rows = report.get("protocol", {}), report["dataset"].get("n_samples")
    parts = [f"{key}={protocol.get(key)}" for key in keys]
    return ", ".join(parts if rows is None else [*parts, f"{rows} rows"])


def check_same_folds(runs, keys, why):
    """Refuse ``runs`` (``[(run, report)]``) whose folds differ: their ``keys`` of
    ``FOLD_SETTINGS`` or their number of rows. ``why`` says what pairs their folds; the
    DataError names two such runs and what differs."""
    if shown := other_folds(runs, keys):
        raise DataError(
            f"{why}, but these runs have different folds ({shown}): compare runs of one "
            "protocol and dataset"
        )


def other_folds(runs, keys):
    """Two of ``runs`` whose folds differ (``keys`` of ``FOLD_SETTINGS``, or their rows),
    in words, or None when all share them."""
    (first_run, first), *others = runs
    for run, report in others:
        found = {name: _folds_text(r, keys) for name, r in ((first_run, first), (run, report))}
        if len(set(found.values())) > 1:
            return "; ".join(f"{text} in {name}" for name, text in found.items())
    return None


def _data(report):
    return report["dataset"].get("n_samples"), report["dataset"].get("classes")


def check_same_data(reports):
    """Refuse two runs that name one dataset but hold different data (other rows or class
    counts: ``dataset.imbalance_ratio=10`` on breast_cancer): their rows would read as one
    dataset's."""
    first = {}
    for run, report in reports:
        dataset = report["dataset"]["name"]
        other, data = first.setdefault(dataset, (run, report))
        if _data(data) != _data(report):
            shown = "; ".join(f"{n} rows {classes} in {name}"
                              for name, (n, classes) in ((other, _data(data)),
                                                         (run, _data(report))))  # fmt: skip
            raise DataError(
                f"two runs on dataset {dataset!r} hold different data ({shown}): compare "
                "them in separate calls, or give each data its own name (dataset.name, or "
                "name= in synthbalance.evaluate)"
            )


def with_augmentation(reports):
    """``(runs, problems)``: the ``reports`` (``[(run, report)]``) that compared the
    augmented method with the baseline on every headline metric, and a line for each one
    that did not (``evaluation.methods=[baseline,class_weight]``): it has nothing to
    compare. None left is a DataError."""
    runs, problems = [], []
    for run, report in reports:
        found = all(find_comparison(report, *AUGMENTATION, metric) for metric in HEADLINE)
        if found and AUGMENTATION[0] in report["summary"]:
            runs.append((run, report))
        else:
            problems.append(
                f"{run}: no {AUGMENTATION[0]!r} method compared with the baseline (its methods: "
                f"{', '.join(report['summary'])}); nothing to compare"
            )
    if not runs:
        raise DataError(
            f"no run compared the {AUGMENTATION[0]!r} method with the baseline; nothing to compare"
        )
    return runs, problems


def comparison_table(reports):
    """One row per run: deltas of augmented vs baseline with CI and verdict, every metric;
    with several minority classes, that row holds the macro average (``class`` = "macro")
    and one more row per minority class follows (``primary`` False). Every run compared
    the augmented method with the baseline (``with_augmentation``); runs that name one
    dataset must hold the same data (``check_same_data``)."""
    check_same_data(reports)
    names = run_names(reports)
    rows = []
    for run, report in reports:
        classifier, method = names[run]
        primary = primary_class(report)
        classes = [primary, *report.get("summary_by_class", {})]
        for class_ in classes:
            summary = report["summary_by_class"][class_] if class_ != primary else report["summary"]
            row = {
                "dataset": report["dataset"]["name"],
                "generator": report["generator"]["name"],
                "classifier": classifier,
                "method": method,
                "amount": _amount(report),
                "class": class_,
                "primary": class_ == primary,
            }
            for c in report["comparisons"]:
                if (c["method"], c["versus"], c.get("class", primary)) == (*AUGMENTATION, class_):
                    for field in ("delta_mean", "ci_low", "ci_high", "p_value", "verdict"):
                        row[f"{c['metric']}_{field}"] = c[field]
            for metric in HEADLINE:
                best = max(summary, key=lambda m: sign(metric) * summary[m][metric]["mean"])
                row[f"{metric}_best_method"] = best
            if class_ == primary:
                for name, stat in (report.get("quality") or {}).items():
                    row[f"quality_{name}"] = stat["mean"]
            row["run"] = run
            rows.append(row)
    table = pd.DataFrame(rows)
    order = [f"{m}_delta_mean" for m in HEADLINE]
    return table.sort_values(
        ["classifier", "dataset", "primary", *order],
        ascending=[True, True, False, False, False],
        ignore_index=True,
    )


def score_matrix(reports, table, classifier, metric):
    """Datasets x methods matrix of mean scores for one classifier: the plain methods
    (baseline, class_weight, threshold) and every run's augmented methods, named after the
    run's generator (``smote``, ``smote+threshold``); and ``{method: [datasets]}`` of the
    methods left out because they did not run on those datasets. A dataset's runs must
    share their folds: its plain methods come from one of them, and its row pairs every
    method on the same folds (``check_same_folds``)."""
    runs = table[table["classifier"] == classifier]
    names = dict(zip(runs["run"], runs["method"], strict=True))
    rows, owners, first = {}, {}, {}
    for run, report in reports:
        name = names.get(run)
        if name is None:  # another classifier's run
            continue
        dataset = report["dataset"]["name"]
        if (dataset, name) in owners:  # one cell cannot hold two runs
            raise DataError(
                f"two runs of {name} on {dataset} with {classifier} and the same parameters: "
                f"{owners[dataset, name]} and {run} (a seed sweep?); compare them in "
                "separate calls"
            )
        owners[dataset, name] = run
        check_same_folds(
            [first.setdefault(dataset, (run, report)), (run, report)], FOLD_SETTINGS,
            f"the statistics across datasets take {dataset}'s plain methods from one run "
            f"with {classifier} and pair every method on its folds",
        )  # fmt: skip
        scores = rows.setdefault(dataset, {})
        for method, summary in report["summary"].items():
            label = run_label(method, name)
            scores[label] = summary[metric]["mean"]
    matrix = pd.DataFrame.from_dict(rows, orient="index")
    missing = {
        method: sorted(matrix.index[matrix[method].isna()])
        for method in matrix.columns
        if matrix[method].isna().any()
    }
    return matrix.dropna(axis=1), missing
