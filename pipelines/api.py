"""The Python API: ``evaluate``, ``compare`` and ``export`` for notebooks and scripts.

Each turns its arguments into the objects the CLI builds from its config (a ``Dataset``, a
``Protocol``, named samplers) and runs the same code (``experiment.evaluate_dataset``,
``export.export_dataset``), so the two can never disagree. Bad input raises a ValueError
or TypeError naming the problem before any fold runs, and nothing is written.
"""

import dataclasses
import os
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from synthbalance.pipelines.compare import Comparison, find_reports
from synthbalance.pipelines.config import check_settings
from synthbalance.pipelines.dataset import Dataset
from synthbalance.pipelines.estimators import check_classifier, check_sampler, describe
from synthbalance.pipelines.experiment import evaluate_dataset, prepare
from synthbalance.pipelines.export import export_dataset
from synthbalance.pipelines.methods import METHODS
from synthbalance.pipelines.openset import OpenSetCheck, with_unknown
from synthbalance.pipelines.parallel import check_n_jobs
from synthbalance.pipelines.protocol import Protocol, QualityCheck, ThresholdTuning
from synthbalance.pipelines.report import Report


def default_classifier():
    """Logistic regression on standardised features: the CLI's default ``classifier=logreg``."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def evaluate(
    X, y, *, generator=None, generators=None, classifier=None, methods=METHODS, n_splits=5,
    n_repeats=2, seed=0, rope=0.01, generator_seeds=1, threshold="f1", quality=True,
    minority=None, base=None, categorical=None, image_shape=None, name="data", ensemble=None,
    progress=False, unknown=None, open_set=None, max_repeats=10, spending="obrien_fleming",
    n_jobs="auto",
):  # fmt: skip
    """Does augmenting the minority class improve ``classifier`` on ``(X, y)``?

    Every method runs on the same ``RepeatedStratifiedKFold(n_splits, n_repeats, seed)``
    folds; generators are fitted inside each training part only; every verdict compares
    paired per-fold scores with the corrected resampled t-test and the region of practical
    equivalence ``rope``.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        A DataFrame keeps its column names; its categorical, object (text) and bool columns
        are categorical features. Images are flattened rows (see ``image_shape``).
    y : array-like of shape (n_samples,)
        Class labels of any type.
    generator : imbalanced-learn sampler, optional
        The over-sampler to judge (``SMOTE()``, ``CVAESampler()``, …); returns a ``Report``.
    generators : dict, optional
        Several, ``{name: sampler}``, judged on the same folds against the same baseline;
        returns a ``Comparison`` of one report per generator.
    classifier : scikit-learn classifier with ``predict_proba``, optional
        Default: logistic regression on standardised features.
    methods : sequence of str
        Which methods run on every fold (``synthbalance.pipelines.methods``); must include
        ``"baseline"``.
    n_splits, n_repeats, seed : the folds; every fold and generator seed derives from ``seed``.
        ``n_repeats="auto"`` adds one repeat at a time until every headline verdict is
        decided (improves, hurts or equivalent), at most ``max_repeats``; its intervals
        widen to keep the false-alarm rate at 5 % over the looks, as ``spending``
        (``"obrien_fleming"`` or ``"pocock"``) allots it (``pipelines.sequential``).
    rope : float
        Region of practical equivalence of the verdicts.
    generator_seeds : int
        Generator fits per fold; the augmented scores average over them.
    threshold : str or ThresholdTuning
        What a tuned threshold maximises (``"f1"``, ``"balanced_accuracy"``, ``"gmean"``,
        ``"mcc"``), or the whole tuning setup.
    quality : bool or QualityCheck
        Measure the synthetic rows' quality against the test parts' real minority rows.
    minority, base : label or list of labels, optional
        The minority class (default: the least frequent; with more than two classes every
        class but ``base``, default the most frequent, is a minority class).
    categorical : list, optional
        More categorical columns: names (DataFrame) or indices (array); a single name or
        index is one column.
    image_shape : (channels, height, width), optional
        The rows are flattened images of this shape.
    name : str
        The dataset's name in the report.
    ensemble : classifier, optional
        The ``balanced_ensemble`` method's model; default imbalanced-learn's
        ``BalancedRandomForestClassifier``. An ensemble with an unset ``estimator`` (such
        as ``EasyEnsembleClassifier()``) wraps ``classifier``.
    progress : bool
        Show a progress bar over the folds (on a terminal or in a notebook).
    n_jobs : "auto", int or None
        Folds run at once, each in a worker process: ``"auto"`` (the default, as the CLI's:
        one worker per thread torch may use here, ``torch.get_num_threads()``, each with one
        thread), k workers sharing those threads, -1 (every core), or None / 1 (this process
        alone). A fold's results depend only on its seed and its threads, so the report
        equals a serial run's with one thread.
    unknown : list of labels, optional
        Classes kept out of every training part and scored as unknowns in the test parts:
        the report gains an open-set section (``open_set``).
    open_set : OpenSetCheck or dict, optional
        The open-set methods and settings (default: ``OpenSetCheck()``).

    Returns
    -------
    Report or Comparison
    """
    samplers = _named_samplers(generator, generators)
    classifier = default_classifier() if classifier is None else check_classifier(classifier)
    protocol = Protocol(
        n_splits=n_splits, n_repeats=n_repeats, seed=seed, rope=rope, methods=methods,
        generator_seeds=generator_seeds, threshold=_tuning(threshold), quality=_quality(quality),
        open_set=_settings(OpenSetCheck, open_set or {}, "open_set"),
        max_repeats=max_repeats, spending=spending,
    )  # fmt: skip
    dataset = Dataset.from_data(
        X, y, name=name, minority=minority, base=base, categorical=categorical,
        image_shape=image_shape,
    )  # fmt: skip
    dataset = with_unknown(dataset, unknown)
    setup = prepare(dataset, samplers, (classifier, describe(classifier)), protocol, ensemble)
    reports = evaluate_dataset(dataset, setup, progress=progress, n_jobs=check_n_jobs(n_jobs))
    if generators is None:
        return next(iter(reports.values()))
    return Comparison(
        [(name, r.data) for name, r in reports.items()], rope=rope,
        samples={name: r.samples for name, r in reports.items()},
    )  # fmt: skip


def _named_samplers(generator, generators):
    """``{name: (sampler, description)}`` from ``generator=`` or ``generators=``, checked."""
    if (generator is None) == (generators is None):
        raise ValueError("give one of generator= (a sampler) or generators= ({name: sampler})")
    if generators is not None and (not isinstance(generators, dict) or not generators):
        raise TypeError("generators must be a non-empty dict {name: sampler}")
    named = generators if generators is not None else {None: generator}
    samplers = {}
    for key, sampler in named.items():
        check_sampler(sampler, "generator" if key is None else f"generator {key!r}")
        description = describe(sampler, None if key is None else str(key))
        if description["name"] in samplers:
            raise ValueError(
                f"generators: two keys name the generator {description['name']!r} (keys are "
                "names as text); give each generator a name of its own"
            )
        samplers[description["name"]] = (sampler, description)
    return samplers


def _settings(cls, given, name):
    """``given`` as a ``cls`` (a protocol dataclass): itself, or built from a dict whose keys
    must be its fields (a TypeError listing them, not ``__init__``'s unexpected keyword)."""
    if isinstance(given, cls):
        return given
    check_settings(given, [f.name for f in dataclasses.fields(cls)], name, TypeError)
    return cls(**given)


def _tuning(threshold):
    if isinstance(threshold, ThresholdTuning | dict):
        return _settings(ThresholdTuning, threshold, "threshold")
    return ThresholdTuning(metric=threshold)


def _quality(quality):
    if isinstance(quality, QualityCheck | dict):
        return _settings(QualityCheck, quality, "quality")
    return QualityCheck(enabled=quality)


def compare(*reports, rope=0.01):
    """Compare runs: ``Report`` objects, ``Comparison`` objects, or paths of run and sweep
    directories (or report.json files). Returns a ``Comparison``; reports found under a
    directory that cannot be read are listed in its ``problems``."""
    runs, problems, samples = [], [], {}
    for item in reports:
        if isinstance(item, Comparison):
            runs += item.runs
        elif isinstance(item, Report):
            run = f"{item.name} on {item.data['dataset']['name']} #{len(runs)}"
            runs.append((run, item.data))
            samples[run] = item.samples
        elif isinstance(item, str | Path) and Path(item).is_file():
            runs.append((str(Path(item).parent), Report.load(item).data))
        elif isinstance(item, str | Path):
            found, skipped = find_reports([item])
            runs += found
            problems += skipped
        else:
            raise TypeError(
                f"compare takes Reports, Comparisons or paths, got {type(item).__name__}"
            )
    return Comparison(runs, rope=rope, problems=problems, samples=samples)


def export(
    X, y, *, generator, path, seed=0, minority=None, base=None, categorical=None,
    image_shape=None, name="data",
):  # fmt: skip
    """Fit ``generator`` on all of ``(X, y)`` and write the balanced dataset to ``path``.

    Real rows come first, unchanged, then the synthetic ones, with an ``is_synthetic``
    column (``.parquet``, ``.csv`` or ``.npz``; a directory for images: an ImageFolder
    tree), and ``<name>.manifest.json`` beside it: the generator and its parameters, the
    seed, class counts before and after, the file's sha256 and the synthbalance version.
    Arguments as in ``evaluate``. Returns the path written.
    """
    check_sampler(generator)
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a file or directory path, got {type(path).__name__}")
    dataset = Dataset.from_data(
        X, y, name=name, minority=minority, base=base, categorical=categorical,
        image_shape=image_shape,
    )  # fmt: skip
    return export_dataset(dataset, generator, describe(generator), Path(path), seed)
