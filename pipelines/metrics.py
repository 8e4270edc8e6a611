"""Per-fold scores: scikit-learn's and imbalanced-learn's implementations, minority as positive.

Besides the decision and ranking metrics, three calibration metrics of the minority
probability (Brier score, log loss, expected calibration error): over-sampling shifts the
class prior the classifier learns, and with it every probability it gives (van den Goorbergh
et al. 2022, "The harm of class imbalance corrections for risk prediction models"). For them
lower is better; ``sign`` says which way a metric improves.
"""

import numpy as np
from imblearn.metrics import geometric_mean_score
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
    class: what a tuned threshold can maximise, and the same numbers as ``score``."""
    return {
        "f1": make_scorer(f1_score, pos_label=positive, zero_division=0.0),
        "balanced_accuracy": make_scorer(balanced_accuracy_score),
        "gmean": make_scorer(geometric_mean_score),
        "mcc": make_scorer(matthews_corrcoef),
    }
