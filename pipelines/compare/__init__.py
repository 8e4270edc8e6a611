"""Compare the reports of runs and sweeps: per-run deltas, and statistics across datasets.

Writes ``comparison.md``, ``comparison.csv`` (one row per run; runs with several minority
classes add one row per class, column ``class``), ``comparison_generators.csv`` (each
generator against the baseline across datasets) and figures: a critical-difference diagram
per headline metric, delta-vs-amount plots when a sweep varied
``generator.sampling_strategy``, and quality against utility. Runs of one generator (or
classifier) that differ in its parameters are different methods (classifiers), named after
the parameters that differ (``names.run_names``). Runs on one dataset must share its data,
and, for the statistics across datasets, their folds (seed, n_splits, n_repeats); runs
without the augmented method are skipped. A new comparison in the same ``out`` removes the
files of an earlier one that it does not write.
"""

from synthbalance.pipelines.compare.across import friedman, holm
from synthbalance.pipelines.compare.core import Comparison
from synthbalance.pipelines.compare.load import find_reports

__all__ = ["Comparison", "find_reports", "friedman", "holm", "write_comparison"]


def write_comparison(directories, out, rope=0.01):
    """Compare every usable report under ``directories``; write the tables and figures into
    ``out``. Returns the ``Comparison`` (its ``problems`` name the reports skipped)."""
    comparison = Comparison.from_directories(directories, rope=rope)
    comparison.save(out)
    return comparison
