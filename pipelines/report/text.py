"""A report in words: the headline and the readings of its numbers, shared by every renderer."""

import numpy as np

from synthbalance.pipelines.methods import AUGMENTATION, BASELINE, PLAIN, describe
from synthbalance.pipelines.metrics import HEADLINE, LABELS, sign
from synthbalance.pipelines.report.build import best_methods, best_pair, find_comparison
from synthbalance.pipelines.report.schema import MACRO, primary_class

QUALITY_LABELS = {
    "c2st_auc": ("C2ST AUC", "0.5 = indistinguishable from real, 1.0 = trivially fake"),
    "precision": ("precision", "share of synthetic rows inside the real manifold"),
    "recall": ("recall", "share of real rows inside the synthetic manifold"),
    "density": ("density", "about 1 when synthetic rows sit where real ones are dense"),
    "coverage": ("coverage", "share of real rows with a synthetic neighbour"),
    "fd": (
        "Fréchet distance",
        "between Gaussians fitted to real and synthetic features; 0 = alike",
    ),
    "fd_real": (
        "Fréchet distance of real rows",
        "the same distance for the real training rows: what a perfect generator scores",
    ),
    "diversity": ("diversity", "synthetic spread / real spread; near 0 = collapsed to a point"),
    "cas": ("CAS", "share of synthetic rows a real-data classifier gives the intended class"),
    "cas_real": (
        "CAS of real rows",
        "the same share for unseen real rows: what a perfect generator scores",
    ),
    "tstr_f1": ("TSTR F1", "F1 of a classifier trained on synthetic instead of real minority rows"),
    "memorised": ("memorised", "share closer to a training row than 95 % of unseen real rows"),
    "exact_copies": ("exact copies", "share identical to a training row"),
    "leaked": ("leaked", "share closer to an unseen real row than 95 % of training rows are"),
}
# The quality metrics by the question each answers (report.md's short table); each group's
# reference (what real rows score) follows the metric it is for.
QUALITY_GROUPS = (
    ("fidelity: do they look real?", ("c2st_auc", "precision", "density", "fd", "fd_real")),
    ("variety: do they cover the class?", ("recall", "coverage", "diversity")),
    ("usefulness: are they the class?", ("cas", "cas_real", "tstr_f1")),
    ("privacy: do they copy rows?", ("memorised", "exact_copies", "leaked")),
)
VERDICT_RULES = (
    "Verdicts: **equivalent** \u2014 the CI lies inside \u00b1rope; otherwise **improves** "
    "\u2014 the whole CI is above 0; **hurts** \u2014 the whole CI is below 0; "
    "**inconclusive** \u2014 none of these: a true difference smaller than the run's minimum "
    "detectable effect (MDE: the difference it detects 4 times in 5) often looks like this; "
    "more folds or repeats may decide."
)


def signed(value):
    return f"{value:+.3f}".replace("-", "\u2212")


def interval(c):
    """``+0.012 [−0.003, +0.027]``: a comparison's mean delta and its 95 % CI."""
    return f"{signed(c['delta_mean'])} [{signed(c['ci_low'])}, {signed(c['ci_high'])}]"


def reading(c):
    """``interval(c)``, and for an inconclusive comparison the difference it could not see."""
    if c["verdict"] != "inconclusive" or "mde" not in c:
        return interval(c)
    return f"{interval(c)}; a difference below \u00b1{c['mde']:.3f} would look like this"


def detectable_note(c, n_splits):
    """What an inconclusive comparison of an ``n_splits``-fold run can tell: "a difference
    below ±0.062 would look like this; 5 × 10 folds would shrink it to ±0.048, and no
    number of 5-fold repeats below ±0.041"."""
    text = f"a difference below \u00b1{c['mde']:.3f} would look like this"
    if more := c.get("mde_max_repeats"):
        text += (
            f"; {more['n_splits']} \u00d7 {more['n_repeats']} folds would shrink it to "
            f"\u00b1{more['mde']:.3f}"
        )
    if "mde_floor" in c:
        text += f", and no number of {n_splits}-fold repeats below \u00b1{c['mde_floor']:.3f}"
    return text


def undetected(report, comparisons):
    """One sentence for each inconclusive comparison of ``comparisons``: what it could not
    see, and what more folds would (the report.md list and the notebook view)."""
    n_splits = report["protocol"]["n_splits"]
    return [
        f"{method_label(report, c['method'])} against {method_label(report, c['versus'])}, "
        f"{LABELS[c['metric']]}: inconclusive: {detectable_note(c, n_splits)}."
        for c in comparisons
        if c["verdict"] == "inconclusive" and "mde" in c
    ]


def mean_sd(stat):
    """A summary cell: mean ± sd over folds, and the spread between generator seeds."""
    cell = f"{stat['mean']:.3f} \u00b1 {stat['std']:.3f}"
    if "generator_std" in stat:
        cell += f" (gen. \u00b1 {stat['generator_std']:.3f})"
    return cell


def seeds_note(report):
    """What ``mean_sd``'s two spreads are, for a run with several generator seeds; else None."""
    seeds = report["protocol"].get("generator_seeds", 1)
    if seeds == 1:
        return None
    return (
        f"Augmented scores average {seeds} generator fits per fold; \u00b1 is the spread over "
        "folds, gen. \u00b1 the spread between generator seeds within a fold."
    )


def protocol_text(protocol):
    """The folds a run used and, for an adaptive run, when it stopped, in words."""
    repeats = protocol["n_repeats"]
    folds = f"{protocol['n_splits']}-fold stratified CV" + (
        f" repeated {repeats} times" if repeats != 1 else ""
    )
    adaptive = protocol.get("adaptive")
    if adaptive is None:
        return f"{folds} (seed {protocol['seed']})"
    return (  # plain text: the same words go into report.md and report.html
        f"{folds} (seed {protocol['seed']}; n_repeats=auto, at most "
        f"{protocol['max_repeats']}: stopped after {len(adaptive.get('looks', []))} looks, "
        f"{adaptive.get('stopped', 'not recorded why')})"
    )


def sequential_note(protocol):
    """How an adaptive run's intervals keep the false-alarm rate, or None."""
    adaptive = protocol.get("adaptive")
    if adaptive is None:
        return None
    spending = {"obrien_fleming": "O'Brien-Fleming", "pocock": "Pocock"}[adaptive["spending"]]
    return (
        "Its intervals are repeated confidence intervals, which keep the false-alarm rate at "
        f"5 % however many looks the run took ({spending}-type alpha spending over the looks "
        f"after {', '.join(map(str, adaptive['looks_at']))} repeats): "
        f"\u00b1{adaptive['critical']:.2f} corrected standard errors at the last look."
    )


def method_label(report, method):
    """``method`` in words for this report's generator."""
    return describe(method, report["generator"]["name"])


def metric_label(report, metric):
    """The metric's name, "macro F1" where it averages several minority classes."""
    return ("macro " if primary_class(report) == MACRO else "") + LABELS[metric]


def best_option(report, metric):
    """One clause naming the best option for ``metric``, or None without augmented methods."""
    pair = best_pair(report["summary"], metric)
    if pair is None:
        return None
    best_augmented, best_plain = pair
    c = find_comparison(report, best_augmented, best_plain, metric)
    if c is None:  # not compared: a pair that differs only by the threshold
        return None
    plain, aug = method_label(report, best_plain), method_label(report, best_augmented)
    clause = {
        "hurts": f"{plain} beats every augmentation",
        "improves": f"{aug} beats every option without augmentation (the best: {plain})",
        "equivalent": f"{aug} is equivalent to {plain}",
        "inconclusive": f"{aug} against {plain} is inconclusive",
    }[c["verdict"]]
    return f"for {metric_label(report, metric)}, {clause} ({reading(c)})"


_PHRASES = {
    "improves": "improves {m} ({ci})",
    "hurts": "hurts {m} ({ci})",
    "equivalent": "is equivalent in {m} ({ci})",
    "inconclusive": "is inconclusive for {m} ({ci})",
}


def headline(report):
    """The report's opening: the best option per headline metric, then what augmentation
    did against the baseline, in plain sentences."""
    best = "; ".join(clause for m in HEADLINE if (clause := best_option(report, m)))
    sentences = [best[0].upper() + best[1:] + "."] if best else []
    if AUGMENTATION[0] in report["summary"]:
        clauses = [
            _PHRASES[c["verdict"]].format(m=metric_label(report, m), ci=reading(c))
            for m in HEADLINE
            if (c := find_comparison(report, *AUGMENTATION, m))
        ]
        if clauses:
            sentences.append(
                f"On {report['dataset']['name']} with {report['classifier']['name']}, "
                f"{report['generator']['name']} augmentation {' and '.join(clauses)} "
                "against the baseline."
            )
    if not sentences and not report["comparisons"]:  # methods=[baseline]: scores alone
        sentences.append(
            f"On {report['dataset']['name']} with {report['classifier']['name']}, only the "
            "baseline ran: no method is compared with it."
        )
    elif not sentences:  # no augmented method: what the best cheap fix did
        sentences.append(
            f"On {report['dataset']['name']} with {report['classifier']['name']}, no "
            f"augmentation ran; against the baseline, {'; '.join(_best_fixes(report))}."
        )
    return " ".join(sentences)


def _best_fixes(report):
    """Per headline metric, the best-scoring method compared with the baseline and its
    verdict, as a clause."""
    for metric in HEADLINE:
        compared = [
            c for m in report["summary"] if (c := find_comparison(report, m, BASELINE, metric))
        ]
        if compared:
            c = max(compared, key=lambda c: sign(metric) * c["delta_mean"])
            yield f"{method_label(report, c['method'])} " + _PHRASES[c["verdict"]].format(
                m=metric_label(report, metric), ci=reading(c)
            )


def question(report):
    """What the run asks, in one sentence."""
    fixes = [method_label(report, m) for m in report["summary"] if m in PLAIN and m != BASELINE]
    metrics = " and ".join(metric_label(report, m) for m in HEADLINE)
    cheap = f" and cheap fixes ({', '.join(fixes)})" if fixes else ""
    return (
        f"Does {report['generator']['name']} augmentation improve "
        f"{report['classifier']['name']}'s {metrics} on {report['dataset']['name']}, beyond "
        f"the imbalanced baseline{cheap}?"
    )


def _ci(c):
    return f"({signed(c['delta_mean'])}, CI {signed(c['ci_low'])} to {signed(c['ci_high'])})"


# What the best augmented method did against the best option without augmentation, when
# that option is the best overall ({aug} ... it) and when augmentation is ({plain}).
_BEYOND_PLAIN = {
    "equivalent": "{aug} adds nothing beyond it",
    "inconclusive": "{aug} is not shown to add anything beyond it",
    "hurts": "{aug} does worse than it",
    "improves": "{aug} improves on it",
}
_BEYOND_AUGMENTED = {
    "improves": "It beats the best option without augmentation, {plain}",
    "equivalent": "It is equivalent to the best option without augmentation, {plain}",
    "inconclusive": "It is not shown to beat the best option without augmentation, {plain}",
    "hurts": "It does worse than {plain}",
}


def answer_line(report, metric):
    """One line of the answer: the best option for ``metric`` with its mean, and whether
    augmentation beats the best option without it ("F1: tuning the threshold (0.653). cvae
    augmentation adds nothing beyond it (+0.001, CI −0.024 to +0.027).")."""
    summary, label = report["summary"], metric_label(report, metric)
    class_ = primary_class(report)
    against_baseline = [
        c
        for c in report["comparisons"]
        if c["metric"] == metric and c["versus"] == BASELINE and c.get("class", class_) == class_
    ]
    if against_baseline and all(c["verdict"] == "equivalent" for c in against_baseline):
        mean = summary[BASELINE][metric]["mean"]
        return f"{label}: no method changes it (the baseline: {mean:.3f})."
    best = best_methods(summary, list(summary))[metric]
    line = f"{label}: {method_label(report, best)} ({summary[best][metric]['mean']:.3f})."
    pair = best_pair(summary, metric)
    if pair is None:  # no augmented method
        return line
    best_augmented, best_plain = pair
    c = find_comparison(report, best_augmented, best_plain, metric)
    if c is None:  # not compared: a pair that differs only by the threshold
        return line
    phrases = _BEYOND_PLAIN if best in PLAIN else _BEYOND_AUGMENTED
    words = phrases[c["verdict"]].format(
        aug=method_label(report, best_augmented), plain=method_label(report, best_plain)
    )
    return f"{line} {words} {_ci(c)}."


def answer_lines(report):
    """The answer, one line per headline metric."""
    return [answer_line(report, m) for m in HEADLINE]


# Below this many unseen (test part) minority rows per fold, the C2ST AUC of two samples of
# one distribution spreads with a standard deviation of 0.12-0.25 around 0.5 (measured for
# 5-20 rows of 8-64 features, 30 draws each); at 40 rows it is about 0.07.
FEW_HELD_OUT = 20
# About 5 % of an honest generator's rows pass the leakage test by chance; four times that
# cannot be leakage here, as no fold shows its test rows to the generator.
CROWDING_LEAKED = 0.2
# Exact copies above this share point to duplicate rows in the data instead (see below).
FEW_COPIES = 0.05


def held_out_rows(report):
    """The fewest unseen real minority rows a fold's quality metrics compared with."""
    return min(r["n_held_out"] for r in report["folds"] if "quality" in r)


def few_rows_note(n_held_out):
    if n_held_out >= FEW_HELD_OUT:
        return []
    return [
        f"With {n_held_out} unseen minority rows in a fold, each fold's metrics are rough: two "
        "samples of that size from one distribution give C2ST AUCs with a standard deviation "
        "of 0.12-0.25 around 0.5. The means over folds below are steadier (see their \u00b1 "
        "sd), but only large gaps between generators mean something. More minority rows, or "
        "fewer folds (larger test parts), make them sharper."
    ]


def crowding_note(quality):
    """A reading of ``leaked`` (and ``memorised``) when it is high. The folds never show
    their test rows to the generator, so synthetic rows that sit closer to them than
    training rows do either copy training rows that duplicate test rows (exact copies say
    so) or crowd the dense part of the minority."""
    leaked = quality.get("leaked", {}).get("mean")
    if leaked is None or leaked < CROWDING_LEAKED:
        return []
    memorised, copies, density = (
        quality.get(name, {}).get("mean", float("nan"))
        for name in ("memorised", "exact_copies", "density")
    )
    opening = f"Leaked is {leaked:.2f}, yet no fold shows its test rows to the generator: "
    if copies > FEW_COPIES:
        return [
            opening + f"{100 * copies:.0f} % of the synthetic rows copy a training row, and "
            "where the data holds duplicate rows, a copy of one twin lands on its twin in the "
            "test part. Check the data for duplicates before reading this as leakage."
        ]
    return [
        opening + f"the synthetic rows crowd where the real minority is densest (density "
        f"{density:.2f}), closer to real rows of either set than real rows are to each other. "
        f"Memorised ({memorised:.2f}) measures the same kind of closeness, to the training "
        f"rows, and is inflated by the crowding too; exact copies ({copies:.2f}) are the "
        "direct sign of copying."
    ]


def selection_summary(found):
    """What checkpoint selection chose over the fits ``found`` (``figures.selections``): the
    metric, the chosen steps (low, high, median), the number of fits, and the median Spearman
    correlation of the training loss with the sample metric (the last loss recorded: a GAN's
    generator loss), None when no fit had one."""
    chosen = sorted(s["best_step"] for _, s in found)
    correlations = []
    for _, s in found:
        rho = s.get("loss_rank_correlation")
        rho = rho[-1] if isinstance(rho, list) else rho
        if rho is not None:
            correlations.append(rho)
    median = float(np.median(correlations)) if correlations else None
    return {
        "metric": found[0][1]["metric"], "low": chosen[0], "high": chosen[-1],
        "median": chosen[len(chosen) // 2], "fits": len(found), "rho": median,
    }  # fmt: skip


def samples_of(report):
    """The generator and its sampling mode, "cvae (sampling=posterior)"."""
    sampling = report["generator"].get("params", {}).get("sampling")
    return report["generator"]["name"] + (f" (sampling={sampling})" if sampling else "")


def scatter_caption(report):
    """What the sample scatter of a tabular run draws, in two sentences."""
    block, minority = report["sample_scatter"], report["dataset"]["minority"]
    minority = minority[0] if isinstance(minority, list) else minority
    features = " and ".join(
        f"{name} (mutual information {mi:.2f} nats)"
        for name, mi in zip(block["features"], block["mutual_information"], strict=True)
    )
    return (
        f"Real rows of minority class {minority!r} from the first fold's training part and "
        f"the {samples_of(report)} samples the evaluation scored, on {features}: the two "
        "features that tell the classes apart best in those training rows. Synthetic rows "
        "outside the real cloud teach the classifier a wrong boundary."
    )
