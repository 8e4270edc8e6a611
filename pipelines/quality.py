"""Quality metrics of generators, computed on the class being generated.

All compare synthetic minority rows with real minority rows the generator never saw (a
validation part split off the training part's minority before the generator is fitted),
in the feature space that ``feature_space`` fits on the generator's training rows:
standardised features for tables; for images, the standardised penultimate-layer features
of a small CNN (``synthbalance.classifiers.CNNClassifier``) trained on those rows to tell the
classes apart. Distances between raw pixels say little about what an image shows; the usual fix,
features of a network pretrained on ImageNet (as in FID or the PRDC paper), is not open
to us: no pretrained weights can be downloaded here, and they would not fit 8 x 8 grey
digits anyway. A CNN trained per fold costs a second or so on small image sets and sees
neither the held-out rows nor any synthetic one, so all three sets are embedded alike.

The metrics:

- C2ST AUC: a cross-validated classifier telling real from synthetic (0.5 = indistinguishable);
- precision, recall, density, coverage: k-NN manifold estimates (Naeem et al. 2020, ``prdc``);
- memorisation: the share of synthetic rows closer to the generator's training rows than
  the 5th percentile of the real validation rows' distances to those training rows, and the
  share of exact copies;
- leakage: the same test the other way round, against the validation rows: a generator that
  (wrongly) saw them puts its samples on top of them.
"""

import contextlib
import io

import numpy as np
from joblib import parallel_config
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from synthbalance.pipelines.datasets import one_hot_columns

# The C2ST's boosting: 30 trees with a learning rate of 0.3 (about the total shrinkage of
# scikit-learn's 100 x 0.1) cost a third as much and detect shifted, rescaled, correlated,
# discretised or collapsed synthetic rows as well as 100 trees do on 10-160 rows (measured
# for this change); fewer folds were cheaper still but lost power on subtle differences.
C2ST_MAX_ITER = 30
C2ST_LEARNING_RATE = 0.3


def c2st_auc(real, synthetic, *, n_splits=5, random_state=None):
    """Classifier two-sample test: how well a classifier tells synthetic rows from real ones.

    The larger of the two sets is subsampled, without replacement, to the size of the
    smaller one; a gradient-boosting classifier (``C2ST_MAX_ITER`` trees) on standardised
    features (the scaler is fitted inside each fold) is then cross-validated on real
    (label 0) against synthetic (label 1) rows.

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
        StandardScaler(),
        # a leaf size fit for small sets: the default 20 cannot split 5 + 5 rows at all
        HistGradientBoostingClassifier(
            max_iter=C2ST_MAX_ITER,
            learning_rate=C2ST_LEARNING_RATE,
            min_samples_leaf=max(2, min(20, len(X) // 20)),
            random_state=seed,
        ),
    )
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with threadpool_limits(limits=1, user_api="openmp"):
        scores = cross_val_score(classifier, X, y, cv=cv, scoring="roc_auc")
    return float(scores.mean())


QUALITY_METRICS = (
    "c2st_auc", "precision", "recall", "density", "coverage", "memorised", "exact_copies",
    "leaked",
)  # fmt: skip


def prdc_scores(real, synthetic, *, nearest_k=5):
    """Precision, recall, density and coverage of ``synthetic`` against ``real`` (``prdc``).

    ``prdc`` asks scikit-learn for its distances with ``n_jobs=8``; on sets this small,
    starting those workers took 40-100 ms a call against 1 ms for the distances, so they
    run in the calling thread (the sequential joblib backend), with the same results.
    """
    from prdc import compute_prdc

    # prdc prints the set sizes
    with contextlib.redirect_stdout(io.StringIO()), parallel_config(backend="sequential"):
        scores = compute_prdc(
            np.asarray(real, dtype=np.float32), np.asarray(synthetic, dtype=np.float32), nearest_k
        )
    return {name: float(value) for name, value in scores.items()}


def memorisation(synthetic, train, validation, *, percentile=5, atol=1e-8):
    """How much ``synthetic`` copies the generator's ``train`` rows.

    The distance to the closest training row (DCR) of each synthetic row is compared with
    the DCRs of real ``validation`` rows, which the generator never saw: ``memorised`` is
    the share of synthetic rows closer than the validation DCRs' ``percentile``-th
    percentile (about ``percentile`` % for a generator that does not copy), and
    ``exact_copies`` the share at distance zero.
    """
    synthetic_dcr, real_dcr = _closest(train, synthetic, validation)
    copies = synthetic_dcr <= atol
    return {
        "memorised": float(np.mean(copies | (synthetic_dcr < np.percentile(real_dcr, percentile)))),
        "exact_copies": float(np.mean(copies)),
    }


def leakage(synthetic, train, validation, *, percentile=5, atol=1e-8):
    """Share of ``synthetic`` rows closer to a ``validation`` row than the
    ``percentile``-th percentile of the training rows' distances to the validation rows:
    about ``percentile`` % for a generator that never saw them, near 100 % for one that did."""
    synthetic_dcr, real_dcr = _closest(validation, synthetic, train)
    too_close = (synthetic_dcr <= atol) | (synthetic_dcr < np.percentile(real_dcr, percentile))
    return {"leaked": float(np.mean(too_close))}


def _closest(reference, *queries):
    """Distance of every row of each query set to its nearest ``reference`` row."""
    neighbours = NearestNeighbors(n_neighbors=1).fit(np.asarray(reference, dtype=np.float64))
    return [neighbours.kneighbors(np.asarray(q, dtype=np.float64))[0][:, 0] for q in queries]


def minority_quality(train, validation, synthetic, *, nearest_k=5, random_state=None):
    """Every quality metric of ``synthetic`` minority rows, in one dict.

    ``train`` are the minority rows the generator was fitted on, ``validation`` held-out
    real minority rows; all three are already standardised. C2ST and PRDC compare equal
    numbers of real and synthetic rows (the synthetic ones subsampled).
    """
    rng = check_random_state(random_state)
    n = min(len(validation), len(synthetic))
    sample = synthetic[rng.choice(len(synthetic), n, replace=False)]
    if n < 3:
        raise ValueError(f"quality metrics need at least 3 real and synthetic rows, got {n}")
    k = min(nearest_k, n - 2)  # prdc looks up the (k + 1)-th neighbour among n rows
    return {
        "c2st_auc": c2st_auc(validation, sample, n_splits=min(5, n), random_state=rng),
        **prdc_scores(validation, sample, nearest_k=k),
        **memorisation(synthetic, train, validation),
        **leakage(synthetic, train, validation),
    }


# The feature CNN: small and briefly trained; the features describe, they need not classify.
FEATURE_CNN = dict(channels=(16, 32), epochs=10, batch_size=64, lr=3e-3)


class CNNFeatures(TransformerMixin, BaseEstimator):
    """Standardised penultimate-layer features of a small CNN trained on labelled images.

    The CNN (``synthbalance.classifiers.CNNClassifier``) learns to tell the classes of ``y``
    apart, with
    balanced class weights so that the minority shapes the features as much as the
    majority; ``transform`` returns its pooled last-block activations, standardised on the
    training rows. A few epochs suffice: the features need to describe the images, not
    to classify them at their best.

    Parameters
    ----------
    cnn : CNNClassifier or None, default=None
        The network to train (cloned); None: ``CNNClassifier(**FEATURE_CNN)``, the image
        shape inferred from the rows.
    random_state : int, RandomState instance or None
        Seeds the CNN when its own ``random_state`` is None.

    Attributes
    ----------
    cnn_ : CNNClassifier
    scaler_ : StandardScaler
        Fitted on the embedded training rows.
    """

    def __init__(self, cnn=None, random_state=None):
        self.cnn = cnn
        self.random_state = random_state

    def fit(self, X, y):
        from synthbalance.classifiers import CNNClassifier

        cnn = clone(self.cnn or CNNClassifier(**FEATURE_CNN))
        if cnn.random_state is None:
            cnn.set_params(random_state=self.random_state)
        self.cnn_ = cnn.fit(X, y, sample_weight=compute_sample_weight("balanced", y))
        self.scaler_ = StandardScaler().fit(self.cnn_.embed(X))
        return self

    def transform(self, X):
        check_is_fitted(self)
        return self.scaler_.transform(self.cnn_.embed(X))


def feature_space(
    X_train, y_train, *, image_shape=None, categorical=(), categories=None, random_state=None
):
    """The fitted transformer whose ``transform`` maps rows into the space the quality
    metrics are computed in.

    Tables (``image_shape`` None): a ``StandardScaler`` fitted on ``X_train``, after a
    one-hot encoding of the ``categorical`` columns (category codes; ``categories``, their
    possible codes, default to those in ``X_train``). Images: a
    ``CNNFeatures`` trained on ``X_train`` and its labels ``y_train`` (no pretrained weights
    can be downloaded; see the module docstring). Fit it on the rows the generator is
    fitted on, so that held-out and synthetic rows are both unseen by it.
    """
    if image_shape is None:
        if not len(categorical):
            return StandardScaler().fit(X_train)
        one_hot = one_hot_columns(categorical, categories)
        return Pipeline([("one_hot", one_hot), ("scale", StandardScaler())]).fit(X_train)
    from synthbalance.classifiers import CNNClassifier

    cnn = CNNClassifier(image_shape=tuple(image_shape), **FEATURE_CNN)
    return CNNFeatures(cnn, random_state=random_state).fit(X_train, y_train)
