"""comparison.md: one row per run, then the statistics across datasets and the quality
correlations."""

import pandas as pd

from synthbalance.pipelines.compare.across import ALPHA
from synthbalance.pipelines.compare.figures import _quality_figure
from synthbalance.pipelines.metrics import HEADLINE, LABELS, METRICS
from synthbalance.pipelines.report.markdown import markdown_table, no_raw_html


def _cell(row, metric):
    return (
        f"{row[f'{metric}_delta_mean']:+.3f} [{row[f'{metric}_ci_low']:+.3f}, "
        f"{row[f'{metric}_ci_high']:+.3f}] {row[f'{metric}_verdict']}"
    )


def _p(value):
    return "\u2013" if value is None or pd.isna(value) else f"{value:.2f}"


def render_markdown(table, across, correlations=None, quality_ranks=None):
    """The whole of comparison.md: ``table`` (every row of ``comparison_table``), the
    statistics ``across`` datasets per (classifier, metric), the quality ``correlations``,
    and the generators ranked by sample quality (``quality_ranks``, one dataset). Names
    from the data (datasets, classes, methods) are shown as written: a ``|`` in a table
    cell is escaped (``markdown_table``), and no ``<`` anywhere is taken for HTML."""
    parts = ["# synthbalance comparison", *_runs_section(table)]
    if quality_ranks:
        parts += _quality_ranks_section(table, quality_ranks)
    for (classifier, metric), result in across.items():
        parts += _across_section(classifier, metric, result)
    if correlations is not None and len(correlations):
        parts += _correlations_section(table, correlations)
    return no_raw_html("\n\n".join(parts)) + "\n"


def _runs_section(table):
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
    return [
        f"{table['primary'].sum()} runs.{classes} Deltas are augmented \u2212 baseline with "
        "95 % CI (corrected resampled t-test) and verdict; best generator first within each "
        f"dataset. All metrics ({', '.join(METRICS)}) are in comparison.csv.",
        markdown_table(header, rows),
    ]


def _across_section(classifier, metric, result):
    tests, rank = result["tests"], result["friedman"]
    parts = [f"## Across {result['n_datasets']} datasets: {LABELS[metric]}, {classifier}"]
    if len(tests):
        header = ["method", "versus", "mean \u0394", "wins / losses", "p (Holm)", "significant",
                  "P(better / rope / worse)"]  # fmt: skip
        rows = [
            [
                r["method"], r["versus"], f"{r['mean_delta']:+.3f}", f"{r['wins']} / {r['losses']}",
                f"{r['wilcoxon_p_holm']:.3g}", "yes" if r["significant"] else "no",
                " / ".join(_p(r[k]) for k in ("p_better", "p_rope", "p_worse")),
            ]
            for _, r in tests.iterrows()
        ]  # fmt: skip
        parts += [
            "Each generator against the baseline (with a tuned threshold: against tuning the "
            "threshold alone): Wilcoxon signed-rank over the datasets' mean deltas, Holm-"
            f"corrected across generators (\u03b1 = {ALPHA}); Bayesian signed-rank (baycomp) "
            "probabilities where it applies.",
            markdown_table(header, rows),
        ]
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
        parts.append(f"Left out of these statistics, as they did not run everywhere: {left_out}.")
    return parts


def _quality_ranks_section(table, quality_ranks):
    """Generators ranked by each sample-quality metric, beside their utility (the F1 and
    ROC AUC deltas of augmentation against the baseline)."""
    first = next(iter(quality_ranks.values()))["mean_ranks"]  # sorted, best first
    others = {g for result in quality_ranks.values() for g in result["mean_ranks"].index}
    generators = [*first.index, *sorted(others - set(first.index))]
    header = ["generator", *(f"rank by {m}" for m in quality_ranks)]
    header += [f"Δ {LABELS[m]}" for m in HEADLINE]
    primary = table[table["primary"]].drop_duplicates("method").set_index("method")
    rows = []
    for name in generators:
        row = [name] + [
            f"{result['mean_ranks'][name]:.2f}" if name in result["mean_ranks"] else "–"
            for result in quality_ranks.values()
        ]
        row += [f"{primary.loc[name, f'{m}_delta_mean']:+.3f}" if name in primary.index
                else "–" for m in HEADLINE]  # fmt: skip
        rows.append(row)
    tests = "; ".join(
        f"{m}: Friedman p = {r['p_value']:.3g} over {r['n_blocks']} blocks "
        f"([diagram]({r['figure']}))"
        for m, r in quality_ranks.items()
    )
    return [
        "## Generators ranked by sample quality",
        "Mean ranks (1 = best) of each generator's samples by each quality metric (C2ST "
        "AUC by its distance from 0.5, indistinguishable), every (fold, generator seed) a "
        "block (Friedman test, Nemenyi post-hoc in the diagrams), "
        "beside what the samples did for the classifier (augmented − baseline). A "
        f"generator can rank first on quality and help nothing. {tests}.",
        markdown_table(header, rows),
    ]


def _correlations_section(table, correlations):
    parts = [
        "## Does generator quality predict the utility gain?",
        "Spearman rank correlation across runs between each quality metric (synthetic vs "
        "unseen real minority) and the deltas against the baseline, per classifier (runs "
        "with other classifiers repeat the same generator fits).",
    ]
    header = ["quality metric", "runs", *(f"\u03c1 with \u0394 {LABELS[m]} (p)" for m in HEADLINE)]
    for classifier, found in correlations.groupby("classifier", sort=True):
        figure = _quality_figure(classifier, table["classifier"].nunique())
        rows = [
            [r["quality_metric"], r["n_runs"],
             *(f"{r[f'rho_{m}']:+.2f} ({r[f'p_{m}']:.2g})" for m in HEADLINE)]
            for _, r in found.iterrows()
        ]  # fmt: skip
        parts += [
            f"With {classifier}: ![quality against utility with {classifier}]({figure})",
            markdown_table(header, rows),
        ]
    return parts
