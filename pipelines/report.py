"""report.json (schema ``synthbalance/report-v1``), report.md and the paired-delta figure."""

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from .io import atomic_path, write_text
from .metrics import HEADLINE, LABELS, METRICS
from .stats import corrected_ttest

SCHEMA = "synthbalance/report-v1"
FIGURE = "deltas.png"


def _by_method(folds):
    table = defaultdict(dict)
    for record in folds:
        table[record["method"]][(record["repeat"], record["fold"])] = record
    return table


def summarise(folds):
    """``{method: {metric: {"mean", "std"}}}`` over folds."""
    summary = {}
    for method, records in _by_method(folds).items():
        values = {m: [r["metrics"][m] for r in records.values()] for m in METRICS}
        summary[method] = {
            m: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0}
            for m, v in values.items()
        }
    return summary


def paired_deltas(folds, method, versus, metric):
    """Per-fold ``metric(method) - metric(versus)``, paired by (repeat, fold)."""
    table = _by_method(folds)
    keys = sorted(table[versus])
    return np.array(
        [table[method][k]["metrics"][metric] - table[versus][k]["metrics"][metric] for k in keys]
    )


def compare(folds, method, versus, rope):
    """One comparison per metric of ``method`` against ``versus`` on the same folds."""
    reference = _by_method(folds)[versus].values()
    n_train = np.mean([r["n_train"] for r in reference])
    n_test = np.mean([r["n_test"] for r in reference])
    return [
        {
            "method": method,
            "versus": versus,
            "metric": metric,
            **corrected_ttest(paired_deltas(folds, method, versus, metric), n_train, n_test, rope),
        }
        for metric in METRICS
    ]


def build_report(dataset, generator, classifier, protocol, folds, config):
    """Assemble report.json's content; ``generator``/``classifier`` are ``{"name", "params"}``."""
    return {
        "schema": SCHEMA,
        "dataset": dataset.describe(),
        "generator": generator,
        "classifier": classifier,
        "protocol": protocol,
        "folds": folds,
        "summary": summarise(folds),
        "comparisons": compare(folds, "augmented", "baseline", protocol["rope"]),
        "config": config,
    }


def _signed(value):
    return f"{value:+.3f}".replace("-", "\u2212")


def _interval(c):
    return f"{_signed(c['delta_mean'])} [{_signed(c['ci_low'])}, {_signed(c['ci_high'])}]"


_PHRASES = {
    "improves": "improves {m} ({ci})",
    "hurts": "hurts {m} ({ci})",
    "equivalent": "is equivalent in {m} ({ci})",
    "inconclusive": "is inconclusive for {m} ({ci})",
}


def headline(report):
    """One plain sentence: what augmentation did to the headline metrics."""
    by_metric = {
        c["metric"]: c
        for c in report["comparisons"]
        if c["method"] == "augmented" and c["versus"] == "baseline"
    }
    clauses = [
        _PHRASES[by_metric[m]["verdict"]].format(m=LABELS[m], ci=_interval(by_metric[m]))
        for m in HEADLINE
    ]
    return (
        f"On {report['dataset']['name']} with {report['classifier']['name']}, "
        f"{report['generator']['name']} augmentation {' and '.join(clauses)}."
    )


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _mean_sd(stat):
    return f"{stat['mean']:.3f} \u00b1 {stat['std']:.3f}"


def render_markdown(report):
    ds, protocol = report["dataset"], report["protocol"]
    methods = list(report["summary"])
    classes = ", ".join(f"{label}: {n}" for label, n in ds["classes"].items())
    parts = [
        f"# synthbalance report: {report['generator']['name']} on {ds['name']}",
        headline(report),
        f"Dataset **{ds['name']}** ({ds['kind']}, {ds['n_samples']} samples, "
        f"{ds['n_features']} features; {classes}; minority {ds['minority']!r}). "
        f"Classifier **{report['classifier']['name']}**, "
        f"generator **{report['generator']['name']}**. "
        f"Protocol: {protocol['n_splits']}-fold stratified CV repeated {protocol['n_repeats']} "
        f"times (seed {protocol['seed']}); generator fitted on each training part only.",
        "## Scores (mean \u00b1 sd over folds)",
        markdown_table(
            ["metric", *methods],
            [
                [
                    LABELS[m],
                    *(_mean_sd(report["summary"][k][m]) for k in methods),
                ]
                for m in METRICS
            ],
        ),
        "## Augmented vs baseline",
        f"Paired per-fold deltas; 95 % CI from the corrected resampled t-test (Nadeau & Bengio "
        f"2003); region of practical equivalence \u00b1{protocol['rope']}.",
        markdown_table(
            ["metric", "delta", "95 % CI", "p", "verdict"],
            [
                [
                    LABELS[c["metric"]],
                    _signed(c["delta_mean"]),
                    f"[{_signed(c['ci_low'])}, {_signed(c['ci_high'])}]",
                    f"{c['p_value']:.3g}",
                    f"**{c['verdict']}**",
                ]
                for c in report["comparisons"]
            ],
        ),
        "Verdicts: **equivalent** \u2014 the CI lies inside \u00b1rope; otherwise **improves** "
        "\u2014 the whole CI is above 0; **hurts** \u2014 the whole CI is below 0; "
        "**inconclusive** \u2014 none of these: more folds or repeats may decide.",
        f"![Per-fold paired deltas]({FIGURE})",
    ]
    return "\n\n".join(parts) + "\n"


def plot_deltas(report, path):
    """Per-fold paired deltas (augmented - baseline) for every metric, with the rope band."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rope = report["protocol"]["rope"]
    deltas = [paired_deltas(report["folds"], "augmented", "baseline", m) for m in METRICS]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.axhspan(-rope, rope, color="0.9", label=f"\u00b1rope ({rope})")
    ax.axhline(0, color="0.5", linewidth=0.8)
    for i, values in enumerate(deltas):
        ax.scatter(np.full(len(values), i), values, s=14, alpha=0.7)
        ax.plot([i - 0.25, i + 0.25], [values.mean()] * 2, color="k")
    ax.set_xticks(range(len(METRICS)), [LABELS[m] for m in METRICS], fontsize="small")
    ax.set_ylabel("augmented \u2212 baseline")
    ax.set_title(f"{report['generator']['name']} on {report['dataset']['name']}: per-fold deltas")
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def write_report(report, directory):
    """Write the figure, report.md and, last, report.json into ``directory``."""
    directory = Path(directory)
    plot_deltas(report, directory / FIGURE)
    write_text(directory / "report.md", render_markdown(report))
    write_text(directory / "report.json", json.dumps(report, indent=1, default=str) + "\n")
    return directory / "report.json"
