"""Per-fold scores: scikit-learn's and imbalanced-learn's implementations, minority as positive.

Besides the decision and ranking metrics, three calibration metrics of the minority
probability (Brier score, log loss, expected calibration error): over-sampling shifts the
class prior the classifier learns, and with it every probability it gives (van den Goorbergh
et al. 2022, "The harm of class imbalance corrections for risk prediction models"). For them
lower is better; ``sign`` says which way a metric improves.
"""

import numpy as np
from imblearn.metrics import geometric_mean_score
from scipy.stats import gmean
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    log_loss,
    make_scorer,
    matthews_corrcoef,
    roc_auc_score,
)

CALIBRATION = ("brier", "log_loss", "ece")
METRICS = ("f1", "roc_auc", "pr_auc", "balanced_accuracy", "gmean", "mcc", *CALIBRATION)
LOWER_IS_BETTER = frozenset(CALIBRATION)
# Metrics a decision threshold cannot change: they rank scores or judge probabilities, they
# do not cut them.
THRESHOLD_FREE = ("roc_auc", "pr_auc", *CALIBRATION)
THRESHOLD_METRICS = tuple(m for m in METRICS if m not in THRESHOLD_FREE)
HEADLINE = ("f1", "roc_auc")
LABELS = {
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "balanced_accuracy": "balanced accuracy",
    "gmean": "G-mean",
    "mcc": "MCC",
    "brier": "Brier score",
    "log_loss": "log loss",
    "ece": "ECE",
}
# Equal-width probability bins of the expected calibration error and the reliability diagram.
CALIBRATION_BINS = 10
# Cut points a tuned threshold is chosen from: scikit-learn's TunedThresholdClassifierCV grid.
N_THRESHOLDS = 100


def sign(metric):
    """+1 where a higher ``metric`` is better, -1 where lower is (the calibration metrics)."""
    return -1 if metric in LOWER_IS_BETTER else 1


def score(y_true, y_pred, positive_score, positive, probability=None):
    """All metrics of one fold; ``positive_score`` is the classifier's score for ``positive``
    (it ranks), ``probability`` its probability of ``positive`` (calibration; default:
    ``positive_score``)."""
    is_positive = np.asarray(y_true) == positive
    probability = positive_score if probability is None else probability
    return {
        "f1": f1_score(y_true, y_pred, pos_label=positive, zero_division=0.0),
        "roc_auc": roc_auc_score(is_positive, positive_score),
        "pr_auc": average_precision_score(is_positive, positive_score),
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        "gmean": geometric_mean_score(y_true, y_pred),
        "mcc": matthews_corrcoef(y_true, y_pred),
        "brier": brier_score_loss(is_positive, probability),
        "log_loss": log_loss(is_positive, np.clip(probability, 1e-15, 1 - 1e-15), labels=[0, 1]),
        "ece": expected_calibration_error(is_positive, probability),
    }


def reliability_bins(is_positive, probability, n_bins=CALIBRATION_BINS):
    """Per equal-width probability bin: the number of rows, the sum of their predicted
    probabilities and the number of positives (sums, so that folds pool exactly)."""
    probability = np.asarray(probability, dtype=float)
    index = np.clip((probability * n_bins).astype(int), 0, n_bins - 1)
    return {
        "count": np.bincount(index, minlength=n_bins).tolist(),
        "predicted": np.bincount(index, weights=probability, minlength=n_bins).tolist(),
        "observed": np.bincount(index, weights=np.asarray(is_positive, float), minlength=n_bins)
        .astype(int)
        .tolist(),
    }


def expected_calibration_error(is_positive, probability, n_bins=CALIBRATION_BINS):
    """Expected calibration error (Naeini et al. 2015): the row-weighted mean over
    equal-width probability bins of |mean predicted probability - observed rate|."""
    bins = reliability_bins(is_positive, probability, n_bins)
    count = np.asarray(bins["count"], dtype=float)
    gap = np.abs(np.asarray(bins["predicted"]) - np.asarray(bins["observed"]))
    return float(gap.sum() / max(count.sum(), 1))


def threshold_scorers(positive):
    """scikit-learn scorers of the threshold-dependent metrics, ``positive`` as the positive
    class: the same numbers as ``score``, for ``cross_validate`` (the threshold methods tune
    with ``tuned_threshold``, which computes these metrics from confusion counts)."""
    return {
        "f1": make_scorer(f1_score, pos_label=positive, zero_division=0.0),
        "balanced_accuracy": make_scorer(balanced_accuracy_score),
        "gmean": make_scorer(geometric_mean_score),
        "mcc": make_scorer(matthews_corrcoef),
    }


def _f1(tp, fp, fn, tn):
    denominator = (tp + fn) + (tp + fp)  # f1_score's true_sum + pred_sum
    return np.divide(2.0 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)


def _recalls(tp, fp, fn, tn):
    return np.stack([tn / (tn + fp), tp / (tp + fn)])  # of the negative class, the positive


def _mcc(tp, fp, fn, tn):
    n = tp + fp + fn + tn
    t_sum, p_sum = np.stack([tn + fp, fn + tp]), np.stack([tn + fn, fp + tp])
    covariance = (tn + tp) * n - (t_sum * p_sum).sum(axis=0)
    spread = (n**2 - (p_sum * p_sum).sum(axis=0)) * (n**2 - (t_sum * t_sum).sum(axis=0))
    return np.divide(covariance, np.sqrt(spread), out=np.zeros_like(tp), where=spread != 0)


# Each threshold metric from the confusion counts (tp, fp, fn, tn) of many cut points at once.
FROM_COUNTS = {
    "f1": _f1,
    "balanced_accuracy": lambda *counts: np.mean(_recalls(*counts), axis=0),
    "gmean": lambda *counts: gmean(_recalls(*counts), axis=0),
    "mcc": _mcc,
}


def threshold_curve(is_positive, positive_score, metric, n_thresholds=N_THRESHOLDS):
    """``(thresholds, values)``: ``metric`` (a key of ``FROM_COUNTS``) of the decisions
    ``positive_score >= t`` at ``n_thresholds`` evenly spaced cut points ``t`` from the lowest
    score to the highest, the grid of scikit-learn's ``TunedThresholdClassifierCV``.

    Every cut point at once, from its confusion counts, with the formulas of ``f1_score``
    (zero_division 0), ``balanced_accuracy_score``, imblearn's ``geometric_mean_score`` and
    ``matthews_corrcoef`` in their order of operations, so the values equal theirs
    (tests/test_metrics.py); calling them once per cut point, as the scikit-learn scorer
    does, took 0.36 s of a 0.40 s tuning on seed_case, this takes under a millisecond.
    """
    if metric not in FROM_COUNTS:
        raise ValueError(f"no threshold curve for metric {metric!r}")
    is_positive = np.asarray(is_positive, dtype=bool)
    positive_score = np.asarray(positive_score, dtype=float)
    thresholds = np.linspace(positive_score.min(), positive_score.max(), n_thresholds)
    order = np.argsort(positive_score, kind="stable")
    below = np.searchsorted(positive_score[order], thresholds, side="left")  # score < t
    positives_below = np.concatenate([[0], np.cumsum(is_positive[order])])[below]
    n, n_positive = len(is_positive), int(is_positive.sum())
    tp = (n_positive - positives_below).astype(float)
    fp = (n - below).astype(float) - tp
    fn, tn = n_positive - tp, (n - n_positive) - fp
    with np.errstate(divide="ignore", invalid="ignore"):
        return thresholds, FROM_COUNTS[metric](tp, fp, fn, tn)


def tuned_threshold(is_positive, positive_score, metric, n_thresholds=N_THRESHOLDS):
    """The cut point of ``threshold_curve`` with the best ``metric`` (the first of ties, as
    ``TunedThresholdClassifierCV``). A score that is (nearly) constant, by the same
    ``np.isclose`` test as scikit-learn's, has no threshold to tune, and a NaN score none to
    compare: ValueError."""
    positive_score = np.asarray(positive_score, dtype=float)
    if not np.isfinite(positive_score).all():
        raise ValueError("the classifier gives threshold-tuning rows a NaN or infinite score")
    if np.isclose(positive_score.min(), positive_score.max()):
        raise ValueError(
            "the classifier gives every threshold-tuning row the same score: there is no "
            "decision threshold to tune"
        )
    thresholds, values = threshold_curve(is_positive, positive_score, metric, n_thresholds)
    return float(thresholds[np.argmax(values)])
