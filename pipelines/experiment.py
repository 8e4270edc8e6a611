"""The one code path of an evaluation: a dataset, named generators, a classifier and a
protocol in; one ``Report`` per generator out. The Python API (``synthbalance.evaluate``) and
the CLI (``synthbalance``) both call ``evaluate_dataset``."""

import dataclasses
import logging

from synthbalance.pipelines.components import for_dataset
from synthbalance.pipelines.dataset import check_dataset
from synthbalance.pipelines.estimators import check_classifier, check_sampler, fill_unset
from synthbalance.pipelines.evaluation import Task, run_folds
from synthbalance.pipelines.methods import applicable
from synthbalance.pipelines.openset import check_open_set, run_open_set
from synthbalance.pipelines.report import Report, build_report
from synthbalance.pipelines.report.figures import GRID

log = logging.getLogger(__name__)


def prepare(dataset, generators, classifier, protocol):
    """Check everything a run is given, before any fold runs, and set it up for the data.

    ``generators`` is ``{name: (sampler, description)}`` and ``classifier`` ``(estimator,
    description)``, each description the ``{"name", "class", "params"}`` block of
    report.json. Returns ``(generators, classifier, protocol)``: each sampler set up for
    the dataset's features (``components.for_dataset``), the classifier given the image
    shape when it takes one, and the protocol without the methods the data cannot have
    (the threshold methods need two classes).
    """
    check_dataset(dataset, protocol.n_splits)
    if not generators:
        raise ValueError("no generator given: pass generator= or generators=")
    for name, (sampler, _) in generators.items():
        check_sampler(sampler, f"generator {name!r}")
    estimator, description = classifier
    check_classifier(estimator)
    if dataset.image_shape is not None:  # image models learn the shape from the data
        estimator = fill_unset(estimator, "image_shape", tuple(dataset.image_shape))
    check_open_set(dataset, estimator, protocol.open_set)
    prepared = {name: for_dataset(*pair, dataset) for name, pair in generators.items()}
    n_classes = len(dataset.known_classes)
    methods = applicable(protocol.methods, n_classes)
    if list(methods) != list(protocol.methods):
        log.warning("%d classes: the threshold methods need two and are left out", n_classes)
        protocol = dataclasses.replace(protocol, methods=tuple(methods))
    return prepared, (estimator, description), protocol


def evaluate_dataset(
    dataset, generators, classifier, protocol, *, config=None, config_sha256=None,
    progress=False, prepared=False,
):  # fmt: skip
    """Evaluate every generator on ``dataset``'s folds; ``{name: Report}`` in their order.

    Arguments as in ``prepare`` (skipped when ``prepared``, i.e. the caller already did).
    ``config`` is what report.json records as the run's config (default: the protocol,
    generator and classifier of each report), ``config_sha256`` the CLI's config hash.
    """
    if not prepared:
        generators, classifier, protocol = prepare(dataset, generators, classifier, protocol)
    task = Task.from_dataset(dataset, classifier[0], protocol)
    runs = run_folds(task, {name: s for name, (s, _) in generators.items()}, progress=progress)
    open_set = None
    if dataset.unknown:  # the same folds; the same records for every generator's report
        outliers = check_open_set(dataset, classifier[0], protocol.open_set)
        open_set = run_open_set(task, protocol.open_set, outliers)
    reports = {}
    for name, run in runs.items():
        description = generators[name][1]
        grid = GRID if dataset.kind == "image" and run.samples is not None else None
        asked = config if config is not None else _api_config(description, classifier, protocol)
        data = build_report(
            dataset, description, classifier[1], protocol.describe(), run.records, asked,
            config_sha256=config_sha256, sample_grid=grid, open_set=open_set,
        )  # fmt: skip
        reports[name] = Report(data, samples=run.samples)
    return reports


def _api_config(generator, classifier, protocol):
    """What a Python API call asked for, as report.json's ``config``."""
    return {
        "seed": protocol.seed,
        "generator": generator,
        "classifier": classifier[1],
        "evaluation": protocol.describe(),
    }
