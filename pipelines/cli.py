"""Console scripts: ``synthbalance``, ``synthbalance-compare``, ``synthbalance-export``.

Errors in the user's data or config end the program with one line on stderr and exit code
1; set ``HYDRA_FULL_ERROR=1`` to get the traceback instead.
"""

import argparse
import functools
import logging
import os
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from synthbalance.pipelines import app, compare, export, sweep

log = logging.getLogger(__name__)

USER_ERRORS = (ValueError, OSError, InstantiationException, OmegaConfBaseException)


def _one_line(error):
    # Hydra wraps errors raised while instantiating a _target_; the cause is the message.
    while isinstance(error, InstantiationException) and error.__cause__ is not None:
        error = error.__cause__
    return " ".join(str(error).split()) or type(error).__name__


def _fail(prog, error):
    print(f"{prog}: error: {_one_line(error)}", file=sys.stderr)
    sys.exit(1)


def _reporting_user_errors(prog):
    def decorate(job):
        @functools.wraps(job)
        def wrapper(*args, **kwargs):
            try:
                return job(*args, **kwargs)
            except USER_ERRORS as error:
                if os.environ.get("HYDRA_FULL_ERROR") == "1":
                    raise
                _fail(prog, error)

        return wrapper

    return decorate


def _threads(cfg):
    """Limit this job's torch and BLAS threads: ``threads``, or (null) cores / concurrent jobs."""
    threads = cfg.get("threads")
    if threads is None:
        launcher = None
        if HydraConfig.initialized():
            launcher = OmegaConf.to_container(HydraConfig.get().launcher, resolve=True)
        threads = sweep.threads_per_job(launcher, sweep.available_cores())
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer or null, got {threads!r}")
    in_force = sweep.limit_threads(threads)
    log.info("threads per job: torch %(torch)s, BLAS/OpenMP %(native)s", in_force)


@hydra.main(config_path="pkg://synthbalance.conf", config_name="config", version_base="1.3")
@_reporting_user_errors("synthbalance")
def main(cfg):
    """``synthbalance [overrides]``: one evaluation run (``-m`` for a sweep).

    Returns the ``objective`` (a metric's mean delta, augmented vs baseline) for a tuning
    sweeper such as Optuna, or None when ``objective`` is null.
    """
    _threads(cfg)
    report = app.run(cfg)
    if cfg.get("objective") is not None:
        return sweep.objective(report, cfg.objective)
    return None


@hydra.main(config_path="pkg://synthbalance.conf", config_name="export", version_base="1.3")
@_reporting_user_errors("synthbalance-export")
def export_main(cfg):
    """``synthbalance-export [overrides] export.path=out.parquet``."""
    return export.export(cfg)


@_reporting_user_errors("synthbalance-compare")
def compare_main(argv=None):
    """``synthbalance-compare DIR... [--out DIR]``."""
    parser = argparse.ArgumentParser(
        prog="synthbalance-compare",
        description="Aggregate the report.json files under run or sweep directories.",
    )
    parser.add_argument("directories", nargs="+", metavar="DIR")
    parser.add_argument(
        "--out", default=".", help="where to write comparison.md and comparison.csv (default: .)"
    )
    parser.add_argument(
        "--rope", type=float, default=0.01, help="region of practical equivalence (default: 0.01)"
    )
    args = parser.parse_args(argv)
    comparison = compare.write_comparison(args.directories, args.out, rope=args.rope)
    for problem in comparison.problems:
        print(f"synthbalance-compare: skipped {problem}", file=sys.stderr)
    print(f"{len(comparison)} runs compared; wrote {args.out}/comparison.md and comparison.csv")
