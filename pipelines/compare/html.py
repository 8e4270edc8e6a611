"""comparison.html: the comparison across runs on one self-contained page (inline CSS,
figures embedded as base64 PNG), rendered from the report's Jinja2 templates: a heatmap of
datasets x methods coloured by the delta against the baseline with verdict marks, the tests
across datasets with the critical-difference diagrams, quality against utility, and links
to each run's report.html. It only reads what ``Comparison`` computed."""

import os
from pathlib import Path

import pandas as pd

from synthbalance.pipelines.compare.across import ALPHA
from synthbalance.pipelines.compare.figures import _file_name, _quality_figure
from synthbalance.pipelines.metrics import HEADLINE, LABELS
from synthbalance.pipelines.report.html import HTML_FILE, png_uri, render

COMPARISON_HTML = "comparison.html"
MARKS = {"improves": "\u25b2", "hurts": "\u25bc", "equivalent": "=", "inconclusive": "?"}


NEUTRAL = "rgba(110,119,129,0.15)"  # a delta of exactly 0: neither a gain nor a loss


def _colour(delta, scale):
    """Green for gains, red for losses, stronger with the size of the delta; grey for
    none."""
    if pd.isna(delta):
        return "transparent"
    if delta == 0:
        return NEUTRAL
    alpha = 0.08 + 0.6 * min(1.0, abs(delta) / scale)
    rgb = "26,127,55" if delta > 0 else "207,34,46"
    return f"rgba({rgb},{alpha:.2f})"


def _link(run, out):
    """The relative link from ``out`` to the run's report.html, or None."""
    page = Path(run) / HTML_FILE
    return os.path.relpath(page, out) if page.is_file() else None


def heatmaps(table, out):
    """Per classifier and headline metric: datasets x methods cells with the delta against
    the baseline, its verdict mark, a colour, and a link to the run's report."""
    result = []
    for classifier, rows in table.groupby("classifier", sort=True):
        methods = list(dict.fromkeys(rows["method"]))
        datasets = sorted(rows["dataset"].unique())
        for metric in HEADLINE:
            deltas = rows[f"{metric}_delta_mean"]
            scale = max(float(deltas.abs().max()), 0.05)
            cells = {(r["dataset"], r["method"]): r for _, r in rows.iterrows()}
            grid = [
                [_cell(cells.get((dataset, method)), metric, scale, out) for method in methods]
                for dataset in datasets
            ]
            result.append({"classifier": classifier, "metric": LABELS[metric],
                           "methods": methods, "datasets": datasets, "grid": grid})  # fmt: skip
    return result


def _cell(row, metric, scale, out):
    if row is None:
        return None
    delta, verdict = row[f"{metric}_delta_mean"], row[f"{metric}_verdict"]
    return {
        "text": f"{delta:+.3f}",
        "mark": MARKS.get(verdict, ""),
        "verdict": verdict,
        "title": f"{verdict}: {delta:+.3f} [{row[f'{metric}_ci_low']:+.3f}, "
        f"{row[f'{metric}_ci_high']:+.3f}]",
        "colour": _colour(delta, scale),
        "link": _link(row["run"], out),
    }


def _p(value):
    return "\u2013" if value is None or pd.isna(value) else f"{value:.2f}"


def across_sections(across, out):
    """The statistics across datasets per (classifier, metric), with their diagrams."""
    sections = []
    for (classifier, metric), result in across.items():
        tests, rank = result["tests"], result["friedman"]
        rows = [
            [r["method"], r["versus"], f"{r['mean_delta']:+.3f}", f"{r['wins']} / {r['losses']}",
             f"{r['wilcoxon_p_holm']:.3g}", "yes" if r["significant"] else "no",
             " / ".join(_p(r[k]) for k in ("p_better", "p_rope", "p_worse"))]
            for _, r in tests.iterrows()
        ]  # fmt: skip
        figure = Path(out) / result["figure"]
        sections.append({
            "title": f"{LABELS[metric]}, {classifier}: across {result['n_datasets']} datasets",
            "rows": rows,
            "friedman": None if rank is None else {
                "p": f"{rank['p_value']:.3g}",
                "ranks": ", ".join(f"{m} {r:.2f}" for m, r in rank["mean_ranks"].items()),
            },
            "figure": png_uri(figure.read_bytes()) if figure.is_file() else None,
            "missing": "; ".join(f"{m} (no run on {', '.join(map(str, d))})"
                                 for m, d in (result.get("missing") or {}).items()),
        })  # fmt: skip
    return sections


def _figures(out, names):
    found = [Path(out) / name for name in names]
    return [png_uri(path.read_bytes()) for path in found if path.is_file()]


def render_comparison(comparison, out, figures=None):
    """The whole of comparison.html for ``comparison``, to be written into ``out`` (its links
    to the runs start there), its figures read from ``figures`` (default: ``out``)."""
    figures = out if figures is None else figures
    table = comparison.table
    classifiers = sorted(table["classifier"].unique())
    quality = [_quality_figure(c, len(classifiers)) for c in classifiers]
    amounts = [f"amount_{_file_name(c)}.png" for c in classifiers]
    runs = [
        {"name": f"{r['method']} on {r['dataset']} ({r['classifier']})",
         "link": _link(r["run"], out)}
        for _, r in table.iterrows()
    ]  # fmt: skip
    return render(
        "comparison.html.j2",
        title=f"synthbalance comparison: {len(table)} runs",
        heatmaps=heatmaps(table, out),
        marks=MARKS,
        across=across_sections(comparison.across, figures),
        alpha=ALPHA,
        quality=_figures(figures, dict.fromkeys(quality)),
        amounts=_figures(figures, amounts),
        runs=runs,
        problems=comparison.problems,
    )
