"""What the generator-quality numbers say went wrong, and what to try: the rules, in one place.

Each rule reads report.json's ``quality`` summary (means over folds of the augmented
method's generator fits, synthetic against unseen real minority rows) and the generator's
parameters. Precision, recall, density and coverage are those of Naeem et al. (2020,
"Reliable fidelity and diversity metrics for generative models"); an honest generator that
draws new rows from the real distribution has precision and recall near 1 (with the
5-nearest-neighbour balls used here), density near 1, a C2ST AUC near 0.5, a diversity
(its rows' spread over the real rows') near 1, a Fréchet distance near ``fd_real`` (that of
the real training rows to the same unseen rows), a CAS near ``cas_real`` (Ravuri & Vinyals
2019: the share a real-data classifier gives the intended class) and about 5 % of its rows
"memorised" by chance. The thresholds below were set on planted generators (the tests'):
new draws of the real distribution, every sample at the centre, one row copied, training
rows resampled or with noise added, shifted rows, majority rows, a narrowed distribution,
columns drawn independently; SMOTE, for reference, keeps a diversity near 0.9 and
memorises most of its rows (interpolating between neighbours).
"""

from dataclasses import dataclass

# Samples collapsed: almost no real row is inside their manifold while they sit inside the
# real one (precision) or pile up where the real rows are densest; or they barely spread.
COLLAPSED_RECALL = 0.1
COLLAPSED_DENSITY = 2.0
COLLAPSED_DIVERSITY = 0.1
# Samples spread over part of the class (a partial collapse), or wider than it (noise).
NARROW_DIVERSITY = 0.6
WIDE_DIVERSITY = 1.25
# Samples off the real manifold: most of them are outside it, and a classifier tells them
# from real rows almost perfectly.
OFF_PRECISION = 0.5
OFF_C2ST = 0.9
# Samples of the wrong class: a real-data classifier gives the intended class to fewer
# than this share of the share it gives unseen real rows.
CAS_SHARE = 0.5
# Samples whose mean or covariance misses the real class's: a Fréchet distance this many
# times that of the real training rows (two samples of one distribution scored 0.8-1.2
# times it; columns drawn independently of each other, 5.6 times).
FD_RATIO = 3.0
# Copies of training rows: more than this share identical to one. Rows near training rows:
# this share memorised (closer to a training row than 95 % of unseen real rows are; about
# 5 % by chance) without copies or crowding the centre.
COPIES = 0.05
MEMORISED = 0.5


# What kind of generator a report's ``generator`` block describes, for the advice.
INTERPOLATING, MODEL = "interpolating", "model"
# imbalanced-learn's samplers that interpolate between neighbours (a report of the Python API
# names only the parameters changed from their defaults, so k_neighbors may be missing).
INTERPOLATORS = {"SMOTE", "SMOTENC", "SMOTEN", "BorderlineSMOTE", "SVMSMOTE", "KMeansSMOTE",
                 "ADASYN"}  # fmt: skip


def generator_kind(generator):
    """``INTERPOLATING`` (SMOTE and its kin), ``MODEL`` (a trained generative model: a
    budget of steps, or one of synthbalance's generators) or None."""
    params, cls = generator.get("params") or {}, generator.get("class", "")
    if "k_neighbors" in params or cls.rsplit(".", 1)[-1] in INTERPOLATORS:
        return INTERPOLATING
    if "steps" in params or cls.startswith("synthbalance.generators."):
        return MODEL
    return None


@dataclass(frozen=True)
class Finding:
    """One problem the quality numbers show: ``name``, what it means, what to try."""

    name: str
    finding: str
    advice: str


def _mean(quality, name):
    return quality.get(name, {}).get("mean", float("nan"))


def is_collapsed(quality):
    """Recall near 0 with the rows inside the real manifold or crowding it, or no spread."""
    recall, density = _mean(quality, "recall"), _mean(quality, "density")
    inside = _mean(quality, "precision") > OFF_PRECISION or density >= COLLAPSED_DENSITY
    flat = _mean(quality, "diversity") <= COLLAPSED_DIVERSITY
    return (recall <= COLLAPSED_RECALL and inside) or flat


def _collapsed(quality, params, kind):
    if not is_collapsed(quality):
        return None
    density, diversity = _mean(quality, "density"), _mean(quality, "diversity")
    if density >= COLLAPSED_DENSITY:
        where = "onto the class centre"
    else:
        where = "onto one point" if diversity < 0.01 else "onto a few points"
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
        f"The synthetic rows have collapsed {where}: recall {_mean(quality, 'recall'):.2f} "
        "(almost no real row lies inside the synthetic manifold), a spread "
        f"{diversity:.2f} times the real rows' (diversity), density {density:.1f}, C2ST AUC "
        f"{_mean(quality, 'c2st_auc'):.2f}.",
        advice,
    )


def _narrow(quality, params, kind):
    diversity = _mean(quality, "diversity")
    if is_collapsed(quality) or not diversity < NARROW_DIVERSITY:
        return None
    advice = (
        "generator.sampling=posterior or prior"
        if params.get("sampling") == "latent_average"
        else "train longer (generator.steps), or another generator (a GAN's partial mode "
        "collapse shows like this)"
    )
    return Finding(
        "narrow",
        f"The synthetic rows spread over part of the class only: {diversity:.2f} times the "
        f"real rows' spread (diversity), recall {_mean(quality, 'recall'):.2f}. They add "
        "weight where they sit, not the class's variety.",
        advice,
    )


def _wide(quality, params, kind):
    diversity = _mean(quality, "diversity")
    if not diversity >= WIDE_DIVERSITY:
        return None
    if params.get("noise"):
        advice = "a smaller generator.noise"
    elif params.get("sampling") == "prior":
        advice = "generator.sampling=posterior, which stays near the real rows' latents"
    else:
        advice = "train longer (generator.steps), or another generator"
    return Finding(
        "wide",
        f"The synthetic rows spread wider than the real class: {diversity:.2f} times its "
        f"spread (diversity), precision {_mean(quality, 'precision'):.2f}, density "
        f"{_mean(quality, 'density'):.2f}: real rows with noise around them, part of it "
        "off the real manifold.",
        advice,
    )


def _off_manifold(quality, params, kind):
    precision, c2st = _mean(quality, "precision"), _mean(quality, "c2st_auc")
    if not (precision <= OFF_PRECISION and c2st >= OFF_C2ST):
        return None
    if kind == INTERPOLATING:
        advice = "a smaller k_neighbors, which keeps the interpolations between close neighbours"
    elif kind == MODEL:
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


def _wrong_class(quality, params, kind):
    cas, cas_real = _mean(quality, "cas"), _mean(quality, "cas_real")
    if not cas < CAS_SHARE * cas_real:
        return None
    return Finding(
        "wrong_class",
        f"A classifier trained on real rows gives the minority class to {100 * cas:.0f} % of "
        f"the synthetic rows only, against {100 * cas_real:.0f} % of unseen real minority "
        "rows (CAS): most of them look like another class, and teach the classifier a "
        "boundary inside the other class.",
        "a generator of the minority alone (generator=vae fits one model per class), or "
        "train longer (generator.steps)"
        if kind == MODEL
        else "a smaller k_neighbors (fewer interpolations towards far rows), or another generator",
    )


def _misses_structure(quality, params, kind):
    """A classifier tells the rows apart, or their mean and covariance are far from the
    real class's, though none of the rules above explains it."""
    c2st, fd, fd_real = (_mean(quality, n) for n in ("c2st_auc", "fd", "fd_real"))
    explained = is_collapsed(quality) or _mean(quality, "precision") <= OFF_PRECISION
    explained |= not NARROW_DIVERSITY <= _mean(quality, "diversity") < WIDE_DIVERSITY
    explained |= _mean(quality, "cas") < CAS_SHARE * _mean(quality, "cas_real")
    far = fd >= FD_RATIO * fd_real
    if explained or not (c2st >= OFF_C2ST or far):
        return None
    distance = f"Fréchet distance {fd:.2f}, against {fd_real:.2f} for the real training rows"
    return Finding(
        "misses_structure",
        "The synthetic rows lie within the real manifold but miss some structure of the "
        f"real rows (the spread, the correlations between features): C2ST AUC {c2st:.2f}"
        + (f", {distance}." if far else "."),
        "train longer (generator.steps), or try another generator",
    )


def _copies(quality, params, kind):
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


def _near_training_rows(quality, params, kind):
    """Memorised without copies nor crowding: rows that hug the training rows (SMOTE's
    interpolations between neighbours do; a model that memorised its training rows too).
    Crowding the centre inflates memorised too."""
    copies, memorised = _mean(quality, "exact_copies"), _mean(quality, "memorised")
    crowded = _mean(quality, "density") >= COLLAPSED_DENSITY
    if copies > COPIES or crowded or not memorised >= MEMORISED:
        return None
    opening = (
        f"The synthetic rows stay close to the training rows: {100 * memorised:.0f} % sit "
        "closer to one than 95 % of unseen real rows do, though none or few are copies. "
    )
    if kind == INTERPOLATING:
        return Finding(
            "near_training_rows",
            opening + "Interpolating between neighbours does this; it fills in between the "
            "rows the classifier has rather than adding new regions.",
            "nothing, if that is what you want; a generator of the whole distribution "
            "(generator=cvae with generator.sampling=posterior) adds rows further out",
        )
    return Finding(
        "near_training_rows",
        opening + "The model reproduces its training rows with small changes (memorisation).",
        "fewer steps (generator.steps), a smaller model, or more noise in sampling",
    )


RULES = (
    _collapsed, _narrow, _wide, _off_manifold, _wrong_class, _misses_structure, _copies,
    _near_training_rows,
)  # fmt: skip


def diagnose(report):
    """The ``Finding``s of every rule that applies to ``report``'s quality (a list, empty
    when nothing looks wrong or when quality was not measured)."""
    quality = report.get("quality")
    if not quality:
        return []
    generator = report.get("generator") or {}
    params, kind = generator.get("params") or {}, generator_kind(generator)
    return [found for rule in RULES if (found := rule(quality, params, kind)) is not None]


def diagnosis_text(report):
    """The diagnosis in sentences, or None without quality metrics."""
    if not report.get("quality"):
        return None
    findings = diagnose(report)
    if not findings:
        return (
            "Nothing alarming: the synthetic rows neither collapse, nor spread too narrowly or "
            "too widely, nor lie off the real manifold or in another class, nor copy "
            "training rows."
        )
    return " ".join(f"{f.finding} What to try: {f.advice}." for f in findings)
