"""Console scripts: ``synthbalance``, ``synthbalance-compare``, ``synthbalance-export``.

A mistake in the user's data, config or command line ends the program with one line on
stderr and exit code 1; Ctrl-C with one line ("interrupted after fold 3 of 10; no report
written") and exit code 130. Set ``HYDRA_FULL_ERROR=1`` to get the traceback instead.

This module imports nothing heavy: torch, scikit-learn and Hydra load inside that guard, so
a Ctrl-C while they load ends in one line as well.
"""

import argparse
import contextlib
import os
import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a Ctrl-C
FULL_ERROR = "HYDRA_FULL_ERROR"
# The user's own HYDRA_FULL_ERROR while the commands set it for Hydra (the jobs of a sweep
# inherit both, in whatever process they run).
USER_FULL_ERROR = "SYNTHBALANCE_USER_FULL_ERROR"


def _traceback_asked():
    return os.environ.get(USER_FULL_ERROR, os.environ.get(FULL_ERROR, "")) == "1"


def _user_errors():
    """The exceptions that are the user's mistakes: bad values, types, files and configs."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    return (ValueError, TypeError, OSError, HydraException, OmegaConfBaseException)


def one_line(error):
    """``error``'s message on one line, with the cause Hydra or the logging setup wrapped."""
    from hydra.errors import InstantiationException
    from omegaconf import MissingMandatoryValue

    # Hydra wraps errors raised while instantiating a _target_; the cause is the message.
    while isinstance(error, InstantiationException) and error.__cause__ is not None:
        error = error.__cause__
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, MissingMandatoryValue) and error.full_key:
        # rather than "Missing mandatory value: dataset.path full_key: dataset.path ..."
        text = f"{error.full_key} is required: give it on the command line ({error.full_key}=...)"
    elif isinstance(error, FileExistsError) and error.filename and os.path.isfile(error.filename):
        # os.makedirs on a file's path: "[Errno 17] File exists" reads as if it should not
        text = f"{error.filename!r} is a file, not a directory ({text})"
    cause = error.__cause__
    if isinstance(cause, OSError) and not isinstance(error, OSError):
        # logging's "Unable to configure handler 'file'" hides the reason in its cause; a
        # message of ours that already quotes its cause is not repeated
        reason = one_line(cause)
        if reason not in text:
            text = f"{text}: {reason}"
    return text


@contextlib.contextmanager
def one_line_errors(prog, unfinished="no report written"):
    """End the program with one line on stderr for the user's mistakes (exit 1) and Ctrl-C
    (exit 130, saying ``unfinished``); other exceptions, and all of them with
    ``HYDRA_FULL_ERROR=1``, keep their traceback."""
    traceback_asked = _traceback_asked()
    try:
        yield
    except KeyboardInterrupt as interrupt:
        if traceback_asked:
            raise
        print(f"{prog}: {str(interrupt) or 'interrupted'}; {unfinished}", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:
        if traceback_asked or not isinstance(error, _user_errors()):
            raise
        print(f"{prog}: error: {one_line(error)}", file=sys.stderr)
        sys.exit(1)


@contextlib.contextmanager
def _hydra_raising():
    """Let exceptions out of ``hydra.main``: unless HYDRA_FULL_ERROR is set, Hydra prints its
    own multi-line account of them (``hydra._internal.utils.run_and_report``)."""
    before = {key: os.environ.get(key) for key in (FULL_ERROR, USER_FULL_ERROR)}
    os.environ[USER_FULL_ERROR] = "1" if _traceback_asked() else "0"
    os.environ[FULL_ERROR] = "1"
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _hydra_command(prog, config_name, job, unfinished):
    from synthbalance.pipelines import parallel

    parallel.use_fork_server()
    with one_line_errors(prog, unfinished):
        import hydra

        with _hydra_raising():
            command = hydra.main(
                config_path="pkg://synthbalance.conf", config_name=config_name, version_base="1.3"
            )(job)
            command()


@contextlib.contextmanager
def _naming_the_job():
    """In a sweep, say which job failed or was interrupted: ``job 3 (generator=vae)``."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    try:
        yield
    except (*_user_errors(), KeyboardInterrupt) as error:
        config = HydraConfig.get() if HydraConfig.initialized() else None
        if config is None or config.mode != RunMode.MULTIRUN:
            raise
        job = f"job {config.job.num} ({' '.join(config.overrides.task) or 'no overrides'})"
        if isinstance(error, KeyboardInterrupt):
            from synthbalance.pipelines.evaluation import Interrupted

            raise Interrupted(f"{str(error) or 'interrupted'} in {job}") from error
        raise JobError(f"{job}: {one_line(error)}") from error


class JobError(ValueError):
    """A job of a sweep failed on the user's mistake; the message names the job."""


def _thread_budget(cfg):
    """This job's torch and BLAS threads: ``threads``, or (null) cores / concurrent jobs."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from synthbalance.pipelines import parallel, sweep

    threads = cfg.get("threads")
    if threads is None:
        launcher = None
        if HydraConfig.initialized():
            launcher = OmegaConf.to_container(HydraConfig.get().launcher, resolve=True)
        threads = sweep.threads_per_job(launcher, parallel.available_cores())
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be a positive integer or null; got {threads!r}")
    return threads


def evaluation_job(cfg):
    """One job of ``synthbalance``: an evaluation run of the composed config ``cfg``.

    Returns the ``objective`` (a metric's mean delta, augmented vs baseline) for a tuning
    sweeper such as Optuna, or None when ``objective`` is null. The job reports its own
    errors: Hydra writes more lines about an exception a job raises.
    """
    with one_line_errors("synthbalance"), _naming_the_job():
        from synthbalance.pipelines import parallel

        threads = _thread_budget(cfg)
        # before the imports below (seconds), so that the workers' imports overlap them
        parallel.start_fork_server(cfg.evaluation.get("n_jobs"), threads)

        from synthbalance.pipelines import app, sweep

        report = app.run(cfg, threads)
        if cfg.get("objective") is not None:
            return sweep.objective(report, cfg.objective)
        return None


def export_job(cfg):
    """The job of ``synthbalance-export``: ``cfg``'s dataset, balanced by its generator."""
    with one_line_errors("synthbalance-export", "nothing written"):
        from synthbalance.pipelines import export

        return export.export(cfg)


def main():
    """``synthbalance [overrides]``: one evaluation run (``-m`` for a sweep)."""
    _hydra_command("synthbalance", "config", evaluation_job, "no report written")


def export_main():
    """``synthbalance-export [overrides] export.path=out.parquet``."""
    _hydra_command("synthbalance-export", "export", export_job, "nothing written")


def compare_main(argv=None):
    """``synthbalance-compare PATH... [--out DIR]``."""
    parser = argparse.ArgumentParser(
        prog="synthbalance-compare",
        description="Aggregate the report.json files under run or sweep directories (or "
        "report.json files named one by one).",
    )
    parser.add_argument("directories", nargs="+", metavar="PATH")
    parser.add_argument(
        "--out", default=".", help="where to write comparison.md, .html and .csv (default: .)"
    )
    parser.add_argument(
        "--rope", type=float, default=0.01, help="region of practical equivalence (default: 0.01)"
    )
    args = parser.parse_args(argv)
    with one_line_errors("synthbalance-compare", "the comparison may be incomplete"):
        from synthbalance.pipelines import compare

        comparison = compare.write_comparison(args.directories, args.out, rope=args.rope)
    for problem in comparison.problems:
        print(f"synthbalance-compare: skipped {problem}", file=sys.stderr)
    print(
        f"{len(comparison)} runs compared; wrote {args.out}/comparison.md, comparison.html "
        "and comparison.csv"
    )
