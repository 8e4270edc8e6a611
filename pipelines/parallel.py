"""Folds in worker processes: how many workers a run gets, how many threads each, and a
map that hands back results in fold order.

A run's thread budget is what its entry point allowed the process
(``torch.get_num_threads()``: the CLI's ``threads``, which inside a parallel Hydra sweep is
already the cores divided by the jobs running at once). ``n_jobs="auto"`` gives the run as
many workers as its budget, each with one thread, so runs × workers × threads never exceed
the cores. Small networks and scikit-learn models gain little from a second thread, while
one process per core needs no OpenMP thread team at all: no spin-waiting threads that a
busy machine preempts (the usual cause of multi-threaded slow-downs beside other work).

Workers are joblib's loky processes (reused between the rounds of an adaptive run). Every
fold seeds everything it draws from its own fold seed, so a fold's results do not depend on
the process that ran it: a parallel run's report equals a serial run's with the same seed and
threads per fold.

In the commands (``use_fork_server``), workers are forked from a fork server that imported
what a fold needs (``PRELOAD``) once, started as soon as the job's config says it will run
folds in workers (``start_fork_server``), so that its imports overlap the job's own instead
of each worker importing torch and scikit-learn after the job has reached its folds (a
worker forked from it also ends without an interpreter teardown). The server imports nothing
that starts threads or CUDA, so a forked worker can still use CUDA. Measured with
``benchmarks/bench_loop.py``.
"""

import logging
import multiprocessing
import os
from numbers import Integral

log = logging.getLogger(__name__)

AUTO = "auto"
# What a fold worker imports: the fold functions, every sampler and classifier, and the part
# of torch that its optimisers import on first use (torch._dynamo, ~1.5 s).
PRELOAD = (
    "synthbalance.pipelines.evaluation",
    "synthbalance.pipelines.openset",
    "synthbalance.generators",
    "synthbalance.classifiers",
    "torch._dynamo",
)
FORK_SERVER = "forkserver"


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


def plan(n_jobs, n_tasks, budget=None):
    """``(workers, threads per worker)`` for ``n_tasks`` folds.

    ``"auto"``: one worker per thread of the run's budget (default: this process's torch
    threads); None or 1: the run's own process with its whole budget; k > 1: k workers
    sharing the budget (at least one thread each); negative: ``cores + 1 + n_jobs`` workers.
    Never more workers than folds.
    """
    if budget is None:
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
    from joblib.externals.loky.backend.context import get_start_method

    forked = get_start_method() == FORK_SERVER
    log.info(
        "folds: %d worker processes%s, %d thread(s) each",
        workers, " from the preloaded fork server" if forked else "", threads,
    )  # fmt: skip
    # joblib's memmapping of large arrays registers its files with a resource tracker that
    # workers from the fork server do not share (it reports them leaked): pickle instead
    max_nbytes = None if forked else "1M"
    parallel = Parallel(
        n_jobs=workers, backend="loky", return_as="generator", max_nbytes=max_nbytes
    )
    yield from parallel(
        delayed(_with_threads)(threads, function, arguments) for arguments in argument_tuples
    )


def _with_threads(threads, function, arguments):
    """Run ``function(*arguments)`` in a worker whose thread pools are limited first (a
    worker is a process of ours: setting its process-global thread counts is safe).

    tqdm's write lock is made a thread lock: tqdm otherwise creates a multiprocessing lock
    (a named semaphore) at its first bar, even a disabled one, which a worker killed on
    Ctrl-C never releases, and the resource tracker then reports it leaked on stderr after
    the one-line message. A worker's bars are off; nothing shares the lock with it. Ctrl-C
    interrupts the fold again in a worker of the fork server, which ignores it."""
    import signal
    import threading

    from tqdm import tqdm

    from synthbalance.pipelines.sweep import limit_threads

    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGINT) == signal.SIG_IGN:  # from the fork server
        signal.signal(signal.SIGINT, signal.default_int_handler)
    tqdm.set_lock(threading.RLock())
    limit_threads(threads)
    return function(*arguments)


def use_fork_server():
    """Start this process's loky workers from a fork server that preloads ``PRELOAD``.

    Process-global (loky's start method and the server's preload list): for the commands'
    own processes only, never library code. Where the platform has no fork server (Windows),
    workers stay fresh loky interpreters.
    """
    if FORK_SERVER not in multiprocessing.get_all_start_methods():
        return
    from joblib.externals.loky.backend.context import get_start_method, set_start_method

    if get_start_method() is None:
        set_start_method(FORK_SERVER)
    multiprocessing.set_forkserver_preload(list(PRELOAD))


def start_fork_server(n_jobs, budget):
    """Start the fork server now (it imports ``PRELOAD`` in its own process) if a run with
    ``n_jobs`` and a thread budget of ``budget`` will use workers; otherwise do nothing. An
    invalid ``n_jobs`` is left for the run to refuse with its own message."""
    from joblib.externals.loky.backend.context import get_start_method

    if get_start_method() != FORK_SERVER:
        return
    try:
        workers, _ = plan(n_jobs, float("inf"), budget)
    except ValueError:
        return
    if workers > 1:
        import signal
        import threading
        from multiprocessing import forkserver

        # Ctrl-C reaches the whole process group: the server (a fresh interpreter, which
        # inherits an ignored signal) would print a traceback from the middle of its imports.
        # It ignores SIGINT itself once they are done; a fold worker restores it.
        main = threading.current_thread() is threading.main_thread()  # signal's rule
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            forkserver.ensure_running()
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
