"""report.md: the answer first, then the scores, the headline comparisons, the generator's
quality and samples. Every comparison is in report.json (and the HTML report); the markdown
lists those of the headline metrics."""

from synthbalance.pipelines.metrics import CALIBRATION, HEADLINE, LABELS, METRICS
from synthbalance.pipelines.report.figures import FOREST, RELIABILITY, SELECTION, selections
from synthbalance.pipelines.report.schema import MACRO, primary_class
from synthbalance.pipelines.report.text import (
    QUALITY_LABELS,
    VERDICT_RULES,
    crowding_note,
    few_rows_note,
    headline,
    held_out_rows,
    interval,
    method_label,
    protocol_text,
    selection_summary,
    sequential_note,
    signed,
    undetected,
)


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def mean_sd(stat):
    cell = f"{stat['mean']:.3f} \u00b1 {stat['std']:.3f}"
    if "generator_std" in stat:
        cell += f" (gen. \u00b1 {stat['generator_std']:.3f})"
    return cell


def _percent(p):
    return f"{100 * p:.0f} %"


def render_markdown(report):
    """The whole of report.md."""
    generator = report["generator"]["name"]
    parts = [
        f"# synthbalance report: {generator} on {report['dataset']['name']}",
        headline(report),
        _setting(report),
        *_scores_section(report),
        *_by_class_section(report),
        *_comparisons_section(report),
        *_calibration_section(report),
        *quality_section(report),
        *_selection_section(report),
        *_sample_grid_section(report),
        *open_set_section(report),
        f"![Per-fold paired deltas]({FOREST})",
    ]
    return "\n\n".join(parts) + "\n"


def _setting(report):
    """The dataset, classifier, generator and protocol in one paragraph."""
    ds, protocol = report["dataset"], report["protocol"]
    classes = ", ".join(f"{label}: {n}" for label, n in ds["classes"].items())
    if isinstance(ds["minority"], list):
        minority = (
            f"minority classes {', '.join(map(repr, ds['minority']))}, each against {ds['base']!r}"
        )
    else:
        minority = f"minority {ds['minority']!r}"
    categorical = (
        f" Categorical features: {', '.join(ds['categorical'])}." if ds.get("categorical") else ""
    )
    return (
        f"Dataset **{ds['name']}** ({ds['kind']}, {ds['n_samples']} samples, "
        f"{ds['n_features']} features; {classes}; {minority}).{categorical} "
        f"Classifier **{report['classifier']['name']}**, generator "
        f"**{report['generator']['name']}**. Protocol: {protocol_text(protocol)}; generator "
        "fitted on each training part only."
        + (f" {note}" if (note := sequential_note(protocol)) else "")
    )


def _scores_section(report):
    methods = list(report["summary"])
    several = primary_class(report) == MACRO
    seeds = report["protocol"].get("generator_seeds", 1)
    table = markdown_table(
        ["metric", *(method_label(report, m) for m in methods)],
        [[LABELS[m], *(mean_sd(report["summary"][k][m]) for k in methods)] for m in METRICS],
    )
    if seeds > 1:
        table += (
            f"\n\nAugmented scores average {seeds} generator fits per fold; \u00b1 is the spread "
            "over folds, *gen. \u00b1* the spread between generator seeds within a fold."
        )
    title = "## Scores (mean \u00b1 sd over folds)"
    return [title + (" \u2014 macro average over the minority classes" if several else ""), table]


def _by_class_section(report):
    """Each minority class's scores against the base class (several minority classes)."""
    by_class = report.get("summary_by_class")
    if not by_class:
        return []
    methods = list(report["summary"])
    rows = [
        [class_, LABELS[m], *(mean_sd(summary[k][m]) for k in methods)]
        for class_, summary in by_class.items()
        for m in ("f1", "roc_auc")
    ]
    return [
        f"## Scores by minority class (each against {report['dataset']['base']!r} alone)",
        markdown_table(["class", "metric", *(method_label(report, m) for m in methods)], rows),
    ]


def _comparisons_section(report):
    """The headline metrics' comparisons of the headline class; the rest is in report.json."""
    class_ = primary_class(report)
    shown = [
        c
        for c in report["comparisons"]
        if c["metric"] in HEADLINE and c.get("class", class_) == class_
    ]
    rows = [
        [
            method_label(report, c["method"]),
            method_label(report, c["versus"]),
            LABELS[c["metric"]],
            interval(c),
            f"**{c['verdict']}**",
            f"\u00b1{c['mde']:.3f}" if "mde" in c else "",
            " / ".join(_percent(c[k]) for k in ("p_better", "p_rope", "p_worse")),
        ]
        for c in shown
    ]
    rest = len(report["comparisons"]) - len(shown)
    header = ["method", "versus", "metric", "delta [95 % CI]", "verdict", "MDE", "P"]
    return [
        "## Comparisons",
        f"Paired per-fold deltas; 95 % CI from the corrected resampled t-test (Nadeau & Bengio "
        f"2003), rope \u00b1{report['protocol']['rope']}; MDE: the smallest true difference the "
        "run detects with 80 % power; P(better / rope / worse) from the Bayesian correlated "
        "t-test. Threshold tuning cannot change ROC AUC, so pairs that differ only by the "
        f"threshold are not compared there. {VERDICT_RULES}",
        markdown_table(header, rows)
        + (
            f"\n\n{rest} more comparisons (other metrics, classes) are in report.json."
            if rest
            else ""
        ),
        *_undetected(report, shown),
    ]


def _calibration_section(report):
    if not report.get("calibration"):
        return []
    summary = report["summary"]
    rows = [
        [method_label(report, m), *(f"{summary[m][k]['mean']:.3f}" for k in CALIBRATION)]
        for m in summary
    ]
    return [
        "## Calibration of the minority probability",
        "Over-sampling shifts the class prior the classifier learns, and with it every "
        "probability (van den Goorbergh et al. 2022); recalibration moves the augmented "
        "probabilities back to the real prior. Lower is better; the verdicts are in report.json.",
        markdown_table(["method", *(LABELS[k] for k in CALIBRATION)], rows),
        f"![reliability diagram]({RELIABILITY})",
    ]


def _undetected(report, shown):
    """What each inconclusive comparison shown could not see, as a list."""
    lines = [f"- {line}" for line in undetected(report, shown)]
    return ["\n".join(lines)] if lines else []


def quality_section(report):
    quality = report.get("quality")
    if not quality:
        return []
    n_held_out = held_out_rows(report)
    return [
        "## Generator quality (synthetic vs unseen real minority)",
        "In every fold the generator was fitted on the whole training part, and its synthetic "
        f"minority is compared with the real minority rows of the test part (at least "
        f"{n_held_out} per fold), which neither the generator nor the classifier saw, on "
        "standardised features (one-hot for categorical columns; for images, features of a "
        "small CNN trained on the training part). These numbers decide nothing.",
        *few_rows_note(n_held_out),
        markdown_table(
            ["metric", "mean \u00b1 sd over folds", "reads as"],
            [
                [QUALITY_LABELS[name][0], mean_sd(stat), QUALITY_LABELS[name][1]]
                for name, stat in quality.items()
            ],
        ),
        *crowding_note(quality),
        *_latent_note(report),
    ]


def _latent_note(report):
    """The VAE's latent code in a sentence: how many dimensions it uses, their KL."""
    found = report.get("diagnostics")
    if not found:
        return []
    kl = ", ".join(f"{v:.2f}" for v in found["kl_per_dim"])
    return [
        f"Latent code: {found['active_units']:.1f} of {found['latent_dim']} dimensions active "
        f"on average over {found['fits']} fits (KL per dimension, nats: {kl}). A dimension "
        "whose KL is near 0 carries nothing; with none active the decoder ignores z and every "
        "sample sits at the class centre (posterior collapse)."
    ]


def _sample_grid_section(report):
    if not report.get("sample_grid"):
        return []
    sampling = report["generator"]["params"].get("sampling")
    mode = f", sampling={sampling}" if sampling else ""
    return [
        "## Samples",
        f"Real minority images (top) and {report['generator']['name']}{mode} samples (bottom): "
        "the first fold's generator, which the evaluation scored, and the real images it was "
        f"fitted on. ![real and synthetic minority images]({report['sample_grid']})",
    ]


def _selection_section(report):
    found = selections(report)
    if not found:
        return []
    summary = selection_summary(found)
    tracks = (
        f" Across the checkpoints of a fit, the training loss and the sample metric have a "
        f"median Spearman correlation of {summary['rho']:+.2f} (+1: the loss tracks "
        "sample quality; near 0 or below: a lower loss does not mean better samples)."
        if summary["rho"] is not None
        else ""
    )
    return [
        "## Checkpoint selection",
        f"The generator kept the checkpoint with the best {summary['metric']} on held-out rows "
        f"of the generated class: steps {summary['low']}\u2013{summary['high']} (median "
        f"{summary['median']}) over {summary['fits']} fits.{tracks} "
        f"![selection history]({SELECTION})",
    ]


OPEN_SET_COLUMNS = {
    "auroc": "AUROC",
    "fpr95": "FPR@95TPR",
    "aupr_in": "AUPR-in",
    "aupr_out": "AUPR-out",
    "accepted_known": "known accepted",
    "accuracy_accepted": "accuracy on accepted",
    "accuracy_known": "accuracy on all known",
}


def _with_ci(stat):
    return f"{stat['mean']:.3f} [{stat['ci_low']:.3f}, {stat['ci_high']:.3f}]"


def open_set_section(report):
    """The open set: how well each score separates the unknown classes' test rows from the
    known ones, what its threshold accepts, and each method against maximum softmax."""
    open_set = report.get("open_set")
    if not open_set:
        return []
    summary = open_set["summary"]
    rows = [
        [method, *(_with_ci(summary[method][m]) for m in OPEN_SET_COLUMNS)] for method in summary
    ]
    compared = [
        [
            c["method"], c["versus"], OPEN_SET_COLUMNS[c["metric"]],
            f"{signed(c['delta_mean'])} [{signed(c['ci_low'])}, {signed(c['ci_high'])}]",
            f"**{c['verdict']}**",
        ]
        for c in open_set["comparisons"]
    ]  # fmt: skip
    unknown = ", ".join(map(repr, open_set["unknown"]))
    return [
        "## Open set",
        f"Classes {unknown} were kept out of every training part and scored as unknowns in the "
        "test parts. Each method wraps the classifier in a reject option (RejectOptionClassifier) "
        f"whose threshold accepts {100 * open_set['coverage']:.0f} % of known rows held out "
        "from its training part; trained options learn from outlier rows "
        f"({', '.join(open_set['outliers'])}). Mean over folds [95 % CI, corrected resampled "
        "t-test]; AUROC and AUPR-in take known rows as positives, AUPR-out unknown rows.",
        markdown_table(["method", *OPEN_SET_COLUMNS.values()], rows),
        *_by_unknown_table(open_set),
        "Against maximum softmax (msp), paired per fold; for FPR@95TPR a negative delta "
        f"improves. {VERDICT_RULES}",
        markdown_table(["method", "versus", "metric", "delta [95 % CI]", "verdict"], compared),
    ]


def _by_unknown_table(open_set):
    """AUROC and FPR@95TPR of every method against each unknown class alone."""
    by_unknown = open_set.get("summary_by_unknown")
    if not by_unknown:
        return []
    methods = list(open_set["summary"])
    rows = [
        [class_, OPEN_SET_COLUMNS[m], *(_with_ci(summary[k][m]) for k in methods)]
        for class_, summary in by_unknown.items()
        for m in ("auroc", "fpr95")
    ]
    return [
        "Each unknown class alone against the known rows:",
        markdown_table(["unknown", "metric", *methods], rows),
    ]
