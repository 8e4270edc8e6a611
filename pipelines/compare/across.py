"""Statistics across datasets (Demšar 2006): per generator, the Wilcoxon signed-rank test of
its mean deltas against the baseline, Holm-corrected across generators, with baycomp's
Bayesian signed-rank test as a second opinion; over all methods, the Friedman test, mean
ranks and the Nemenyi post-hoc test; and how well each quality metric predicts the gain."""

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from synthbalance.pipelines.methods import PLAIN, partner_of_label
from synthbalance.pipelines.metrics import HEADLINE

ALPHA = 0.05


def holm(p_values):
    """Holm-Bonferroni adjusted p-values (step-down, monotone)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def _wilcoxon(deltas):
    deltas = np.asarray(deltas, dtype=float)
    if np.allclose(deltas, 0):
        return 1.0  # identical to the baseline on every dataset
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.wilcoxon(deltas, zero_method="zsplit").pvalue)


def _bayesian_signed_rank(deltas, rope):
    """P(better), P(rope), P(worse) over datasets, or Nones where baycomp does not apply."""
    import baycomp

    deltas = np.asarray(deltas, dtype=float)
    if len(deltas) < 2 or np.allclose(deltas, deltas[0]):
        return {"p_better": None, "p_rope": None, "p_worse": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # a fixed seed for baycomp's Monte Carlo draws: the same reports, the same table
        p_better, p_rope, p_worse = baycomp.two_on_multiple(
            deltas, np.zeros_like(deltas), rope=rope, random_state=0
        )
    return {"p_better": float(p_better), "p_rope": float(p_rope), "p_worse": float(p_worse)}


def generator_tests(matrix, rope):
    """Each augmented method of ``matrix`` against its baseline column across datasets."""
    candidates = [c for c in matrix.columns if c not in PLAIN]
    rows = []
    for method in candidates:
        versus = partner_of_label(method)
        if versus not in matrix:
            continue
        deltas = (matrix[method] - matrix[versus]).to_numpy()
        rows.append(
            {
                "method": method,
                "versus": versus,
                "n_datasets": len(deltas),
                "mean_delta": float(deltas.mean()),
                "wins": int((deltas > 0).sum()),
                "losses": int((deltas < 0).sum()),
                "wilcoxon_p": _wilcoxon(deltas),
                **_bayesian_signed_rank(deltas, rope),
            }
        )
    result = pd.DataFrame(rows)
    if len(result):
        result["wilcoxon_p_holm"] = holm(result["wilcoxon_p"])
        result["significant"] = result["wilcoxon_p_holm"] < ALPHA
    return result


def friedman(matrix):
    """Friedman test over all methods, mean ranks (1 = best) and the Nemenyi p-value matrix.
    None when there are fewer than 3 methods or 2 datasets."""
    import scikit_posthocs as sp

    if matrix.shape[1] < 3 or matrix.shape[0] < 2:
        return None
    ranks = matrix.rank(axis=1, ascending=False).mean().sort_values()
    if np.allclose(matrix.to_numpy(), matrix.to_numpy()[:, :1]):
        p_value = 1.0  # every method scores the same on every dataset
    else:
        p_value = float(stats.friedmanchisquare(*matrix.to_numpy().T).pvalue)
    nemenyi = sp.posthoc_nemenyi_friedman(matrix.reset_index(drop=True))
    return {"p_value": p_value, "mean_ranks": ranks, "nemenyi": nemenyi}


# Sample-quality metrics generators are ranked by, and whether higher is better.
QUALITY_RANKED = {"c2st_auc": False, "fd": False, "coverage": True, "recall": True, "cas": True}
# Ranked by their distance from an ideal value rather than by the value itself: a C2ST AUC
# of 0.5 means indistinguishable, and one below it is noise, not rows more real than real.
QUALITY_IDEAL = {"c2st_auc": 0.5}


def quality_ranking(options, metric):
    """Friedman test of generators by one sample-quality metric, for runs on one dataset and
    the same folds: ``options`` is ``{generator: {(repeat, fold): augmented fold record}}``,
    every (fold, generator seed) a block, so that three seeds on 10 folds give 30 blocks.
    Quality does not depend on the classifier; C2ST AUC ranks by its distance from 0.5
    (``QUALITY_IDEAL``). Returns ``friedman``'s result (mean ranks,
    1 = best; Nemenyi p-values) plus ``n_blocks``, or None with fewer than 3 generators
    measured on shared blocks."""
    higher_is_better = QUALITY_RANKED[metric]
    columns = {}
    for name, records in options.items():
        values = {}
        for key, record in records.items():
            seeds = record.get("quality_by_seed") or [record.get("quality") or {}]
            for seed, quality in enumerate(seeds):
                if quality.get(metric) is not None:
                    values[(*key, seed)] = quality[metric]
        if values:
            columns[name] = values
    matrix = pd.DataFrame(columns).dropna()
    if metric in QUALITY_IDEAL:
        matrix = (matrix - QUALITY_IDEAL[metric]).abs()
    if not higher_is_better:
        matrix = -matrix
    result = friedman(matrix)
    if result is None:
        return None
    return {**result, "n_blocks": len(matrix), "higher_is_better": higher_is_better}


def quality_correlations(table):
    """Spearman rank correlation of each quality metric with the F1 / ROC AUC deltas across
    runs: which quality metric predicts usefulness on these data. Per classifier: runs with
    several classifiers (or classifier settings) repeat the same generator fits, so pooling
    them would count each fit several times. Empty below 3 runs."""
    columns = [c for c in table.columns if c.startswith("quality_")]
    rows = []
    for classifier, runs in table.groupby("classifier", sort=True):
        for column in columns:
            valid = runs[[column, *(f"{m}_delta_mean" for m in HEADLINE)]].dropna()
            if len(valid) < 3 or valid[column].nunique() < 2:
                continue
            row = {
                "classifier": classifier,
                "quality_metric": column.removeprefix("quality_"),
                "n_runs": len(valid),
            }
            for metric in HEADLINE:
                rho, p_value = stats.spearmanr(valid[column], valid[f"{metric}_delta_mean"])
                row[f"rho_{metric}"], row[f"p_{metric}"] = float(rho), float(p_value)
            rows.append(row)
    return pd.DataFrame(rows)
