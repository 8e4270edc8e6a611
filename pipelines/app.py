"""The jobs behind the console scripts, as plain functions of a composed config."""

import logging
from dataclasses import fields
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import OmegaConf

from synthbalance.pipelines.components import build
from synthbalance.pipelines.config import (
    ConfigError,
    check_settings,
    naming_config_keys,
    sections,
)
from synthbalance.pipelines.dataset import check_dataset
from synthbalance.pipelines.estimators import check_classifier
from synthbalance.pipelines.openset import OpenSetCheck, with_unknown
from synthbalance.pipelines.parallel import AUTO, check_n_jobs
from synthbalance.pipelines.protocol import Protocol, QualityCheck, ThresholdTuning
from synthbalance.pipelines.sweep import (
    check_objective,
    check_run_directory,
    completed_report,
    config_hash,
    limit_threads,
    record_hash,
)

log = logging.getLogger(__name__)


# What ``evaluation`` holds besides the ``Protocol``'s own fields (the run's seed is ``seed``).
RUN_SETTINGS = ("ensemble", "progress", "n_jobs")


def protocol_from_config(cfg):
    """The ``Protocol`` of a run: ``cfg.evaluation`` and the run's one ``seed``; a key that
    ``evaluation`` or one of its sections does not have is refused, naming the ones it has
    (Hydra's ``+evaluation.foo=1`` adds any key)."""
    evaluation = cfg.evaluation
    check_settings(evaluation, [f.name for f in fields(Protocol) if f.name != "seed"]
                + list(RUN_SETTINGS), "evaluation")  # fmt: skip
    for key, settings in (("threshold", ThresholdTuning), ("quality", QualityCheck),
                          ("open_set", OpenSetCheck)):  # fmt: skip
        if key in evaluation:
            check_settings(evaluation[key], [f.name for f in fields(settings)], f"evaluation.{key}")
    return Protocol(
        n_splits=evaluation.n_splits,
        n_repeats=evaluation.n_repeats,
        seed=cfg.seed,
        rope=evaluation.rope,
        methods=tuple(evaluation.methods),
        generator_seeds=evaluation.generator_seeds,
        threshold=ThresholdTuning(**evaluation.threshold),
        quality=QualityCheck(**evaluation.quality),
        open_set=OpenSetCheck(**evaluation.get("open_set", {})),
        max_repeats=evaluation.max_repeats,
        spending=evaluation.spending,
    )


def check_evaluation(cfg):
    """``(protocol, n_jobs, ensemble)`` of a run's config (``ensemble``: the
    balanced_ensemble method's model, built, or None), a bad value refused naming its key;
    the ``objective`` too."""
    with naming_config_keys(sections(cfg)):
        protocol = protocol_from_config(cfg)
        n_jobs = _n_jobs(cfg.evaluation.get("n_jobs", AUTO))
        node = cfg.evaluation.get("ensemble")
        ensemble = None if node is None else instantiate(node, _convert_="all")
        if ensemble is not None:
            check_classifier(ensemble, "evaluation.ensemble")
    progress = cfg.evaluation.get("progress", True)
    if not isinstance(progress, bool):
        raise ConfigError(f"evaluation.progress must be true or false; got {progress!r}")
    check_objective(cfg.get("objective"), protocol.methods)
    return protocol, n_jobs, ensemble


def _n_jobs(value):
    """``evaluation.n_jobs``, checked (``parallel.check_n_jobs``)."""
    try:
        return check_n_jobs(value)
    except ValueError:
        raise ConfigError(
            f"evaluation.n_jobs must be auto, null or a non-zero integer (-1: all cores); "
            f"got {value!r}"
        ) from None


def load_dataset(node):
    """The ``Dataset`` of a ``dataset`` config node; its ``unknown`` key (not the loader's)
    names the classes kept out of every training part (``openset.with_unknown``)."""
    # a ??? value raises here, naming its full key (dataset.path), not later as "path"
    node = OmegaConf.to_container(node, resolve=True, throw_on_missing=True)
    unknown = node.pop("unknown", None)
    return with_unknown(instantiate(node), unknown)


def run(cfg, threads=None) -> dict:
    """One evaluation run: load, evaluate on every fold, write the report; return it.

    With ``resume=true``, a complete report.json already computed for this config in
    ``output_dir`` is returned as it is, without running again. A directory holding the
    report of another config is refused unless ``overwrite=true``. Everything is checked
    before the first fold; a bad value is refused naming its config key. The data are
    loaded and checked before torch and the generators are imported, so that a mistake in
    them is refused in a second or two rather than after the imports.

    ``threads``: limit this process's torch and BLAS/OpenMP thread pools to that many
    (``sweep.limit_threads``) once the data are checked; None leaves them as they are.
    """
    directory = Path(cfg.output_dir)
    digest = config_hash(cfg)
    for key in ("resume", "overwrite"):
        if not isinstance(cfg.get(key, False), bool):
            raise ConfigError(f"{key} must be true or false; got {cfg.get(key)!r}")
    if cfg.get("resume", False):
        report = completed_report(directory, digest)
        if report is not None:
            log.info("resume: %s is complete for this config; not run again", directory)
            return report
    check_run_directory(directory, digest, cfg.get("overwrite", False))
    protocol, n_jobs, ensemble = check_evaluation(cfg)
    with naming_config_keys(sections(cfg)):
        dataset = load_dataset(cfg.dataset)
        check_dataset(dataset, protocol.n_splits)  # again in prepare; here before torch loads
        if threads is not None:
            in_force = limit_threads(threads)
            log.info("threads per job: torch %(torch)s, BLAS/OpenMP %(native)s", in_force)
        from synthbalance.pipelines.experiment import evaluate_dataset, prepare

        sampler, description = build(cfg.generator)
        setup = prepare(
            dataset, {description["name"]: (sampler, description)}, build(cfg.classifier),
            protocol, ensemble=ensemble,
        )  # fmt: skip
    (report,) = evaluate_dataset(
        dataset,
        setup,
        config=OmegaConf.to_container(cfg, resolve=True),
        config_sha256=digest,
        progress=cfg.evaluation.progress,
        n_jobs=n_jobs,
    ).values()
    path = report.save(directory)
    # the run directory says which config its report is for (report.json says it too); a
    # run that fails before this leaves it as it found it, an earlier report with its hash
    record_hash(directory, digest)
    log.info(report.headline)
    log.info("report: %s", path)
    return report.data
