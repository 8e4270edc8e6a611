"""The evaluation protocol: folds, repeats, the one seed, the rope and the methods, as one
object passed once, and the seeds every fold and generator fit derive from it."""

from dataclasses import asdict, dataclass, field
from itertools import islice
from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.utils._param_validation import Interval, StrOptions

from synthbalance.pipelines.config import validate_fields
from synthbalance.pipelines.methods import METHODS, check_methods
from synthbalance.pipelines.metrics import THRESHOLD_METRICS
from synthbalance.pipelines.openset import OpenSetCheck
from synthbalance.pipelines.sequential import SPENDING, boundaries, looks

# ``n_repeats=AUTO``: add repeats until the headline verdicts are decided (``adaptive``).
AUTO = "auto"

# The one seed of a run (folds, generators, classifiers derive from it), and the region of
# practical equivalence of every verdict.
SEED = [Interval(Integral, 0, 2**32 - 1, closed="both")]
ROPE = [Interval(Real, 0, None, closed="left")]


@dataclass(frozen=True)
class ThresholdTuning:
    """How ``threshold`` methods choose their cut: maximise ``metric`` on a stratified
    validation split holding ``validation_size`` of the training part."""

    metric: str = "f1"
    validation_size: float = 0.25

    _constraints = {
        "metric": [StrOptions(set(THRESHOLD_METRICS))],
        "validation_size": [Interval(Real, 0, 1, closed="neither")],
    }

    def __post_init__(self):
        validate_fields(self, self._constraints)


@dataclass(frozen=True)
class QualityCheck:
    """Generator quality on every fold: the synthetic minority rows are compared with the
    real minority rows of the fold's test part, which neither the generator nor the
    classifier ever sees (``synthbalance.generators.metrics``, in the feature space of
    ``synthbalance.pipelines.quality``). The metrics influence no decision: the generator
    is fitted on every training row whether they are measured or not. ``tstr`` adds the
    train-on-synthetic, test-on-real F1, at the cost of one classifier fit per generator
    fit."""

    enabled: bool = True
    nearest_k: int = 5
    tstr: bool = False

    _constraints = {
        "enabled": ["boolean"],
        "nearest_k": [Interval(Integral, 1, None, closed="left")],
        "tstr": ["boolean"],
    }

    def __post_init__(self):
        validate_fields(self, self._constraints)


@dataclass(frozen=True)
class Protocol:
    """How a run evaluates: ``RepeatedStratifiedKFold(n_splits, n_repeats, seed)``, the
    ``methods`` run on every fold, ``generator_seeds`` generator fits per fold, the region
    of practical equivalence ``rope`` of the verdicts, threshold tuning, the quality
    check and the open-set evaluation (for datasets with unknown classes). Invalid values
    are refused when the protocol is made, before any fold runs.

    With ``n_repeats="auto"`` the run adds one repeat at a time (``looks``) until every
    headline verdict is decided or ``max_repeats`` repeats ran; its intervals are repeated
    confidence intervals with ``spending``'s critical values
    (``synthbalance.pipelines.sequential``). Repeat r of the split and the seeds of its
    folds are the same whatever the number of repeats that follow, so every round extends
    the run deterministically.
    """

    n_splits: int = 5
    n_repeats: int | str = 2
    seed: int = 0
    rope: float = 0.01
    methods: tuple = METHODS
    generator_seeds: int = 1
    threshold: ThresholdTuning = field(default_factory=ThresholdTuning)
    quality: QualityCheck = field(default_factory=QualityCheck)
    open_set: OpenSetCheck = field(default_factory=OpenSetCheck)
    max_repeats: int = 10
    spending: str = "obrien_fleming"

    _constraints = {
        "n_splits": [Interval(Integral, 2, None, closed="left")],
        "n_repeats": [Interval(Integral, 1, None, closed="left"), StrOptions({AUTO})],
        "seed": SEED,
        "rope": ROPE,
        "methods": ["array-like", str],
        "generator_seeds": [Interval(Integral, 1, None, closed="left")],
        "threshold": [ThresholdTuning],
        "quality": [QualityCheck],
        "open_set": [OpenSetCheck],
        "max_repeats": [Interval(Integral, 1, None, closed="left")],
        "spending": [StrOptions(set(SPENDING))],
    }

    def __post_init__(self):
        validate_fields(self, self._constraints)
        object.__setattr__(self, "methods", tuple(check_methods(self.methods)))

    @property
    def adaptive(self):
        return self.n_repeats == AUTO

    @property
    def looks(self):
        """The repeats after which the verdicts are read: ``n_repeats``, or every round
        of an adaptive run."""
        return looks(self.n_splits, self.max_repeats) if self.adaptive else (self.n_repeats,)

    @property
    def n_folds(self):
        """The folds of every repeat the run may need."""
        return self.n_splits * self.looks[-1]

    def folds(self, y, repeats=None):
        """The ``(train, test)`` index pairs of the folds of ``repeats`` (a range of repeat
        numbers; default: every repeat), in order."""
        repeats = range(self.looks[-1]) if repeats is None else repeats
        cv = RepeatedStratifiedKFold(
            n_splits=self.n_splits, n_repeats=repeats.stop, random_state=self.seed
        )
        splits = cv.split(np.zeros((len(y), 1)), y)
        return list(islice(splits, self.n_splits * repeats.start, None))

    def fold_seeds(self, repeats=None):
        """The seeds of the folds of ``repeats`` (default: every repeat)."""
        repeats = range(self.looks[-1]) if repeats is None else repeats
        seeds = fold_seeds(self.seed, self.n_splits * repeats.stop)
        return seeds[self.n_splits * repeats.start :]

    def critical(self, n_repeats):
        """An adaptive run's critical value at its look after ``n_repeats`` repeats: the
        corrected standard errors its intervals reach on each side."""
        return boundaries(self.n_splits, self.max_repeats, spending=self.spending)[n_repeats]

    def describe(self, methods=None, n_repeats=None):
        """The ``protocol`` block of report.json; ``methods``: those that actually ran;
        ``n_repeats``: the repeats an adaptive run ran (the ``adaptive`` block then holds
        the critical value of that look)."""
        block = {
            "n_splits": self.n_splits,
            "n_repeats": self.n_repeats if n_repeats is None else n_repeats,
            "seed": self.seed,
            "rope": self.rope,
            "methods": list(self.methods if methods is None else methods),
            "generator_seeds": self.generator_seeds,
            "threshold": asdict(self.threshold),
            "quality": asdict(self.quality),
            "open_set": self.open_set.describe(),
            "max_repeats": self.max_repeats,
        }
        if self.adaptive:
            block["adaptive"] = {"spending": self.spending, "looks_at": list(self.looks)}
            if n_repeats is not None:
                block["adaptive"]["critical"] = self.critical(n_repeats)
        return block


def fold_seeds(seed, n_folds):
    """One integer seed per fold, derived from the run's ``seed`` alone.

    Two runs with the same seed and fold count get the same seeds, whatever their
    generator, so their fold results pair up across a sweep.
    """
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n_folds)]


def generator_seeds(fold_seed, n_seeds):
    """The seeds of the ``n_seeds`` generator fits of one fold; the first is ``fold_seed``."""
    extra = np.random.SeedSequence(fold_seed).generate_state(max(n_seeds - 1, 0))
    return [fold_seed, *(int(s) for s in extra)]
