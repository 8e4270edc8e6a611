"""The jobs behind the console scripts, as plain functions of a composed config."""

import logging
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import OmegaConf

from synthbalance.pipelines.components import build, for_dataset
from synthbalance.pipelines.datasets import check_dataset
from synthbalance.pipelines.evaluation import (
    QualityCheck,
    ThresholdTuning,
    applicable_methods,
    evaluate,
    fill_unset,
)
from synthbalance.pipelines.grids import GRID, GRID_IMAGES, write_sample_grid
from synthbalance.pipelines.report import build_report, headline, write_report
from synthbalance.pipelines.sweep import check_objective, completed_report, config_hash, record_hash

log = logging.getLogger(__name__)


def run(cfg) -> dict:
    """One evaluation run: load, evaluate on every fold, write the report; return it.

    With ``resume=true``, a complete report.json already computed for this config in
    ``output_dir`` is returned as it is, without running again.
    """
    directory = Path(cfg.output_dir)
    digest = config_hash(cfg)
    if cfg.get("resume", False):
        report = completed_report(directory, digest)
        if report is not None:
            log.info("resume: %s is complete for this config; not run again", directory)
            return report
    dataset = instantiate(cfg.dataset)
    evaluation = cfg.evaluation
    check_dataset(dataset, evaluation.n_splits)
    generator, generator_info = for_dataset(*build(cfg.generator), dataset)
    classifier, classifier_info = build(cfg.classifier)
    if dataset.image_shape is not None:  # image models learn the shape from the data
        classifier = fill_unset(classifier, "image_shape", tuple(dataset.image_shape))
    if "baseline" not in evaluation.methods:
        raise ValueError("evaluation.methods must include 'baseline': every verdict is against it")
    methods = applicable_methods(evaluation.methods, len(dataset.class_counts))
    check_objective(cfg.get("objective"), methods)
    if methods != list(evaluation.methods):
        log.warning(
            "%d classes: the threshold methods need two and are left out", len(dataset.class_counts)
        )
    record_hash(directory, digest)  # the run directory says which config it is for
    grid = _SampleGrid(dataset) if dataset.kind == "image" else None
    folds = evaluate(
        dataset.encoded(),
        dataset.y,
        dataset.minority_classes,
        generator,
        classifier,
        base=dataset.base_class,
        categorical=dataset.categorical_indices,
        categories=dataset.categories(),
        image_shape=dataset.image_shape,
        n_splits=evaluation.n_splits,
        n_repeats=evaluation.n_repeats,
        seed=cfg.seed,
        methods=methods,
        n_generator_seeds=evaluation.generator_seeds,
        tuning=ThresholdTuning(**evaluation.threshold),
        quality=QualityCheck(**evaluation.quality),
        progress=evaluation.progress,
        on_samples=grid,
    )
    protocol = {
        "n_splits": evaluation.n_splits,
        "n_repeats": evaluation.n_repeats,
        "seed": cfg.seed,
        "rope": evaluation.rope,
        "methods": methods,
        "generator_seeds": evaluation.generator_seeds,
        "threshold": dict(evaluation.threshold),
        "quality": dict(evaluation.quality),
    }
    report = build_report(
        dataset,
        generator_info,
        classifier_info,
        protocol,
        folds,
        OmegaConf.to_container(cfg, resolve=True),
    )
    report["config_sha256"] = digest
    if grid is not None and grid.samples is not None:
        report["sample_grid"] = grid.write(directory)
    path = write_report(report, directory)
    log.info(headline(report))
    log.info("report: %s", path)
    return report


class _SampleGrid:
    """Keeps the first generator fit's minority samples, and the real minority rows it was
    fitted on, for the image runs' grid of real above synthetic images (``on_samples``)."""

    def __init__(self, dataset):
        self.minority, self.image_shape = dataset.minority_classes[0], dataset.image_shape
        self.samples = None

    def __call__(self, X_fit, y_fit, X_new, y_new):
        new = X_new[y_new == self.minority]
        if self.samples is None and len(new):
            # no more than the grid shows (it draws among them): not every image for the run
            self.samples = (X_fit[y_fit == self.minority][:GRID_IMAGES], new[:GRID_IMAGES])

    def write(self, directory):
        """Write the grid; returns its file name."""
        real, new = self.samples
        write_sample_grid(real, new, tuple(self.image_shape), directory / GRID)
        return GRID
