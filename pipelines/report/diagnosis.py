"""What the generator-quality numbers say went wrong, and what to try: the rules, in one place.

Each rule reads report.json's ``quality`` summary (means over folds of the augmented
method's generator fits, synthetic against unseen real minority rows) and the generator's
parameters. Precision, recall, density and coverage are those of Naeem et al. (2020,
"Reliable fidelity and diversity metrics for generative models"); an honest generator that
draws new rows from the real distribution has precision and recall near 1 (with the
5-nearest-neighbour balls used here), density near 1, a C2ST AUC near 0.5, and about 5 % of
its rows "memorised" by chance.
"""

from dataclasses import dataclass

# Samples collapsed onto the class centre: almost no real row is inside their manifold,
# while they sit inside the real one (precision) or pile up where the real rows are densest.
COLLAPSED_RECALL = 0.1
COLLAPSED_DENSITY = 2.0
# Samples off the real manifold: most of them are outside it, and a classifier tells them
# from real rows almost perfectly.
OFF_PRECISION = 0.5
OFF_C2ST = 0.9
# Copies of training rows: more than this share identical to one. Rows near training rows:
# this share memorised (closer to a training row than 95 % of unseen real rows are; about
# 5 % by chance) without copies or crowding the centre.
COPIES = 0.05
MEMORISED = 0.5


@dataclass(frozen=True)
class Finding:
    """One problem the quality numbers show: ``name``, what it means, what to try."""

    name: str
    finding: str
    advice: str


def _mean(quality, name):
    return quality.get(name, {}).get("mean", float("nan"))


def _collapsed(quality, params):
    recall, density = _mean(quality, "recall"), _mean(quality, "density")
    inside = _mean(quality, "precision") > OFF_PRECISION or density >= COLLAPSED_DENSITY
    if not (recall <= COLLAPSED_RECALL and inside):
        return None
    if params.get("sampling") == "latent_average":
        advice = (
            "generator.sampling=posterior (or prior), a smaller generator.k, or "
            f"generator.noise above 0: averaging k={params.get('k')} latents pulls every "
            "sample to the centre"
        )
    else:
        advice = "train longer (generator.steps), or try another generator"
    return Finding(
        "collapsed",
        f"The synthetic rows have collapsed onto the class centre: recall {recall:.2f} "
        "(almost no real row lies inside the synthetic manifold) while they sit in the "
        f"densest part of the real one (density {density:.1f}, C2ST AUC "
        f"{_mean(quality, 'c2st_auc'):.2f}).",
        advice,
    )


def _off_manifold(quality, params):
    precision, c2st = _mean(quality, "precision"), _mean(quality, "c2st_auc")
    if not (precision <= OFF_PRECISION and c2st >= OFF_C2ST):
        return None
    if "k_neighbors" in params:
        advice = "a smaller k_neighbors, which keeps the interpolations between close neighbours"
    elif "steps" in params:
        advice = (
            "train longer (generator.steps), or keep the checkpoint that fools a classifier "
            "best (generator.selection=c2st)"
        )
    else:
        advice = "try another generator"
    return Finding(
        "off_manifold",
        f"Many synthetic rows lie off the real minority's manifold: precision {precision:.2f}, "
        f"and a classifier tells them from real rows (C2ST AUC {c2st:.2f}).",
        advice,
    )


def _copies(quality, params):
    copies, memorised = _mean(quality, "exact_copies"), _mean(quality, "memorised")
    if not copies > COPIES:
        return None
    return Finding(
        "copies",
        f"The synthetic rows copy training rows: {100 * copies:.0f} % are identical to one "
        f"({100 * memorised:.0f} % memorised). They add weight to the rows the classifier "
        "has, not new ones.",
        "an interpolating generator (generator=smote), or for a model fewer steps or more "
        "noise; random over-sampling copies by design",
    )


def _near_training_rows(quality, params):
    """Memorised without copies nor crowding: rows that hug the training rows (SMOTE's
    interpolations between neighbours do). Crowding the centre inflates memorised too."""
    copies, memorised = _mean(quality, "exact_copies"), _mean(quality, "memorised")
    crowded = _mean(quality, "density") >= COLLAPSED_DENSITY
    if copies > COPIES or crowded or not memorised >= MEMORISED:
        return None
    return Finding(
        "near_training_rows",
        f"The synthetic rows stay close to the training rows: {100 * memorised:.0f} % sit "
        "closer to one than 95 % of unseen real rows do, though none or few are copies. "
        "Interpolating between neighbours does this; it fills in between the rows the "
        "classifier has rather than adding new regions.",
        "nothing, if that is what you want; a generator of the whole distribution "
        "(generator=cvae with generator.sampling=posterior) adds rows further out",
    )


def _detectable(quality, params):
    """A classifier tells the rows apart, though none of the rules above explains it."""
    c2st = _mean(quality, "c2st_auc")
    explained = _mean(quality, "recall") <= COLLAPSED_RECALL
    explained |= _mean(quality, "precision") <= OFF_PRECISION
    if explained or not c2st >= OFF_C2ST:
        return None
    return Finding(
        "detectable",
        f"A classifier tells the synthetic rows from real ones (C2ST AUC {c2st:.2f}), though "
        "they lie within the real manifold: they miss some structure of the real rows (the "
        "spread, the correlations between features).",
        "train longer (generator.steps), or try another generator",
    )


RULES = (_collapsed, _off_manifold, _detectable, _copies, _near_training_rows)


def diagnose(report):
    """The ``Finding``s of every rule that applies to ``report``'s quality (a list, empty
    when nothing looks wrong or when quality was not measured)."""
    quality = report.get("quality")
    if not quality:
        return []
    params = report["generator"].get("params") or {}
    return [found for rule in RULES if (found := rule(quality, params)) is not None]


def diagnosis_text(report):
    """The diagnosis in sentences, or None without quality metrics."""
    if not report.get("quality"):
        return None
    findings = diagnose(report)
    if not findings:
        return (
            "Nothing alarming: the synthetic rows neither collapse onto the class centre, nor "
            "lie off the real manifold, nor copy training rows."
        )
    return " ".join(f"{f.finding} What to try: {f.advice}." for f in findings)
