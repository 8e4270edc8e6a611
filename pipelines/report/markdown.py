"""report.md: report.html's order in at most about 60 lines for the default job: the answer
first, the forest plot, the headline metrics' scores and key comparisons, the generator's
quality in one short table with its diagnosis, samples, checkpoint selection, calibration and
the setting. Every comparison and every metric is in report.json and report.html."""

import re

from synthbalance.pipelines.methods import BASELINE
from synthbalance.pipelines.metrics import CALIBRATION, HEADLINE, LABELS
from synthbalance.pipelines.report.build import best_pair
from synthbalance.pipelines.report.diagnosis import diagnosis_text
from synthbalance.pipelines.report.figures import (
    FOREST,
    RELIABILITY,
    SELECTION,
    headline_comparisons,
    selections,
)
from synthbalance.pipelines.report.schema import MACRO, primary_class
from synthbalance.pipelines.report.text import (
    QUALITY_GROUPS,
    QUALITY_LABELS,
    VERDICT_RULES,
    answer_lines,
    crowding_note,
    few_rows_note,
    held_out_rows,
    interval,
    mean_sd,
    method_label,
    protocol_text,
    question,
    samples_of,
    scatter_caption,
    seeds_note,
    selection_summary,
    sequential_note,
    signed,
    undetected,
)


def no_raw_html(text):
    """``text`` with every ``<`` that could open an HTML tag or comment escaped: a name from
    the data (a class ``<u>c</u>``) is shown as written, never taken for HTML by a Markdown
    viewer. Its own text has no such ``<``."""
    return re.sub(r"<(?=[A-Za-z/!?])", r"\\<", text)


def markdown_table(header, rows):
    """A GitHub-flavoured table; a ``|`` in a cell (a class or column named so) is escaped,
    a line break made a space, so that names from the data keep the columns."""
    lines = [_row(header), "|" + "---|" * len(header)]
    lines += [_row(row) for row in rows]
    return "\n".join(lines)


def _row(cells):
    escaped = (str(cell).replace("|", "\\|").replace("\n", " ") for cell in cells)
    return "| " + " | ".join(escaped) + " |"


def render_markdown(report):
    """The whole of report.md. Blocks are separated by a blank line; a section's heading
    sits on the line above its first block."""
    generator = report["generator"]["name"]
    parts = [
        f"# synthbalance report: {generator} on {report['dataset']['name']}\n{question(report)}",
        "\n".join(f"- **{line}**" for line in answer_lines(report)),
        f"![every comparison's delta with its 95 % CI, per-fold dots]({FOREST})",
        *_scores_section(report),
        *_by_class_section(report),
        *_comparisons_section(report),
        *quality_section(report),
        *_samples_section(report),
        *_selection_section(report),
        *_calibration_section(report),
        *open_set_section(report),
        "## Setting\n" + _setting(report),
    ]
    return no_raw_html("\n\n".join(parts)) + "\n"


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
        "fitted on each training part only. The config and versions are in report.json and "
        "report.html." + (f" {note}" if (note := sequential_note(protocol)) else "")
    )


def _scores_section(report):
    """The headline metrics' scores of every method, and the calibration metrics where the
    report has a calibration section; every metric is in report.html."""
    summary = report["summary"]
    several = primary_class(report) == MACRO
    metrics = [*HEADLINE, *(CALIBRATION if report.get("calibration") else ())]
    table = markdown_table(
        ["method", *(LABELS[m] for m in metrics)],
        [[method_label(report, k), *(mean_sd(summary[k][m]) for m in metrics)] for k in summary],
    )
    if note := seeds_note(report):
        table += f"\n\n{note}"
    title = "## Scores (mean \u00b1 sd over folds"
    title += ", macro average over the minority classes" if several else ""
    return [f"{title}; every metric in report.html and report.json)\n{table}"]


def _by_class_section(report):
    """Each minority class's scores against the base class (several minority classes)."""
    by_class = report.get("summary_by_class")
    if not by_class:
        return []
    methods = list(report["summary"])
    rows = [
        [class_, LABELS[m], *(mean_sd(summary[k][m]) for k in methods)]
        for class_, summary in by_class.items()
        for m in HEADLINE
    ]
    return [
        f"## Scores by minority class (each against {report['dataset']['base']!r} alone)\n"
        + markdown_table(["class", "metric", *(method_label(report, m) for m in methods)], rows)
    ]


def key_comparisons(report):
    """The comparisons report.md lists: on each headline metric, for the headline class,
    every method against the baseline and the best augmented method against the best
    option without augmentation (the answer's comparison)."""
    shown = []
    for metric in HEADLINE:
        pair = best_pair(report["summary"], metric)
        shown += [
            c
            for c in headline_comparisons(report, metric)
            if c["versus"] == BASELINE or (c["method"], c["versus"]) == pair
        ]
    return shown


def _comparisons_section(report):
    shown = key_comparisons(report)
    rows = [
        [
            method_label(report, c["method"]),
            method_label(report, c["versus"]),
            LABELS[c["metric"]],
            interval(c),
            f"**{c['verdict']}**",
            f"\u00b1{c['mde']:.3f}" if "mde" in c else "",
            " / ".join(f"{100 * c[k]:.0f} %" for k in ("p_better", "p_rope", "p_worse")),
        ]
        for c in shown
    ]
    rest = len(report["comparisons"]) - len(shown)
    header = ["method", "versus", "metric", "delta [95 % CI]", "verdict", "MDE", "P"]
    more = f" The other {rest} comparisons are in report.html and report.json." if rest else ""
    return [
        "## Comparisons\nEvery method against the baseline, and the best augmentation against "
        "the best option without it. Paired per-fold deltas; 95 % CI from the corrected "
        f"resampled t-test (Nadeau & Bengio 2003), rope \u00b1{report['protocol']['rope']}; "
        "MDE: the smallest true difference the run detects with 80 % power; P(better / rope "
        "/ worse) from the Bayesian correlated t-test. Threshold tuning cannot change ROC "
        f"AUC, so pairs that differ only by the threshold are not compared there. "
        f"{VERDICT_RULES}{more}",
        markdown_table(header, rows),
        *_undetected(report, shown),
    ]


def _calibration_section(report):
    if not report.get("calibration"):
        return []
    return [
        "## Calibration of the minority probability\nThe scores table gives every method's "
        f"{', '.join(LABELS[k] for k in CALIBRATION)} (lower is better). Over-sampling "
        "shifts the class prior the classifier learns, and with it every probability (van "
        "den Goorbergh et al. 2022); recalibration moves the augmented probabilities back to "
        f"the real prior. The verdicts are in report.json. ![reliability diagram]({RELIABILITY})"
    ]


def _undetected(report, shown):
    """What each inconclusive comparison shown could not see, in one paragraph."""
    sentences = undetected(report, shown)
    return [" ".join(sentences)] if sentences else []


def quality_table(quality):
    """The quality metrics' means, one row per question they answer (``QUALITY_GROUPS``);
    metrics of no group in a last row."""
    grouped = [(title, [n for n in names if n in quality]) for title, names in QUALITY_GROUPS]
    known = {n for _, names in grouped for n in names}
    grouped.append(("other", [n for n in quality if n not in known]))
    rows = [
        [title, " \u00b7 ".join(f"{QUALITY_LABELS.get(n, (n,))[0]} {quality[n]['mean']:.3f}"
                                for n in names)]
        for title, names in grouped
        if names
    ]  # fmt: skip
    return markdown_table(["question", "mean over folds"], rows)


def quality_section(report):
    quality = report.get("quality")
    if not quality:
        return []
    n_held_out = held_out_rows(report)
    notes = [
        f"Means over folds of each fold's synthetic minority against the real minority rows "
        f"of its test part (at least {n_held_out} per fold), which neither the generator nor the "
        "classifier saw; they decide nothing (what each reads as, and its spread: "
        "report.html).",
        *crowding_note(quality),
        *_latent_note(report),
    ]
    return [
        "## Generator quality (synthetic vs unseen real minority)\n**Diagnosis:** "
        + diagnosis_text(report),
        *few_rows_note(n_held_out),
        quality_table(quality),
        " ".join(notes),
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


def _samples_section(report):
    """The image grid or the tabular scatter of the first fold's samples."""
    if report.get("sample_grid"):
        return [
            f"## Samples\nReal minority images (top) and {samples_of(report)} samples "
            "(bottom): the first fold's generator, which the evaluation scored, and the real "
            f"images it was fitted on. ![real and synthetic minority images]"
            f"({report['sample_grid']})"
        ]
    if block := report.get("sample_scatter"):
        return [
            f"## Samples\n{scatter_caption(report)} "
            f"![real and synthetic minority rows]({block['file']})"
        ]
    return []


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
        "## Checkpoint selection\nThe generator kept the checkpoint with the best "
        f"{summary['metric']} on held-out rows of the generated class: steps "
        f"{summary['low']}\u2013{summary['high']} (median {summary['median']}) over "
        f"{summary['fits']} fits.{tracks} ![selection history]({SELECTION})"
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
        "## Open set\n"
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
