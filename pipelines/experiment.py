"""The one code path of an evaluation: a dataset, named generators, a classifier and a
protocol in; one ``Report`` per generator out. The Python API (``synthbalance.evaluate``) and
the CLI (``synthbalance``) both call ``prepare`` and then ``evaluate_dataset``."""

import dataclasses
import logging

from synthbalance.pipelines.adaptive import run_adaptive
from synthbalance.pipelines.components import for_dataset
from synthbalance.pipelines.dataset import check_dataset
from synthbalance.pipelines.estimators import (
    check_classifier,
    check_features,
    check_fit_labels,
    check_sampler,
    default_ensemble,
    describe,
    fill_image_shape,
    fill_unset,
    with_base_class,
)
from synthbalance.pipelines.evaluation import Task, run_folds
from synthbalance.pipelines.folds import check_inner_splits, generator_fit_labels
from synthbalance.pipelines.methods import AUGMENTED, PLAIN, REGISTRY, applicable
from synthbalance.pipelines.openset import check_open_set, run_open_set
from synthbalance.pipelines.report import Report, build_report
from synthbalance.pipelines.report.figures import GRID
from synthbalance.pipelines.report.scatter import informative_features

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Setup:
    """Everything a run evaluates, checked and set up for its dataset: ``generators``
    ``{name: (sampler, description)}``, ``classifier`` ``(estimator, description)``, the
    ``protocol`` and the balanced ``ensemble`` (None when the protocol does not run it);
    each description the ``{"name", "class", "params"}`` block of report.json."""

    generators: dict
    classifier: tuple
    protocol: object
    ensemble: object = None


def prepare(dataset, generators, classifier, protocol, ensemble=None):
    """Check everything a run is given, before any fold runs, and set it up for the data.

    Each sampler is set up for the dataset's features (``components.for_dataset``), the
    classifier (and the ensemble) given the image shape when they take one, the ensemble
    (default ``estimators.default_ensemble()``) given the run's classifier when it wraps
    one, and the protocol loses the methods the data cannot have (a threshold needs two
    classes). Returns a ``Setup``.
    """
    check_dataset(dataset, protocol.n_splits)
    if not generators:
        raise ValueError("no generator given: pass generator= or generators=")
    for name, (sampler, _) in generators.items():
        if name in PLAIN:  # a comparison names the plain methods by name
            raise ValueError(
                f"generator {name!r}: {name!r} names a method without augmentation; give the "
                "generator another name"
            )
        check_sampler(sampler, f"generator {name!r}")
    estimator, description = classifier
    check_classifier(estimator)
    if dataset.image_shape is not None:  # image models learn the shape from the data
        estimator = fill_image_shape(
            estimator, dataset.image_shape, f"classifier {description['name']!r}"
        )
    estimator = with_base_class(estimator, dataset.base_class)  # multi-head models
    check_features(estimator, dataset.X.shape[1], f"classifier {description['name']!r}")
    check_open_set(dataset, estimator, protocol.open_set, protocol)
    prepared = {name: for_dataset(*pair, dataset) for name, pair in generators.items()}
    n_classes = len(dataset.known_classes)
    methods = applicable(protocol.methods, n_classes)
    if list(methods) != list(protocol.methods):
        log.warning("%d classes: the threshold methods need two and are left out", n_classes)
        protocol = dataclasses.replace(protocol, methods=tuple(methods))
    check_inner_splits(dataset.y, protocol, dataset.unknown)
    if set(protocol.methods) & set(AUGMENTED):
        fits = list(generator_fit_labels(dataset.y, protocol, dataset.unknown))
        for name, (sampler, _) in prepared.items():
            check_fit_labels(sampler, fits, f"generator {name!r}")
    if any(REGISTRY[m].ensemble for m in protocol.methods):
        ensemble = check_classifier(
            default_ensemble() if ensemble is None else ensemble, "ensemble"
        )
        ensemble = fill_unset(ensemble, "estimator", estimator)
    else:
        ensemble = None
    return Setup(prepared, (estimator, description), protocol, ensemble)


def evaluate_dataset(
    dataset, setup, *, config=None, config_sha256=None, progress=False, n_jobs=None
):
    """Evaluate every generator of ``setup`` (``prepare``) on ``dataset``'s folds;
    ``{name: Report}`` in their order.

    ``config`` is what report.json records as the run's config (default: the protocol,
    generator and classifier of each report), ``config_sha256`` the CLI's config hash,
    ``n_jobs`` the folds run at once (``evaluation.run_folds``).
    """
    protocol = setup.protocol
    task = Task.from_dataset(dataset, setup.classifier[0], protocol, setup.ensemble)
    samplers = {name: sampler for name, (sampler, _) in setup.generators.items()}
    if protocol.adaptive:
        runs, described = run_adaptive(task, samplers, progress=progress, n_jobs=n_jobs)
    else:
        runs = run_folds(task, samplers, progress=progress, n_jobs=n_jobs)
        described = protocol.describe()
    asked_protocol = protocol.describe()  # an adaptive run's n_repeats: "auto"
    if setup.ensemble is not None:
        described["ensemble"] = asked_protocol["ensemble"] = describe(setup.ensemble)
    open_set = None
    if dataset.unknown:  # the folds that ran; the same records for every generator's report
        outliers = check_open_set(dataset, setup.classifier[0], protocol.open_set)
        ran = dataclasses.replace(protocol, n_repeats=described["n_repeats"])
        task = dataclasses.replace(task, protocol=ran)
        open_set = run_open_set(task, protocol.open_set, outliers, n_jobs=n_jobs)
    reports = {}
    drawn = [run for run in runs.values() if run.samples is not None]
    scatter = _scatter(dataset, task) if drawn and dataset.kind != "image" else None
    for name, run in runs.items():
        description = setup.generators[name][1]
        grid = GRID if dataset.kind == "image" and run.samples is not None else None
        asked = config if config is not None else _api_config(description, setup, asked_protocol)
        data = build_report(
            dataset, description, setup.classifier[1], described, run.records, asked,
            config_sha256=config_sha256, sample_grid=grid, open_set=open_set,
            sample_scatter=scatter if run.samples is not None else None,
        )  # fmt: skip
        reports[name] = Report(data, samples=run.samples)
    return reports


def _scatter(dataset, task):
    """The sample scatter's features, ranked on the first fold's training part: the rows
    the samples' generator was fitted on (``scatter.informative_features``)."""
    train, _ = task.protocol.folds(task.y, range(1))[0]
    train = task.known(train)
    return informative_features(
        task.X[train], task.y[train], list(dataset.X.columns),
        categorical=task.categorical, random_state=task.protocol.seed,
    )  # fmt: skip


def _api_config(generator, setup, protocol):
    """What a Python API call asked for, as report.json's ``config``."""
    return {
        "seed": protocol["seed"],
        "generator": generator,
        "classifier": setup.classifier[1],
        "evaluation": protocol,
    }
