"""report.json (schema ``synthbalance/report-v1``), report.md and the paired-delta figure."""

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from synthbalance.pipelines.evaluation import AUGMENTED, METHODS
from synthbalance.pipelines.io import pyplot, save_figure, write_text
from synthbalance.pipelines.metrics import HEADLINE, LABELS, METRICS, THRESHOLD_FREE
from synthbalance.pipelines.stats import bayesian_correlated_ttest, corrected_ttest

SCHEMA = "synthbalance/report-v1"
FIGURE = "deltas.png"
SELECTION_FIGURE = "selection.png"
# Pairs that differ only by a tuned threshold: threshold-free metrics are equal by construction.
THRESHOLD_ONLY = {("threshold", "baseline"), ("augmented+threshold", "augmented")}


def _by_method(folds):
    table = defaultdict(dict)
    for record in folds:
        table[record["method"]][(record["repeat"], record["fold"])] = record
    return table


# The comparisons' "class" of the macro average over several minority classes.
MACRO = "macro"


def _metrics(record, class_=None):
    """A fold record's metrics: the averaged ones, or those of minority class ``class_``."""
    return record["metrics"] if class_ is None else record["metrics_by_class"][class_]


def minority_classes(folds):
    """The minority classes with their own scores (several minority classes), else []."""
    return list(folds[0].get("metrics_by_class", {})) if folds else []


def summarise(folds, class_=None):
    """``{method: {metric: {"mean", "std"[, "generator_std"]}}}`` over folds.

    ``std`` is the spread over folds; ``generator_std``, for augmented methods fitted with
    several generator seeds, the spread between seeds within a fold (root mean variance).
    With ``class_``, the scores of that minority class against the base class.
    """
    summary = {}
    for method, records in _by_method(folds).items():
        records = list(records.values())
        summary[method] = {}
        for m in METRICS:
            values = [_metrics(r, class_)[m] for r in records]
            stats = {
                "mean": float(np.mean(values)),
                "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            }
            if "metrics_by_seed" in records[0] and class_ is None:
                variances = [np.var([s[m] for s in r["metrics_by_seed"]], ddof=1) for r in records]
                stats["generator_std"] = float(np.sqrt(np.mean(variances)))
            summary[method][m] = stats
    return summary


def paired_deltas(folds, method, versus, metric, class_=None):
    """Per-fold ``metric(method) - metric(versus)``, paired by (repeat, fold)."""
    table = _by_method(folds)
    keys = sorted(table[versus])
    return np.array(
        [
            _metrics(table[method][k], class_)[metric] - _metrics(table[versus][k], class_)[metric]
            for k in keys
        ]
    )


def compare(folds, method, versus, metric, protocol, class_=None, label=None):
    """``method`` against ``versus`` on one metric, on the same folds: the corrected t-test
    verdict and the Bayesian correlated t-test's probabilities. ``class_`` picks a minority
    class's own scores; ``label`` is the comparison's ``class`` field."""
    table = _by_method(folds)
    reference = table[versus].values()
    n_train = np.mean([r["n_train"] for r in reference])
    n_test = np.mean([r["n_test"] for r in reference])
    deltas = paired_deltas(folds, method, versus, metric, class_)
    return {
        "method": method,
        "versus": versus,
        "metric": metric,
        "class": label if label is not None else class_,
        **corrected_ttest(deltas, n_train, n_test, protocol["rope"]),
        **bayesian_correlated_ttest(deltas, protocol["rope"], n_repeats=protocol["n_repeats"]),
    }


def best_methods(summary, candidates):
    """For every metric, the candidate with the highest mean (earlier in METHODS on ties)."""
    ordered = [m for m in METHODS if m in candidates and m in summary]
    return {
        metric: max(ordered, key=lambda m: (summary[m][metric]["mean"], -ordered.index(m)))
        for metric in METRICS
    }


def comparisons(folds, summary, protocol, label=None, class_=None):
    """Every method against the baseline, and every augmented method against the best
    method without augmentation (where that is not the baseline); each names the minority
    class (or ``MACRO``) it is about as ``class`` = ``label``."""
    methods = [m for m in METHODS if m in summary]
    plain = [m for m in methods if m not in AUGMENTED]
    best_plain = best_methods(summary, plain)
    result = []
    for metric in METRICS:
        pairs = [(m, "baseline") for m in methods if m != "baseline"]
        if best_plain[metric] != "baseline":
            pairs += [(m, best_plain[metric]) for m in methods if m in AUGMENTED]
        for method, versus in pairs:
            if metric in THRESHOLD_FREE and (method, versus) in THRESHOLD_ONLY:
                continue
            result.append(compare(folds, method, versus, metric, protocol, class_, label))
    return result


def all_comparisons(folds, summary, protocol, minority, summary_by_class):
    """The comparisons of the minority class, or, with several minority classes (the keys
    of ``summary_by_class``, that class's summary), those of the macro average (``class`` =
    ``MACRO``) and then each class against the base class."""
    if not summary_by_class:
        return comparisons(folds, summary, protocol, str(minority))
    result = comparisons(folds, summary, protocol, MACRO)
    for class_, class_summary in summary_by_class.items():
        result += comparisons(folds, class_summary, protocol, class_, class_)
    return result


def primary_class(report):
    """The ``class`` of the comparisons a report's headline speaks about."""
    minority = report["dataset"].get("minority")
    return MACRO if isinstance(minority, list) else str(minority)


QUALITY_LABELS = {
    "c2st_auc": ("C2ST AUC", "0.5 = indistinguishable from real, 1.0 = trivially fake"),
    "precision": ("precision", "share of synthetic rows inside the real manifold"),
    "recall": ("recall", "share of real rows inside the synthetic manifold"),
    "density": ("density", "about 1 when synthetic rows sit where real ones are dense"),
    "coverage": ("coverage", "share of real rows with a synthetic neighbour"),
    "memorised": ("memorised", "share closer to a training row than 95 % of unseen real rows"),
    "exact_copies": ("exact copies", "share identical to a training row"),
    "leaked": ("leaked", "share closer to an unseen real row than 95 % of training rows are"),
}


def summarise_quality(folds):
    """Mean and sd over folds of each quality metric of the augmented method, or None."""
    measured = [r["quality"] for r in folds if r["method"] == "augmented" and "quality" in r]
    if not measured:
        return None
    return {
        name: {
            "mean": float(np.mean([q[name] for q in measured])),
            "std": float(np.std([q[name] for q in measured], ddof=1)) if len(measured) > 1 else 0.0,
        }
        for name in measured[0]
    }


def build_report(dataset, generator, classifier, protocol, folds, config):
    """Assemble report.json's content; ``generator`` and ``classifier`` are the
    ``{"name", "class", "params"}`` blocks of ``components.build``."""
    if "baseline" not in {r["method"] for r in folds}:
        raise ValueError("evaluation.methods must include 'baseline': every verdict is against it")
    summary = summarise(folds)
    description = dataset.describe()
    by_class = {str(c): summarise(folds, c) for c in minority_classes(folds)}
    return {
        "schema": SCHEMA,
        "dataset": description,
        "generator": generator,
        "classifier": classifier,
        "protocol": protocol,
        "folds": folds,
        "summary": summary,
        **({"summary_by_class": by_class} if by_class else {}),
        "comparisons": all_comparisons(folds, summary, protocol, description["minority"], by_class),
        "quality": summarise_quality(folds),
        "config": config,
    }


def _signed(value):
    return f"{value:+.3f}".replace("-", "\u2212")


def _interval(c):
    return f"{_signed(c['delta_mean'])} [{_signed(c['ci_low'])}, {_signed(c['ci_high'])}]"


def method_label(method, generator):
    labels = {
        "baseline": "the imbalanced baseline",
        "class_weight": "balanced class weights",
        "threshold": "tuning the threshold",
        "augmented": f"{generator} augmentation",
        "augmented+threshold": f"{generator} augmentation with a tuned threshold",
    }
    return labels[method]


def find_comparison(report, method, versus, metric, class_=None):
    """The comparison of ``method`` against ``versus`` for ``class_`` (default: the
    headline's: the minority class, or the macro average over several)."""
    class_ = primary_class(report) if class_ is None else class_
    for c in report["comparisons"]:
        if (c["method"], c["versus"], c["metric"], c.get("class", class_)) == (
            method, versus, metric, class_,
        ):  # fmt: skip
            return c
    return None


def _best_option(report, metric):
    """One clause naming the best option for ``metric``, or None without augmented methods."""
    summary, generator = report["summary"], report["generator"]["name"]
    augmented = [m for m in AUGMENTED if m in summary]
    if not augmented:
        return None
    best_augmented = best_methods(summary, augmented)[metric]
    best_plain = best_methods(summary, [m for m in summary if m not in AUGMENTED])[metric]
    c = find_comparison(report, best_augmented, best_plain, metric)
    if c is None:  # not compared: a pair that differs only by the threshold
        return None
    plain = method_label(best_plain, generator)
    aug = method_label(best_augmented, generator)
    clause = {
        "hurts": f"{plain} beats every augmentation",
        "improves": f"{aug} beats every option without augmentation (the best: {plain})",
        "equivalent": f"{aug} is equivalent to {plain}",
        "inconclusive": f"{aug} against {plain} is inconclusive",
    }[c["verdict"]]
    return f"for {_headline_label(report, metric)}, {clause} ({_interval(c)})"


_PHRASES = {
    "improves": "improves {m} ({ci})",
    "hurts": "hurts {m} ({ci})",
    "equivalent": "is equivalent in {m} ({ci})",
    "inconclusive": "is inconclusive for {m} ({ci})",
}


def _headline_label(report, metric):
    """The metric's name, "macro F1" where it averages several minority classes."""
    return ("macro " if primary_class(report) == MACRO else "") + LABELS[metric]


def headline(report):
    """The report's opening: the best option per headline metric, then what augmentation
    did against the baseline, in plain sentences."""
    best = "; ".join(clause for m in HEADLINE if (clause := _best_option(report, m)))
    sentences = [best[0].upper() + best[1:] + "."] if best else []
    if "augmented" in report["summary"]:
        clauses = [
            _PHRASES[c["verdict"]].format(m=_headline_label(report, m), ci=_interval(c))
            for m in HEADLINE
            if (c := find_comparison(report, "augmented", "baseline", m))
        ]
        sentences.append(
            f"On {report['dataset']['name']} with {report['classifier']['name']}, "
            f"{report['generator']['name']} augmentation {' and '.join(clauses)} "
            "against the baseline."
        )
    return " ".join(sentences)


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _mean_sd(stat):
    cell = f"{stat['mean']:.3f} \u00b1 {stat['std']:.3f}"
    if "generator_std" in stat:
        cell += f" (gen. \u00b1 {stat['generator_std']:.3f})"
    return cell


def _percent(p):
    return f"{100 * p:.0f} %"


def render_markdown(report):
    ds, protocol, generator = report["dataset"], report["protocol"], report["generator"]["name"]
    methods = list(report["summary"])
    classes = ", ".join(f"{label}: {n}" for label, n in ds["classes"].items())
    seeds = protocol.get("generator_seeds", 1)
    spread = (
        f" Augmented scores average {seeds} generator fits per fold; \u00b1 is the spread over "
        "folds, *gen. \u00b1* the spread between generator seeds within a fold."
        if seeds > 1
        else ""
    )
    several = isinstance(ds["minority"], list)
    minority = (
        f"minority classes {', '.join(map(repr, ds['minority']))}, each against {ds['base']!r}"
        if several
        else f"minority {ds['minority']!r}"
    )
    categorical = (
        f" Categorical features: {', '.join(ds['categorical'])}." if ds.get("categorical") else ""
    )
    class_column = ["class"] if several else []
    parts = [
        f"# synthbalance report: {generator} on {ds['name']}",
        headline(report),
        f"Dataset **{ds['name']}** ({ds['kind']}, {ds['n_samples']} samples, "
        f"{ds['n_features']} features; {classes}; {minority}).{categorical} "
        f"Classifier **{report['classifier']['name']}**, generator **{generator}**. "
        f"Protocol: {protocol['n_splits']}-fold stratified CV repeated {protocol['n_repeats']} "
        f"times (seed {protocol['seed']}); generator fitted on each training part only.",
        "## Scores (mean \u00b1 sd over folds)"
        + (" \u2014 macro average over the minority classes" if several else ""),
        markdown_table(
            ["metric", *methods],
            [[LABELS[m], *(_mean_sd(report["summary"][k][m]) for k in methods)] for m in METRICS],
        )
        + ("\n\n" + spread.strip() if spread else ""),
        *_by_class_section(report, methods),
        "## Comparisons",
        f"Paired per-fold deltas; 95 % CI from the corrected resampled t-test (Nadeau & Bengio "
        f"2003); region of practical equivalence \u00b1{protocol['rope']}. P(better), P(rope), "
        "P(worse): the Bayesian correlated t-test (baycomp), a second opinion.",
        markdown_table(
            [
                *class_column,
                "method",
                "versus",
                "metric",
                "delta",
                "95 % CI",
                "p",
                "verdict",
                "P(better / rope / worse)",
            ],
            [
                [
                    *([c["class"]] if several else []),
                    method_label(c["method"], generator),
                    method_label(c["versus"], generator),
                    LABELS[c["metric"]],
                    _signed(c["delta_mean"]),
                    f"[{_signed(c['ci_low'])}, {_signed(c['ci_high'])}]",
                    f"{c['p_value']:.3g}",
                    f"**{c['verdict']}**",
                    " / ".join(_percent(c[k]) for k in ("p_better", "p_rope", "p_worse")),
                ]
                for c in report["comparisons"]
            ],
        ),
        *_quality_section(report),
        *_selection_section(report),
        *_sample_grid_section(report),
        "Tuning the threshold cannot change ROC AUC or PR AUC (they rank scores, they do not cut "
        "them), so comparisons that differ only by the threshold are not listed for them.",
        "Verdicts: **equivalent** \u2014 the CI lies inside \u00b1rope; otherwise **improves** "
        "\u2014 the whole CI is above 0; **hurts** \u2014 the whole CI is below 0; "
        "**inconclusive** \u2014 none of these: more folds or repeats may decide.",
        f"![Per-fold paired deltas]({FIGURE})",
    ]
    return "\n\n".join(parts) + "\n"


def _by_class_section(report, methods):
    """Each minority class's scores against the base class (several minority classes)."""
    by_class = report.get("summary_by_class")
    if not by_class:
        return []
    rows = [
        [class_, LABELS[m], *(_mean_sd(summary[k][m]) for k in methods)]
        for class_, summary in by_class.items()
        for m in ("f1", "roc_auc", "pr_auc")
    ]
    return [
        f"## Scores by minority class (each against {report['dataset']['base']!r} alone)",
        markdown_table(["class", "metric", *methods], rows),
    ]


def _quality_section(report):
    quality = report.get("quality")
    if not quality:
        return []
    fraction = report["protocol"].get("quality", {}).get("validation_fraction")
    n_held_out = _held_out_rows(report)
    return [
        "## Generator quality (synthetic vs unseen real minority)",
        f"In every fold {100 * fraction:.0f} % of the training minority (at least {n_held_out} "
        "rows) was held out from the generator (the classifier still trained on it); the "
        "synthetic minority is compared with those rows on standardised features (one-hot for "
        "categorical columns; for images, features of a small CNN trained on the training "
        "part).",
        *_few_rows_note(n_held_out),
        markdown_table(
            ["metric", "mean \u00b1 sd over folds", "reads as"],
            [
                [QUALITY_LABELS[name][0], _mean_sd(stat), QUALITY_LABELS[name][1]]
                for name, stat in quality.items()
            ],
        ),
        *_crowding_note(quality),
    ]


# Below this many held-out rows per fold, the C2ST AUC of two samples of one distribution
# spreads with a standard deviation of 0.12-0.25 around 0.5 (measured for 5-20 rows of 8-64
# features, 30 draws each); at 40 rows it is about 0.07.
FEW_HELD_OUT = 20


def _held_out_rows(report):
    """The fewest real minority rows a fold's quality metrics compared with."""
    return min(r["n_held_out"] for r in report["folds"] if "quality" in r)


def _few_rows_note(n_held_out):
    if n_held_out >= FEW_HELD_OUT:
        return []
    return [
        f"With {n_held_out} held-out rows in a fold, each fold's metrics are rough: two "
        "samples of that size from one distribution give C2ST AUCs with a standard deviation "
        "of 0.12-0.25 around 0.5. The means over folds below are steadier (see their \u00b1 "
        "sd), but only large gaps between generators mean something. More minority rows, or a "
        "larger `evaluation.quality.validation_fraction` (fewer rows for the generator), make "
        "them sharper."
    ]


# About 5 % of an honest generator's rows pass the leakage test by chance; four times that
# cannot be leakage here, as no fold shows the held-out rows to the generator.
CROWDING_LEAKED = 0.2
# Exact copies above this share point to duplicate rows in the data instead (see below).
FEW_COPIES = 0.05


def _crowding_note(quality):
    """A reading of ``leaked`` (and ``memorised``) when it is high. The folds never show
    the held-out rows to the generator, so synthetic rows that sit closer to them than
    training rows do either copy training rows that duplicate held-out ones (exact copies
    say so) or crowd the dense part of the minority."""
    leaked = quality.get("leaked", {}).get("mean")
    if leaked is None or leaked < CROWDING_LEAKED:
        return []
    memorised, copies, density = (
        quality.get(name, {}).get("mean", float("nan"))
        for name in ("memorised", "exact_copies", "density")
    )
    opening = f"Leaked is {leaked:.2f}, yet no fold shows its held-out rows to the generator: "
    if copies > FEW_COPIES:
        return [
            opening + f"{100 * copies:.0f} % of the synthetic rows copy a training row, and "
            "where the data holds duplicate rows, a copy of one twin lands on its held-out "
            "twin. Check the data for duplicates before reading this as leakage."
        ]
    return [
        opening + f"the synthetic rows crowd where the real minority is densest (density "
        f"{density:.2f}), closer to real rows of either set than real rows are to each other. "
        f"Memorised ({memorised:.2f}) measures the same kind of closeness, to the training "
        f"rows, and is inflated by the crowding too; exact copies ({copies:.2f}) are the "
        "direct sign of copying."
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
        "fitted on. "
        f"![real and synthetic minority images]({report['sample_grid']})",
    ]


def _selection_section(report):
    selections = _selections(report)
    if not selections:
        return []
    chosen = [s["best_epoch"] for _, s in selections]
    metric = selections[0][1]["metric"]
    return [
        "## Checkpoint selection",
        f"The generator kept the checkpoint with the best {metric} on held-out rows of the "
        f"generated class: epochs {min(chosen)}\u2013{max(chosen)} (median "
        f"{int(np.median(chosen))}) over {len(selections)} fits. "
        f"![selection history]({SELECTION_FIGURE})",
    ]


def plot_deltas(report, path):
    """Per-fold paired deltas of every method against the baseline, one panel per headline
    metric, with the rope band."""
    plt = pyplot()

    rope, generator = report["protocol"]["rope"], report["generator"]["name"]
    methods = [m for m in report["summary"] if m != "baseline"]
    fig, axes = plt.subplots(1, len(HEADLINE), figsize=(4.5 * len(HEADLINE), 3.8), sharey=False)
    for ax, metric in zip(np.atleast_1d(axes), HEADLINE, strict=True):
        ax.axhspan(-rope, rope, color="0.9", label=f"\u00b1rope ({rope})")
        ax.axhline(0, color="0.5", linewidth=0.8)
        for i, method in enumerate(methods):
            values = paired_deltas(report["folds"], method, "baseline", metric)
            ax.scatter(np.full(len(values), i), values, s=14, alpha=0.7)
            ax.plot([i - 0.25, i + 0.25], [values.mean()] * 2, color="k")
        ax.set_xticks(
            range(len(methods)),
            [method_label(m, generator).replace(" augmentation", "\naug.") for m in methods],
            fontsize="x-small",
        )
        ax.set_title(f"{LABELS[metric]}: method \u2212 baseline", fontsize="medium")
    np.atleast_1d(axes)[0].legend(loc="best", fontsize="small")
    fig.suptitle(f"{generator} on {report['dataset']['name']}: per-fold deltas")
    save_figure(fig, path)


def _selections(report):
    """``[(fold label, selection record)]`` of the augmented method's generator fits."""
    found = []
    for r in report["folds"]:
        if r["method"] != "augmented" or "selection" not in r:
            continue
        records = r["selection"] if isinstance(r["selection"], list) else [r["selection"]]
        for i, record in enumerate(records):
            # one-model-per-class samplers record one selection per generated class
            per_class = record if "history" not in record else {"": record}
            for label, selection in per_class.items():
                if selection:
                    name = f"r{r['repeat']}f{r['fold']}" + (f" s{i}" if i else "")
                    found.append((name + (f" {label}" if label else ""), selection))
    return found


def plot_selection(selections, path):
    """The selection metric over epochs for every generator fit, chosen epochs marked."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, selection in selections:
        epochs, values = zip(*selection["history"], strict=True)
        (line,) = ax.plot(epochs, values, linewidth=1, label=name)
        best = epochs.index(selection["best_epoch"])
        ax.scatter([epochs[best]], [values[best]], color=line.get_color(), zorder=3)
    metric = selections[0][1]["metric"]
    ax.set_xlabel("epoch")
    ax.set_ylabel({"coverage": "\u2212coverage"}.get(metric, metric) + " (lower is better)")
    ax.set_title("Checkpoint selection on held-out rows; dots: the kept checkpoints")
    if len(selections) <= 12:
        ax.legend(fontsize="xx-small", ncol=2)
    save_figure(fig, path)


def write_report(report, directory):
    """Write the figures, report.md and, last, report.json into ``directory``."""
    directory = Path(directory)
    plot_deltas(report, directory / FIGURE)
    if selections := _selections(report):
        plot_selection(selections, directory / SELECTION_FIGURE)
    write_text(directory / "report.md", render_markdown(report))
    write_text(directory / "report.json", json.dumps(report, indent=1, default=str) + "\n")
    return directory / "report.json"
