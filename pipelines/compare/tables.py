"""The comparison's tables: one row per run (deltas of augmentation against the baseline,
verdicts, quality), and per classifier and metric a datasets x methods matrix of scores."""

import pandas as pd

from synthbalance.pipelines.compare.names import _amount, run_names
from synthbalance.pipelines.dataset import DataError
from synthbalance.pipelines.methods import AUGMENTATION, run_label
from synthbalance.pipelines.metrics import HEADLINE, sign
from synthbalance.pipelines.report.schema import primary_class


def comparison_table(reports):
    """One row per run: deltas of augmented vs baseline with CI and verdict, every metric;
    with several minority classes, that row holds the macro average (``class`` = "macro")
    and one more row per minority class follows (``primary`` False)."""
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
    if "f1_delta_mean" not in table:
        raise DataError(
            f"no run compared the {AUGMENTATION[0]!r} method with the baseline; nothing to compare"
        )
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
    methods left out because they did not run on those datasets."""
    runs = table[table["classifier"] == classifier]
    names = dict(zip(runs["run"], runs["method"], strict=True))
    rows, owners = {}, {}
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
