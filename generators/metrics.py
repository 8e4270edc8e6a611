"""Sample-quality metrics of generators: how synthetic rows compare with real ones.

Used by the samplers' checkpoint selection (``BaseTorchSampler``) and by the evaluation's
quality check (``synthbalance.pipelines.quality``), on rows already mapped into a common
feature space. All are two-sample statistics of real against synthetic rows:

- C2ST AUC: a cross-validated classifier telling real from synthetic (0.5 = indistinguishable);
- precision, recall, density, coverage: k-NN manifold estimates (Naeem et al. 2020, ``prdc``);
- memorisation: the share of synthetic rows closer to the generator's training rows than
  the 5th percentile of the unseen real rows' distances to those training rows, and the
  share of exact copies;
- leakage: the same test the other way round, against the unseen rows: a generator that
  (wrongly) saw them puts its samples on top of them.
"""

import contextlib
import io

import numpy as np
from joblib import parallel_config
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

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
    "c2st_auc", "precision", "recall", "density", "coverage", "fd", "fd_real", "diversity",
    "memorised", "exact_copies", "leaked",
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
    numbers of real and synthetic rows (the synthetic ones subsampled); the Fréchet distance
    compares every synthetic row with the held-out rows, ``fd_real`` the training rows with
    the same held-out rows (what a generator that reproduced its training rows' distribution
    scores: the finite-sample floor of ``fd``), and the diversity is the synthetic rows'
    spread over the training minority's (``diversity``).
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
        "fd": frechet_distance(validation, synthetic),
        "fd_real": frechet_distance(validation, train),
        "diversity": diversity(train, synthetic, random_state=rng),
        **memorisation(synthetic, train, validation),
        **leakage(synthetic, train, validation),
    }


def frechet_distance(real, synthetic, eps=1e-6):
    """Fréchet distance between Gaussians fitted to two sets of rows (the distance behind
    FID, Heusel et al. 2017, here on whatever features the rows are in):
    ||mu_r - mu_s||^2 + Tr(S_r + S_s - 2 (S_r S_s)^(1/2)). ``eps`` on the diagonals keeps the
    square root defined when a set has fewer rows than features."""
    from scipy import linalg

    real = np.asarray(real, dtype=np.float64)
    synthetic = np.asarray(synthetic, dtype=np.float64)
    if len(real) < 2 or len(synthetic) < 2:
        raise ValueError("the Fréchet distance needs at least 2 rows in each set")
    mu = real.mean(axis=0) - synthetic.mean(axis=0)
    eye = eps * np.eye(real.shape[1])
    cov_r = np.atleast_2d(np.cov(real, rowvar=False)) + eye
    cov_s = np.atleast_2d(np.cov(synthetic, rowvar=False)) + eye
    root = linalg.sqrtm(cov_r @ cov_s)
    distance = mu @ mu + np.trace(cov_r) + np.trace(cov_s) - 2 * np.trace(np.real(root))
    return float(max(distance, 0.0))


# Rows per set the diversity compares: pairwise distances grow with the square of it.
DIVERSITY_ROWS = 500


def mean_pairwise_distance(rows, *, max_rows=DIVERSITY_ROWS, random_state=None):
    """Mean Euclidean distance between the pairs of (at most ``max_rows``) ``rows``: how
    spread out a set is. A collapsed generator, whose every sample sits at the class
    centre, scores near 0."""
    from scipy.spatial.distance import pdist

    rows = np.asarray(rows, dtype=np.float64)
    if len(rows) > max_rows:
        rows = rows[check_random_state(random_state).choice(len(rows), max_rows, replace=False)]
    return float(pdist(rows).mean()) if len(rows) > 1 else 0.0


def diversity(real, synthetic, *, random_state=None):
    """The synthetic rows' mean pairwise distance over the real rows': about 1 when the
    samples spread like the real class, near 0 when they collapse to a point."""
    spread = mean_pairwise_distance(real, random_state=random_state)
    return mean_pairwise_distance(synthetic, random_state=random_state) / max(spread, 1e-12)
