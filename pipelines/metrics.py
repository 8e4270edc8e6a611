"""Per-fold scores: scikit-learn's and imbalanced-learn's implementations, minority as positive."""

import numpy as np
from imblearn.metrics import geometric_mean_score
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    make_scorer,
    matthews_corrcoef,
    roc_auc_score,
)

METRICS = ("f1", "roc_auc", "pr_auc", "balanced_accuracy", "gmean", "mcc")
# Metrics a decision threshold cannot change: they rank scores, they do not cut them.
THRESHOLD_FREE = ("roc_auc", "pr_auc")
THRESHOLD_METRICS = tuple(m for m in METRICS if m not in THRESHOLD_FREE)
HEADLINE = ("f1", "roc_auc")
LABELS = {
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "balanced_accuracy": "balanced accuracy",
    "gmean": "G-mean",
    "mcc": "MCC",
}


def score(y_true, y_pred, positive_score, positive):
    """All metrics of one fold; ``positive_score`` is the classifier's score for ``positive``."""
    is_positive = np.asarray(y_true) == positive
    return {
        "f1": f1_score(y_true, y_pred, pos_label=positive, zero_division=0.0),
        "roc_auc": roc_auc_score(is_positive, positive_score),
        "pr_auc": average_precision_score(is_positive, positive_score),
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        "gmean": geometric_mean_score(y_true, y_pred),
        "mcc": matthews_corrcoef(y_true, y_pred),
    }


def threshold_scorers(positive):
    """scikit-learn scorers of the threshold-dependent metrics, ``positive`` as the positive
    class: what a tuned threshold can maximise, and the same numbers as ``score``."""
    return {
        "f1": make_scorer(f1_score, pos_label=positive, zero_division=0.0),
        "balanced_accuracy": make_scorer(balanced_accuracy_score),
        "gmean": make_scorer(geometric_mean_score),
        "mcc": make_scorer(matthews_corrcoef),
    }
