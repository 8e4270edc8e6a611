"""Folds in worker processes: how many workers a run gets, how many threads each, and a
map that hands back results in fold order.

A run's thread budget is what its entry point allowed the process
(``torch.get_num_threads()``: the CLI's ``threads``, which inside a parallel Hydra sweep is
already the cores divided by the jobs running at once). ``n_jobs="auto"`` gives the run as
many workers as its budget, each with one thread, so runs × workers × threads never exceed
the cores. Small networks and scikit-learn models gain little from a second thread, while
one process per core needs no OpenMP thread team at all: no spin-waiting threads that a
busy machine preempts (the usual cause of multi-threaded slow-downs beside other work).

Workers are joblib's loky processes (fresh interpreters, so CUDA stays usable; reused
between the rounds of an adaptive run). Every fold seeds everything it draws from its own
fold seed, so a fold's results do not depend on the process that ran it: a parallel run's
report equals a serial run's with the same seed and threads per fold.
"""

import logging
import os
from numbers import Integral

log = logging.getLogger(__name__)

AUTO = "auto"


def available_cores():
    """CPU cores this process may run on (respects affinity masks and SLURM cgroups)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def check_n_jobs(n_jobs):
    """``n_jobs`` as given, if valid: None (one process, as in scikit-learn), ``"auto"``, a
    positive count or a negative one counted from the cores as joblib does (-1: all)."""
    if n_jobs is None or n_jobs == AUTO:
        return n_jobs
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, Integral) or n_jobs == 0:
        raise ValueError(
            f"n_jobs must be 'auto', None or a non-zero integer (-1: all cores); got {n_jobs!r}"
        )
    return int(n_jobs)


def plan(n_jobs, n_tasks):
    """``(workers, threads per worker)`` for ``n_tasks`` folds.

    ``"auto"``: one worker per thread of the run's budget; None or 1: the run's own process
    with its whole budget; k > 1: k workers sharing the budget (at least one thread each);
    negative: ``cores + 1 + n_jobs`` workers. Never more workers than folds.
    """
    import torch

    budget = torch.get_num_threads()
    n_jobs = check_n_jobs(n_jobs)
    if n_jobs is None:
        return 1, budget
    if n_jobs == AUTO:
        n_jobs = budget
    elif n_jobs < 0:
        n_jobs = max(1, available_cores() + 1 + n_jobs)
    workers = max(1, min(n_jobs, n_tasks))
    return workers, budget if workers == 1 else max(1, budget // workers)


def ordered_map(function, argument_tuples, *, workers=1, threads=None):
    """``function(*arguments)`` for every tuple, yielded in order as they finish.

    With one worker everything runs here, one after another; otherwise in ``workers``
    processes, each limited to ``threads`` torch and BLAS/OpenMP threads.
    """
    if workers == 1:
        for arguments in argument_tuples:
            yield function(*arguments)
        return
    from joblib import Parallel, delayed

    log.info("folds: %d worker processes, %d thread(s) each", workers, threads)
    parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator")
    yield from parallel(
        delayed(_with_threads)(threads, function, arguments) for arguments in argument_tuples
    )


def _with_threads(threads, function, arguments):
    """Run ``function(*arguments)`` in a worker whose thread pools are limited first (a
    worker is a process of ours: setting its process-global thread counts is safe)."""
    from synthbalance.pipelines.sweep import limit_threads

    limit_threads(threads)
    return function(*arguments)
