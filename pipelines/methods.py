"""The methods every fold runs: one registry, the only place that knows their names.

A method is a way of training the classifier on a fold's training part. The evaluation loop,
the report and the comparison across runs read what they need from the registry (which
methods train on synthetic rows, which tune a threshold, which method each is compared
with) and never spell a method's name themselves.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    """One way of training the classifier on a fold.

    Attributes
    ----------
    name : str
        The key in ``evaluation.methods``, report.json's ``method``.
    label : str
        How prose names it; ``{generator}`` stands for the generator's name.
    augmented : bool
        Trains on real + synthetic rows (needs a generator).
    tunes_threshold : bool
        Cuts the scores of the classifier of ``untuned`` at a threshold tuned on an inner
        validation split of the training part (two classes only).
    balanced : bool
        Trains with balanced class (or sample) weights.
    ensemble : bool
        Trains the run's balanced ensemble (an under-sampling ensemble, e.g. imbalanced-
        learn's BalancedRandomForestClassifier) instead of its classifier.
    recalibrated : bool
        Corrects the probabilities of the classifier of ``untuned`` from the augmented class
        prior back to the real one (``estimators.PriorShifted``).
    untuned : str or None
        The method whose trained classifier this one reuses (threshold methods).
    partner : str or None
        For an augmented method, the method without augmentation it adds synthetic rows
        to: the comparison that isolates what the generator contributes.
    suffix : str
        How a comparison across runs names the method after its generator:
        ``smote``, ``smote+threshold``.
    """

    name: str
    label: str
    augmented: bool = False
    tunes_threshold: bool = False
    balanced: bool = False
    ensemble: bool = False
    recalibrated: bool = False
    untuned: str | None = None
    partner: str | None = None
    suffix: str = ""

    def describe(self, generator):
        """The method in words, for the run with generator ``generator``."""
        return self.label.format(generator=generator)


REGISTRY = {
    method.name: method
    for method in (
        Method("baseline", "the imbalanced baseline"),
        Method("class_weight", "balanced class weights", balanced=True),
        Method("threshold", "tuning the threshold", tunes_threshold=True, untuned="baseline"),
        Method("balanced_ensemble", "a balanced ensemble", ensemble=True),
        Method("augmented", "{generator} augmentation", augmented=True, partner="baseline"),
        Method(
            "augmented+threshold",
            "{generator} augmentation with a tuned threshold",
            augmented=True,
            tunes_threshold=True,
            untuned="augmented",
            partner="threshold",
            suffix="+threshold",
        ),
        Method(
            "augmented+recalibrated",
            "{generator} augmentation recalibrated to the real class prior",
            augmented=True,
            recalibrated=True,
            untuned="augmented",
            partner="baseline",
            suffix="+recalibrated",
        ),
    )
}
# Every verdict is against it.
BASELINE = "baseline"
# The comparison that isolates what a generator adds: its rows added to the baseline's. The
# quality metrics are measured on this method's generator fits.
AUGMENTATION = ("augmented", BASELINE)
METHODS = tuple(REGISTRY)
AUGMENTED = tuple(m for m in METHODS if REGISTRY[m].augmented)
PLAIN = tuple(m for m in METHODS if not REGISTRY[m].augmented)
THRESHOLD_METHODS = tuple(m for m in METHODS if REGISTRY[m].tunes_threshold)
# Pairs that differ only by a tuned threshold: threshold-free metrics are equal by construction.
THRESHOLD_ONLY = frozenset((m, REGISTRY[m].untuned) for m in THRESHOLD_METHODS)


def check_methods(methods):
    """``methods`` as a list in registry order; a ValueError for unknown names, duplicates or
    a list without the baseline."""
    if isinstance(methods, str):
        methods = [methods]
    methods = list(methods)
    unknown = [m for m in methods if m not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(METHODS)}")
    if BASELINE not in methods:
        raise ValueError(f"methods must include {BASELINE!r}: every verdict is against it")
    return [m for m in METHODS if m in methods]


def applicable(methods, n_classes):
    """``methods`` without the threshold methods when there are more than two classes."""
    if n_classes > 2:
        return [m for m in methods if m not in THRESHOLD_METHODS]
    return list(methods)


def describe(method, generator):
    """``method`` in words for the run with generator ``generator``."""
    return REGISTRY[method].describe(generator)


def run_label(method, generator):
    """The name of ``method`` across runs: plain methods by name, augmented ones after the
    run's generator (``smote``, ``smote+threshold``)."""
    spec = REGISTRY[method]
    return generator + spec.suffix if spec.augmented else method


def partner_of_label(label):
    """The plain method that an augmented method's ``run_label`` is compared with across
    runs: ``smote`` with the baseline, ``smote+threshold`` with the threshold."""
    for method in AUGMENTED:
        spec = REGISTRY[method]
        if spec.suffix and label.endswith(spec.suffix):
            return spec.partner
    return REGISTRY[AUGMENTATION[0]].partner
