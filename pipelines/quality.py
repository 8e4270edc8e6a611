"""Quality metrics of generators: how close their synthetic rows are to real ones.

This module will hold the generator quality metrics; so far it has the classifier
two-sample test.
"""

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits


def c2st_auc(real, synthetic, *, n_splits=5, random_state=None):
    """Classifier two-sample test: how well a classifier tells synthetic rows from real ones.

    The larger of the two sets is subsampled, without replacement, to the size of the
    smaller one; a gradient-boosting classifier on standardised features (the scaler is
    fitted inside each fold) is then cross-validated on real (label 0) against synthetic
    (label 1) rows.

    The classifier runs on one OpenMP thread: the two sets are small, so threads gain
    nothing, and they slow it down many times over when other processes share the cores.

    Parameters
    ----------
    real : array-like of shape (n_real, n_features)
    synthetic : array-like of shape (n_synthetic, n_features)
    n_splits : int, default=5
        Folds of the stratified cross-validation.
    random_state : int, RandomState instance or None
        Seeds the subsampling, the fold shuffling and the classifier.

    Returns
    -------
    auc : float
        Mean ROC AUC over the folds: 0.5 when the classifier cannot separate the two sets,
        1.0 when the synthetic rows are trivially told apart.
    """
    real = np.asarray(real, dtype=np.float64)
    synthetic = np.asarray(synthetic, dtype=np.float64)
    if real.ndim != 2 or synthetic.ndim != 2 or real.shape[1] != synthetic.shape[1]:
        raise ValueError(
            f"real and synthetic must be 2-D with the same number of columns, got shapes "
            f"{real.shape} and {synthetic.shape}."
        )
    n = min(len(real), len(synthetic))
    if n < n_splits:
        raise ValueError(f"need at least n_splits={n_splits} rows in each set, got {n}.")
    rng = check_random_state(random_state)
    real = real[rng.choice(len(real), n, replace=False)]
    synthetic = synthetic[rng.choice(len(synthetic), n, replace=False)]
    X = np.vstack([real, synthetic])
    y = np.repeat([0, 1], n)
    seed = rng.randint(np.iinfo(np.int32).max)
    classifier = make_pipeline(
        StandardScaler(), HistGradientBoostingClassifier(max_iter=100, random_state=seed)
    )
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with threadpool_limits(limits=1, user_api="openmp"):
        scores = cross_val_score(classifier, X, y, cv=cv, scoring="roc_auc")
    return float(scores.mean())
