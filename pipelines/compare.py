"""Aggregate the reports of runs and sweeps: per-run deltas, and statistics across datasets.

Writes ``comparison.md``, ``comparison.csv`` (one row per run; runs with several minority
classes add one row per class, column ``class``), ``comparison_generators.csv``
(each generator against the baseline across datasets) and figures: a critical-difference
diagram per headline metric, and delta-vs-amount plots when a sweep varied
``generator.sampling_strategy``. Runs of one generator (or classifier) that differ in its
parameters are different methods (classifiers), named after the parameters that differ
(``run_names``).

Across datasets (Demšar 2006): per generator, the Wilcoxon signed-rank test of its mean
deltas against the baseline, Holm-corrected across generators, with baycomp's Bayesian
signed-rank test as a second opinion; over all methods, the Friedman test, mean ranks and
the Nemenyi post-hoc test drawn as a critical-difference diagram (scikit-posthocs).
"""

import hashlib
import json
import re
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from synthbalance.pipelines.datasets import DataError
from synthbalance.pipelines.io import atomic_path, pyplot, save_figure, write_text
from synthbalance.pipelines.metrics import HEADLINE, LABELS, METRICS
from synthbalance.pipelines.report import SCHEMA, markdown_table, primary_class

ALPHA = 0.05


def find_reports(directories):
    """Every complete report.json under the given run or sweep directories."""
    paths = []
    for directory in map(Path, directories):
        if not directory.is_dir():
            raise DataError(f"{directory}: no such directory")
        paths += sorted(directory.rglob("report.json"))
    reports = []
    for path in dict.fromkeys(p.resolve() for p in paths):
        report = json.loads(path.read_text())
        if report.get("schema") == SCHEMA:
            reports.append((path, report))
    if not reports:
        raise DataError(f"no report.json under {', '.join(map(str, directories))}")
    return reports


def _amount(report):
    """``sampling_strategy`` of the run's generator, when it is a number (else None)."""
    value = report["generator"].get("params", {}).get("sampling_strategy")
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


# A parameter some runs' reports do not have (written before it existed): shown as "?".
_MISSING = "?"


def _canonical(value):
    """``value`` with equal numbers spelled alike: ``1``, ``1.0`` and ``1.00`` are all ``1``
    (Hydra reads ``=1`` as an int and ``=1.0`` as a float), also inside lists and dicts."""
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) if float(value).is_integer() else float(value)
    return value


def _shown(params, key):
    """How ``key``'s value reads in a method name."""
    if key not in params:
        return _MISSING
    value = _canonical(params[key])
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


# Parameters that name no setting: filled in from each dataset, or only about where and how
# verbosely a run executes.
UNNAMED_PARAMS = frozenset({"categorical_features", "image_shape", "device", "n_jobs", "verbose"})


def _swept_names(runs, amount=None):
    """Names for ``runs``, ``[(group, name, params)]``, in order: ``name`` plus the
    parameters whose values differ among the group's runs (a sweep over them), e.g.
    ``vae(latent_dim=4)``, on every dataset alike so that one setting pairs up across
    datasets; a swept ``amount`` parameter goes after an ``@``: ``smote@0.5``. Equal numbers
    are equal however they are spelled (``1`` and ``1.0``); ``UNNAMED_PARAMS`` name
    nothing."""
    keys = defaultdict(set)  # every parameter any run of the group has
    for group, _, params in runs:
        keys[group] |= set(params) - UNNAMED_PARAMS
    values = defaultdict(set)  # (group, parameter) -> values, "?" where a run lacks it
    for group, _, params in runs:
        for key in keys[group]:
            values[group, key].add(_shown(params, key))
    names = []
    for group, name, params in runs:
        keys_ = sorted(k for k in keys[group] if len(values[group, k]) > 1)
        shown = [f"{k}={_shown(params, k)}" for k in keys_ if k != amount]
        label = f"{name}({', '.join(shown)})" if shown else name
        if amount in keys_:
            label += f"@{_shown(params, amount)}"
        names.append(label)
    return names


def run_names(reports):
    """``{run directory: (classifier, method)}``, each the name of the run's classifier or
    generator plus the parameters swept over (``_swept_names``): ``logreg(C=0.1)``,
    ``vae(latent_dim=4)``, and a swept ``sampling_strategy`` (the amount of synthetic data)
    as ``smote@0.5``."""
    # report.json records a classifier's ``scale`` only when it is on
    classifiers = _swept_names(
        [
            (r["classifier"]["name"], r["classifier"]["name"],
             {"scale": False, **r["classifier"].get("params", {})})
            for _, r in reports
        ]
    )  # fmt: skip
    methods = _swept_names(
        [
            ((classifier, r["generator"]["name"]), r["generator"]["name"],
             r["generator"].get("params", {}))
            for classifier, (_, r) in zip(classifiers, reports, strict=True)
        ],
        amount="sampling_strategy",
    )  # fmt: skip
    return {
        str(path.parent): names
        for (path, _), names in zip(reports, zip(classifiers, methods, strict=True), strict=True)
    }


def comparison_table(reports):
    """One row per run: deltas of augmented vs baseline with CI and verdict, every metric;
    with several minority classes, that row holds the macro average (``class`` = "macro")
    and one more row per minority class follows (``primary`` False)."""
    names = run_names(reports)
    rows = []
    for path, report in reports:
        classifier, method = names[str(path.parent)]
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
                if (c["method"], c["versus"], c.get("class", primary)) == (
                    "augmented", "baseline", class_,
                ):  # fmt: skip
                    for field in ("delta_mean", "ci_low", "ci_high", "p_value", "verdict"):
                        row[f"{c['metric']}_{field}"] = c[field]
            for metric in HEADLINE:
                best = max(summary, key=lambda m: summary[m][metric]["mean"])
                row[f"{metric}_best_method"] = best
            if class_ == primary:
                for name, stat in (report.get("quality") or {}).items():
                    row[f"quality_{name}"] = stat["mean"]
            row["run"] = str(path.parent)
            rows.append(row)
    table = pd.DataFrame(rows)
    if "f1_delta_mean" not in table:
        raise DataError(
            "no run compared the 'augmented' method with the baseline; nothing to compare"
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
    for path, report in reports:
        name = names.get(str(path.parent))
        if name is None:  # another classifier's run
            continue
        dataset = report["dataset"]["name"]
        if (dataset, name) in owners:  # one cell cannot hold two runs
            raise DataError(
                f"two runs of {name} on {dataset} with {classifier} and the same parameters: "
                f"{owners[dataset, name]} and {path.parent} (a seed sweep?); compare them in "
                "separate calls"
            )
        owners[dataset, name] = path.parent
        scores = rows.setdefault(dataset, {})
        for method, summary in report["summary"].items():
            label = {"augmented": name, "augmented+threshold": f"{name}+threshold"}.get(
                method, method
            )
            scores[label] = summary[metric]["mean"]
    matrix = pd.DataFrame.from_dict(rows, orient="index")
    missing = {
        method: sorted(matrix.index[matrix[method].isna()])
        for method in matrix.columns
        if matrix[method].isna().any()
    }
    return matrix.dropna(axis=1), missing


def holm(p_values):
    """Holm-Bonferroni adjusted p-values (step-down, monotone)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def _wilcoxon(deltas):
    deltas = np.asarray(deltas, dtype=float)
    if np.allclose(deltas, 0):
        return 1.0  # identical to the baseline on every dataset
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.wilcoxon(deltas, zero_method="zsplit").pvalue)


def _bayesian_signed_rank(deltas, rope):
    """P(better), P(rope), P(worse) over datasets, or Nones where baycomp does not apply."""
    import baycomp

    deltas = np.asarray(deltas, dtype=float)
    if len(deltas) < 2 or np.allclose(deltas, deltas[0]):
        return {"p_better": None, "p_rope": None, "p_worse": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p_better, p_rope, p_worse = baycomp.two_on_multiple(
            deltas, np.zeros_like(deltas), rope=rope
        )
    return {"p_better": float(p_better), "p_rope": float(p_rope), "p_worse": float(p_worse)}


def generator_tests(matrix, rope):
    """Each augmented method of ``matrix`` against its baseline column across datasets."""
    candidates = [c for c in matrix.columns if c not in ("baseline", "class_weight", "threshold")]
    rows = []
    for method in candidates:
        versus = "threshold" if method.endswith("+threshold") else "baseline"
        if versus not in matrix:
            continue
        deltas = (matrix[method] - matrix[versus]).to_numpy()
        rows.append(
            {
                "method": method,
                "versus": versus,
                "n_datasets": len(deltas),
                "mean_delta": float(deltas.mean()),
                "wins": int((deltas > 0).sum()),
                "losses": int((deltas < 0).sum()),
                "wilcoxon_p": _wilcoxon(deltas),
                **_bayesian_signed_rank(deltas, rope),
            }
        )
    result = pd.DataFrame(rows)
    if len(result):
        result["wilcoxon_p_holm"] = holm(result["wilcoxon_p"])
        result["significant"] = result["wilcoxon_p_holm"] < ALPHA
    return result


def friedman(matrix):
    """Friedman test over all methods, mean ranks (1 = best) and the Nemenyi p-value matrix.
    None when there are fewer than 3 methods or 2 datasets."""
    import scikit_posthocs as sp

    if matrix.shape[1] < 3 or matrix.shape[0] < 2:
        return None
    ranks = matrix.rank(axis=1, ascending=False).mean().sort_values()
    if np.allclose(matrix.to_numpy(), matrix.to_numpy()[:, :1]):
        p_value = 1.0  # every method scores the same on every dataset
    else:
        p_value = float(stats.friedmanchisquare(*matrix.to_numpy().T).pvalue)
    nemenyi = sp.posthoc_nemenyi_friedman(matrix.reset_index(drop=True))
    return {"p_value": p_value, "mean_ranks": ranks, "nemenyi": nemenyi}


def plot_critical_difference(result, metric, classifier, path):
    import scikit_posthocs as sp

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 2.5 + 0.15 * len(result["mean_ranks"])))
    sp.critical_difference_diagram(result["mean_ranks"], result["nemenyi"], ax=ax)
    ax.set_title(
        f"{LABELS[metric]} with {classifier}: mean ranks (Friedman p = {result['p_value']:.3g}); "
        "bars join methods Nemenyi cannot separate",
        fontsize="small",
    )
    save_figure(fig, path)


def plot_amounts(table, classifier, path):
    """Delta F1 and delta ROC AUC (95 % CI) against the amount of synthetic data."""
    plt = pyplot()

    rows = table[(table["classifier"] == classifier) & table["amount"].notna()]
    fig, axes = plt.subplots(1, len(HEADLINE), figsize=(5 * len(HEADLINE), 3.6))
    for ax, metric in zip(axes, HEADLINE, strict=True):
        # one line per dataset and generator setting: the method without its @amount
        setting = rows["method"].str.rsplit("@", n=1).str[0]
        for (dataset, generator), group in rows.groupby(["dataset", setting]):
            group = group.sort_values("amount")
            mean = group[f"{metric}_delta_mean"]
            ax.errorbar(
                group["amount"],
                mean,
                yerr=[mean - group[f"{metric}_ci_low"], group[f"{metric}_ci_high"] - mean],
                marker="o",
                capsize=3,
                label=f"{generator} on {dataset}",
            )
        ax.axhline(0, color="0.5", linewidth=0.8)
        ax.set_xlabel("sampling_strategy (minority / majority after resampling)")
        ax.set_ylabel(f"\u0394 {LABELS[metric]} vs baseline")
    axes[0].legend(fontsize="x-small")
    fig.suptitle(f"Amount of synthetic data with {classifier}")
    save_figure(fig, path)


def quality_correlations(table):
    """Spearman rank correlation of each quality metric with the F1 / ROC AUC deltas across
    runs: which quality metric predicts usefulness on these data. Per classifier: runs with
    several classifiers (or classifier settings) repeat the same generator fits, so pooling
    them would count each fit several times. Empty below 3 runs."""
    columns = [c for c in table.columns if c.startswith("quality_")]
    rows = []
    for classifier, runs in table.groupby("classifier", sort=True):
        for column in columns:
            valid = runs[[column, *(f"{m}_delta_mean" for m in HEADLINE)]].dropna()
            if len(valid) < 3 or valid[column].nunique() < 2:
                continue
            row = {
                "classifier": classifier,
                "quality_metric": column.removeprefix("quality_"),
                "n_runs": len(valid),
            }
            for metric in HEADLINE:
                rho, p_value = stats.spearmanr(valid[column], valid[f"{metric}_delta_mean"])
                row[f"rho_{metric}"], row[f"p_{metric}"] = float(rho), float(p_value)
            rows.append(row)
    return pd.DataFrame(rows)


def plot_quality(table, correlations, path):
    """Each quality metric against the F1 and ROC AUC deltas, one point per run."""
    plt = pyplot()

    names = list(correlations["quality_metric"])
    fig, axes = plt.subplots(
        len(HEADLINE), len(names), figsize=(2.6 * len(names), 2.4 * len(HEADLINE)), squeeze=False
    )
    for i, metric in enumerate(HEADLINE):
        for j, name in enumerate(names):
            ax = axes[i, j]
            for generator, group in table.groupby("generator"):
                ax.scatter(group[f"quality_{name}"], group[f"{metric}_delta_mean"], s=12,
                           label=generator)  # fmt: skip
            ax.axhline(0, color="0.6", linewidth=0.8)
            rho = correlations.loc[correlations.quality_metric == name, f"rho_{metric}"].item()
            ax.set_title(f"\u03c1 = {rho:+.2f}", fontsize="small")
            ax.set_xlabel(name, fontsize="small")
            if j == 0:
                ax.set_ylabel(f"\u0394 {LABELS[metric]}", fontsize="small")
    axes[0, 0].legend(fontsize="xx-small")
    fig.suptitle("Generator quality against utility gain (one point per run)")
    save_figure(fig, path, dpi=90)


def _cell(row, metric):
    return (
        f"{row[f'{metric}_delta_mean']:+.3f} [{row[f'{metric}_ci_low']:+.3f}, "
        f"{row[f'{metric}_ci_high']:+.3f}] {row[f'{metric}_verdict']}"
    )


def _p(value):
    return "\u2013" if value is None or pd.isna(value) else f"{value:.2f}"


def render_markdown(table, across, correlations=None):
    several = not table["primary"].all()  # runs with several minority classes
    header = ["dataset", "classifier", "generator", *(["class"] if several else [])]
    header += [f"\u0394 {LABELS[m]}" for m in HEADLINE]
    header += [f"best for {LABELS[m]}" for m in HEADLINE]
    rows = [
        [row["dataset"], row["classifier"], row["method"], *([row["class"]] if several else [])]
        + [_cell(row, m) for m in HEADLINE]
        + [row[f"{m}_best_method"] for m in HEADLINE]
        for _, row in table.iterrows()
    ]
    classes = (
        " Runs with several minority classes show the macro average, then each class against "
        "the base class."
        if several
        else ""
    )
    parts = [
        "# synthbalance comparison",
        f"{table['primary'].sum()} runs.{classes} Deltas are augmented \u2212 baseline with "
        "95 % CI (corrected resampled t-test) and verdict; best generator first within each "
        f"dataset. All metrics ({', '.join(METRICS)}) are in comparison.csv.",
        markdown_table(header, rows),
    ]
    for (classifier, metric), result in across.items():
        tests, rank = result["tests"], result["friedman"]
        parts.append(f"## Across {result['n_datasets']} datasets: {LABELS[metric]}, {classifier}")
        if len(tests):
            parts.append(
                "Each generator against the baseline (with a tuned threshold: against tuning the "
                "threshold alone): Wilcoxon signed-rank over the datasets' mean deltas, Holm-"
                f"corrected across generators (\u03b1 = {ALPHA}); Bayesian signed-rank (baycomp) "
                "probabilities where it applies."
            )
            parts.append(
                markdown_table(
                    [
                        "method",
                        "versus",
                        "mean \u0394",
                        "wins / losses",
                        "p (Holm)",
                        "significant",
                        "P(better / rope / worse)",
                    ],
                    [
                        [
                            r["method"],
                            r["versus"],
                            f"{r['mean_delta']:+.3f}",
                            f"{r['wins']} / {r['losses']}",
                            f"{r['wilcoxon_p_holm']:.3g}",
                            "yes" if r["significant"] else "no",
                            " / ".join(_p(r[k]) for k in ("p_better", "p_rope", "p_worse")),
                        ]
                        for _, r in tests.iterrows()
                    ],
                )  # fmt: skip
            )
        if rank is not None:
            ranks = ", ".join(f"{m} {r:.2f}" for m, r in rank["mean_ranks"].items())
            parts.append(
                f"Friedman test over all methods: p = {rank['p_value']:.3g}. Mean ranks "
                f"(1 = best): {ranks}. ![critical difference]({result['figure']})"
            )
        if result.get("missing"):
            left_out = "; ".join(
                f"{method} (no run on {', '.join(map(str, datasets))})"
                for method, datasets in result["missing"].items()
            )
            parts.append(
                f"Left out of these statistics, as they did not run everywhere: {left_out}."
            )
    if correlations is not None and len(correlations):
        parts.append("## Does generator quality predict the utility gain?")
        parts.append(
            "Spearman rank correlation across runs between each quality metric (synthetic vs "
            "unseen real minority) and the deltas against the baseline, per classifier (runs "
            "with other classifiers repeat the same generator fits)."
        )
        for classifier, found in correlations.groupby("classifier", sort=True):
            parts.append(
                f"With {classifier}: "
                f"![quality against utility with {classifier}]"
                f"({_quality_figure(classifier, table['classifier'].nunique())})"
            )
            parts.append(
                markdown_table(
                    [
                        "quality metric",
                        "runs",
                        *(f"\u03c1 with \u0394 {LABELS[m]} (p)" for m in HEADLINE),
                    ],
                    [
                        [
                            r["quality_metric"],
                            r["n_runs"],
                            *(f"{r[f'rho_{m}']:+.2f} ({r[f'p_{m}']:.2g})" for m in HEADLINE),
                        ]
                        for _, r in found.iterrows()
                    ],
                )  # fmt: skip
            )
    return "\n\n".join(parts) + "\n"


def _file_name(label):
    """``label`` as a safe part of a file name: ``logreg`` as it is, ``logreg(C=0.1)`` as
    ``logreg_C=0.1_`` plus a short hash of the label, so that labels the replacement makes
    alike (``a b``, ``a_b``) keep their own files."""
    safe = re.sub(r"[^\w.=@-]+", "_", label).strip("_")
    if safe == label:
        return label
    return f"{safe}_{hashlib.sha1(label.encode()).hexdigest()[:6]}"


def _quality_figure(classifier, n_classifiers):
    if n_classifiers == 1:
        return "quality_vs_utility.png"
    return f"quality_vs_utility_{_file_name(classifier)}.png"


def write_comparison(directories, out, rope=0.01):
    """Compare every report under ``directories``; write the tables and figures into ``out``."""
    reports = find_reports(directories)
    everything = comparison_table(reports)
    # statistics across runs use each run's headline row (macro with several classes)
    table = everything[everything["primary"]].reset_index(drop=True)
    out = Path(out)
    across, generator_rows = {}, []
    for classifier in sorted(table["classifier"].unique()):
        for metric in HEADLINE:
            matrix, missing = score_matrix(reports, table, classifier, metric)
            if len(matrix) < 2:
                continue  # statistics across datasets need several datasets
            tests = generator_tests(matrix, rope)
            rank = friedman(matrix)
            figure = f"cd_{_file_name(classifier)}_{metric}.png"
            if rank is not None:
                plot_critical_difference(rank, metric, classifier, out / figure)
            across[(classifier, metric)] = {
                "tests": tests, "friedman": rank, "figure": figure, "n_datasets": len(matrix),
                "missing": missing,
            }  # fmt: skip
            generator_rows += [
                {"classifier": classifier, "metric": metric, **row}
                | {"friedman_p": rank["p_value"] if rank else None}
                | {"mean_rank": rank["mean_ranks"].get(row["method"]) if rank else None}
                for row in tests.to_dict("records")
            ]
        if table.loc[table["classifier"] == classifier, "amount"].nunique() > 1:
            plot_amounts(table, classifier, out / f"amount_{_file_name(classifier)}.png")
    correlations = quality_correlations(table)
    for classifier, found in correlations.groupby("classifier") if len(correlations) else ():
        figure = _quality_figure(classifier, table["classifier"].nunique())
        plot_quality(table[table["classifier"] == classifier], found, out / figure)
    with atomic_path(out / "comparison.csv") as tmp:
        everything.to_csv(tmp, index=False)
    if generator_rows:
        with atomic_path(out / "comparison_generators.csv") as tmp:
            pd.DataFrame(generator_rows).to_csv(tmp, index=False)
    write_text(out / "comparison.md", render_markdown(everything, across, correlations))
    return everything, across
