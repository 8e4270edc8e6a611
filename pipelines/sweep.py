"""What sweeps need from a run: a config hash, resume checks, objectives and thread limits.

A run's directory records the sha256 of its resolved config (``config.sha256``, written with
its report, and the ``config_sha256`` field of report.json). With ``resume=true`` a run
whose report.json is complete for the same hash is not computed again; any other run (never
started, crashed, killed, or run with another config) is. report.json is written last and
atomically (:mod:`synthbalance.pipelines.io`), so a killed run never leaves one that looks complete.
"""

import copy
import hashlib
import itertools
import json
import logging
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import OmegaConf, open_dict

from synthbalance.pipelines.io import write_text
from synthbalance.pipelines.methods import AUGMENTATION

log = logging.getLogger(__name__)

HASH_FILE = "config.sha256"
# Keys that say where or how a run executes, not what it computes.
VOLATILE_KEYS = (
    "hydra", "output_dir", "resume", "overwrite", "threads", "objective", "evaluation.progress",
    "evaluation.n_jobs",
)  # fmt: skip


def config_hash(cfg) -> str:
    """sha256 of the resolved config without :data:`VOLATILE_KEYS`."""
    cfg = copy.deepcopy(cfg)
    with open_dict(cfg):
        for key in VOLATILE_KEYS:
            parent, _, leaf = key.rpartition(".")
            node = OmegaConf.select(cfg, parent) if parent else cfg
            if node is not None and leaf in node:
                del node[leaf]  # not pop: it resolves the value (${hydra:...} before a job)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    text = json.dumps(resolved, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def record_hash(directory, digest):
    """Write ``config.sha256`` into a run directory (creating it)."""
    write_text(Path(directory) / HASH_FILE, digest + "\n")


def completed_report(directory, digest):
    """The report in ``directory`` if it is complete and was computed for ``digest``, else None."""
    from synthbalance.pipelines.report import check_report

    path = Path(directory) / "report.json"
    try:
        report = check_report(json.loads(path.read_text(encoding="utf-8")), where=str(path))
    except (OSError, ValueError):  # missing, truncated, or not a complete report
        return None
    if report.get("config_sha256") != digest:
        return None
    return report


def recorded_hash(directory):
    """The config hash of the report a run directory holds: its report.json's
    ``config_sha256``, else the directory's ``config.sha256``; None when neither says. The
    report comes first: it is written a moment before ``config.sha256``."""
    directory = Path(directory)
    try:
        report = json.loads((directory / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report = None
    if isinstance(report, dict) and report.get("config_sha256"):
        return report["config_sha256"]
    try:
        return (directory / HASH_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def check_run_directory(directory, digest, overwrite=False, announce=True, key="hydra.run.dir"):
    """Refuse a run directory holding the report.json of another config (another run's
    directory given as ``key``) unless ``overwrite``. A re-run of the same config replaces
    its report; with ``announce`` the log says which report is replaced."""
    if not (Path(directory) / "report.json").exists():
        return
    same = recorded_hash(directory) == digest
    if not (same or overwrite):
        raise ValueError(
            f"{directory} holds the report.json of another config; give the run another "
            f"directory ({key}), or overwrite=true to replace it"
        )
    if announce:
        whose = "this config" if same else "another config (overwrite=true)"
        log.info("%s holds a report of %s; it is replaced", directory, whose)


class RunDirectoryCheck(Callback):
    """Hydra callback: ``check_run_directory`` for a single run, before Hydra writes its
    .hydra/ files and log into the directory (a sweep's jobs are checked by ``app.run``)."""

    def on_run_start(self, config, **kwargs):
        from synthbalance.pipelines.cli import one_line_errors

        directory = OmegaConf.select(config, "hydra.run.dir")
        overwrite = config.get("overwrite", False) is True
        # Hydra turns an exception of a callback into a warning and goes on: exit here
        with one_line_errors(config.hydra.job.name):
            if directory is not None:
                check_run_directory(directory, config_hash(config), overwrite, announce=False)


def _chooses_the_generator(key):  # budget.*: the step budgets the generators read
    return key in ("generator", "budget") or key.startswith(("generator.", "budget."))


def _chooses_the_classifier(key):
    return key == "classifier" or key.startswith("classifier.")


def _chooses_the_data(key):  # the dataset, and the folds it must have rows for
    return key in ("dataset", "evaluation", "evaluation.n_splits") or key.startswith("dataset.")


def _chooses_the_evaluation(key):
    return key in ("seed", "evaluation", "objective") or key.startswith("evaluation.")


def _sweep_overrides(config, loader=None):
    """The sweep's overrides as Hydra's basic sweeper parses them: its ``params``, then the
    command line's; with the config ``loader``, which ``glob(...)`` needs to list its
    choices."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = OmegaConf.select(config, "hydra.sweeper.params") or {}
    lines = [f"{key}={value}" for key, value in params.items()]
    lines += list(OmegaConf.select(config, "hydra.overrides.task") or [])
    return OverridesParser.create(config_loader=loader).parse_overrides(lines)


def swept_generators(config, loader=None):
    """The override lists that give each generator a sweep would run: the product of its
    sweeps over ``generator``, ``generator.*`` and ``budget.*`` (the sweeper's ``params``
    and the command line's, the command line winning), beside the command line's other
    plain overrides; its other sweeps are left out (they do not choose the generator).
    ``[]`` when the sweep does not vary the generator, or varies it by a search space
    (Optuna's ``interval``), not by a list of choices."""
    return swept_choices(config, _chooses_the_generator, loader)


def swept_choices(config, chooses, loader=None):
    """``swept_generators`` for the keys ``chooses(key)`` accepts."""
    from hydra.errors import HydraException

    overrides = _sweep_overrides(config, loader)
    by_key = {override.key_or_group: override for override in overrides}  # the last one wins
    fixed, swept = [], []
    for key, override in by_key.items():
        if not override.is_sweep_override():
            fixed.append(override.input_line)
        elif chooses(key):
            try:
                values = list(override.sweep_string_iterator())
            except HydraException:  # an interval search space: not choices
                return []
            swept.append([f"{override.get_key_element()}={value}" for value in values])
    if not swept:
        return []
    return [fixed + list(choice) for choice in itertools.product(*swept)]


def swept_jobs(config, loader):
    """Every job's override list, in the order the basic sweeper numbers them (its own
    ``split_arguments`` over ``_sweep_overrides``); None for another sweeper (Optuna's jobs
    are not known before they run) or a sweep it would refuse itself."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.errors import HydraException

    sweeper = OmegaConf.select(config, "hydra.sweeper._target_") or ""
    if not sweeper.endswith("BasicSweeper"):
        return None
    try:
        return BasicSweeper.split_arguments(_sweep_overrides(config, loader), None)[0]
    except HydraException:  # the sweeper says it, in its words
        return None


def check_job_directories(config, loader):
    """``check_run_directory`` for every job of a sweep whose directory already holds a
    report, before Hydra writes a job's .hydra/ files and log into it (a single run's
    ``RunDirectoryCheck`` does the same): a sweep run again with other choices would
    otherwise rewrite a directory's records beside the report of another config before its
    job refuses it. Each job's config is composed (about 0.1 s) only when the sweep's
    directory exists."""
    sweep_dir = Path(str(OmegaConf.select(config, "hydra.sweep.dir")))
    jobs = swept_jobs(config, loader) if sweep_dir.is_dir() else None
    for num, overrides in enumerate(jobs or []):
        job = loader.load_sweep_config(config, list(overrides))
        with open_dict(job):
            job.hydra.job.id, job.hydra.job.num = num, num  # as the launchers set them
        directory = sweep_dir / str(OmegaConf.select(job, "hydra.sweep.subdir"))
        if (directory / "report.json").exists():
            overwrite = job.get("overwrite", False) is True
            check_run_directory(
                directory, config_hash(job), overwrite, announce=False, key="hydra.sweep.dir"
            )


class SweepCheck(Callback):
    """Hydra callback: before a sweep's first job, check what its jobs would be given: every
    value it gives ``seed``, ``objective`` and ``evaluation.*`` (``app.check_evaluation``:
    the ``Protocol`` each job builds, ``evaluation.n_jobs`` and the ensemble), every
    generator it names, built and checked
    (``estimators.check_sampler``: its parameters, and the optional library of a
    third-party generator), every classifier (``estimators.check_classifier``), and every
    job directory that already holds a report (``check_job_directories``). A missing extra,
    a bad generator or classifier parameter, ``-m seed=0,abc`` or a directory holding
    another config's report stops the sweep in one line
    before any job runs, not at the first job that meets it (about 0.1 s a job to compose
    its config)."""

    def on_multirun_start(self, config, **kwargs):
        from hydra.core.global_hydra import GlobalHydra

        from synthbalance.pipelines.app import check_evaluation
        from synthbalance.pipelines.cli import one_line_errors
        from synthbalance.pipelines.components import build
        from synthbalance.pipelines.config import naming_config_keys, sections
        from synthbalance.pipelines.estimators import check_classifier, check_sampler

        loader = GlobalHydra.instance().config_loader()
        # Hydra turns an exception of a callback into a warning and goes on: exit here
        with one_line_errors(config.hydra.job.name, unfinished="no job run"):
            evaluations = swept_choices(config, _chooses_the_evaluation, loader)
            for overrides in evaluations or [None]:  # None: every job's are the command line's
                check_evaluation(config if overrides is None else
                                 loader.load_sweep_config(config, overrides))  # fmt: skip
            for group, chooses, check in (
                ("generator", _chooses_the_generator, check_sampler),
                ("classifier", _chooses_the_classifier, check_classifier),
            ):
                checked = set()
                for overrides in swept_choices(config, chooses, loader):
                    job = loader.load_sweep_config(config, overrides)
                    key = OmegaConf.to_yaml(job[group])
                    if key not in checked:
                        checked.add(key)
                        with naming_config_keys(sections(job, groups=(group,))):
                            check(build(job[group])[0])
            check_datasets(config, loader)
            check_job_directories(config, loader)


def check_datasets(config, loader):
    """Load every dataset a sweep's jobs would be given and check it for the folds each
    job's ``evaluation`` asks (``dataset.check_dataset``), one at a time, when the sweep
    varies them (``_chooses_the_data``): a wrong path or a bad value in the sweep's last
    dataset is named before its first job runs. Each dataset is read once more than the
    sweep itself reads it."""
    from synthbalance.pipelines.app import load_dataset
    from synthbalance.pipelines.config import naming_config_keys, sections
    from synthbalance.pipelines.dataset import check_dataset

    by_dataset = {}
    for overrides in swept_choices(config, _chooses_the_data, loader):
        job = loader.load_sweep_config(config, overrides)
        key = OmegaConf.to_yaml(job.dataset)
        by_dataset.setdefault(key, (job, set()))[1].add(job.evaluation.n_splits)
    for job, n_splits in by_dataset.values():
        with naming_config_keys(sections(job, groups=("dataset",))):
            dataset = load_dataset(job.dataset)
            for n in sorted(n_splits):
                check_dataset(dataset, n)


def check_objective(metric, methods):
    """Refuse, before anything runs, an ``objective`` the run could not return."""
    from synthbalance.pipelines.metrics import METRICS

    if metric is None:
        return
    if metric not in METRICS:
        raise ValueError(f"objective must be one of {', '.join(METRICS)}, got {metric!r}")
    if AUGMENTATION[0] not in methods:
        raise ValueError(
            f"objective {metric!r} needs the {AUGMENTATION[0]!r} method in evaluation.methods"
        )


def objective(report, metric):
    """Mean delta of ``metric`` (augmented − baseline) over the folds: what a tuner maximises
    (the macro average with several minority classes)."""
    from synthbalance.pipelines.report import find_comparison

    return float(find_comparison(report, *AUGMENTATION, metric)["delta_mean"])


def threads_per_job(launcher, cores):
    """Threads each job may use so that concurrent jobs × threads ≤ cores.

    ``launcher`` is Hydra's ``hydra.launcher`` node as a dict (None outside Hydra):
    joblib runs ``n_jobs`` jobs at once (negative counts as joblib does: -1 = all cores);
    submitit gives each job ``cpus_per_task`` CPUs (1 when unset: submitit_local starts every
    job of the sweep at once); Ray gives each ``ray.remote.num_cpus`` (1 when unset). The basic
    launcher runs one job at a time, which may use every core.
    """
    launcher = launcher or {}
    if "n_jobs" in launcher:
        n_jobs = launcher["n_jobs"] or 1
        if n_jobs < 0:
            n_jobs = cores + 1 + n_jobs
        return max(1, cores // max(1, n_jobs))
    if "cpus_per_task" in launcher:
        return max(1, min(cores, launcher["cpus_per_task"] or 1))
    if "ray" in launcher:
        remote = (launcher["ray"] or {}).get("remote") or {}
        return max(1, min(cores, int(remote.get("num_cpus") or 1)))
    return cores


def limit_threads(n):
    """Limit torch's and the BLAS/OpenMP libraries' thread pools of this process to ``n``.

    Process-global: call it from an entry point (a job), never from library code. Returns
    the sizes now in force: ``{"torch": ..., "native": ...}`` (native: the largest BLAS or
    OpenMP pool threadpoolctl finds, None if it finds none).
    """
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    torch.set_num_threads(n)
    threadpool_limits(limits=n)
    native = [pool["num_threads"] for pool in threadpool_info()]
    return {"torch": torch.get_num_threads(), "native": max(native, default=None)}
