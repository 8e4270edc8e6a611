"""A reject option for any classifier: "none of the above" when a row looks unlike every
known class.

The scores follow the out-of-distribution literature: maximum softmax probability
(Hendrycks & Gimpel 2017), maximum logit (Hendrycks et al. 2022), the negative energy
T * logsumexp(logits / T) (Liu et al. 2020), the Mahalanobis distance to the nearest class
mean on penultimate features with a shared covariance (Lee et al. 2018, "A simple unified
framework for detecting out-of-distribution samples"), the distance to the k-th nearest
training row on L2-normalised penultimate features (Sun et al. 2022, "Out-of-distribution
detection with deep nearest neighbors"), and two trained options: an extra
"other" class and a separate in- vs out-of-distribution detector, both trained on outlier
rows (a user's, or synthetic ones: ``synthbalance.generators.SMOTEOutliers``,
``CVAEOutliers``). The score functions use the sign convention of scikit-learn's outlier
detectors (higher = more in-distribution); pytorch-ood's detectors return the same numbers
negated.
"""

import math
from numbers import Integral, Real

import numpy as np
from scipy.special import logsumexp, softmax
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.covariance import LedoitWolf
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import LabelEncoder, normalize
from sklearn.utils import ClassifierTags, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

SCORES = ("msp", "max_logit", "energy", "mahalanobis", "knn", "other_class", "detector")
# The scores trained on outlier rows.
TRAINED_SCORES = TRAINED = ("other_class", "detector")
# The synthetic outlier sources named by a string.
# (their classes in synthbalance.generators, imported when one is fitted: torch loads then)
OUTLIER_SAMPLERS = {"smote": "SMOTEOutliers", "cvae": "CVAEOutliers"}


def msp_score(logits, temperature=1.0):
    """Maximum softmax probability of the temperature-scaled logits, per row."""
    return softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1).max(axis=1)


def max_logit_score(logits):
    """The largest logit of each row."""
    return np.asarray(logits, dtype=np.float64).max(axis=1)


def energy_score(logits, temperature=1.0):
    """Negative energy, ``T * logsumexp(logits / T)``, per row."""
    return temperature * logsumexp(np.asarray(logits, dtype=np.float64) / temperature, axis=1)


def mahalanobis_score(features, means, precision):
    """``-0.5 * min_k (f - mu_k)^T P (f - mu_k)``: minus half the squared Mahalanobis distance
    of each row of ``features`` to its nearest class mean (rows of ``means``), ``P`` the
    shared precision matrix."""
    features = np.asarray(features, dtype=np.float64)
    distances = np.stack(
        [np.einsum("ij,jk,ik->i", features - mean, precision, features - mean) for mean in means],
        axis=1,
    )
    return -0.5 * distances.min(axis=1)


def knn_score(features, neighbors):
    """Minus the distance of each row of ``features`` to its k-th nearest neighbour among
    the rows ``neighbors`` was fitted on (k: its ``n_neighbors``)."""
    distances, _ = neighbors.kneighbors(features)
    return -distances[:, -1]


def calibration_split(y, validation_fraction, random_state):
    """``(fit_rows, calibration_rows)``: a stratified split of the known rows, the second
    holding ``validation_fraction`` of them, on which the threshold is chosen."""
    split = StratifiedShuffleSplit(
        n_splits=1, test_size=validation_fraction, random_state=random_state
    )
    return next(split.split(np.zeros((len(y), 1)), y))


class RejectOptionClassifier(MetaEstimatorMixin, BaseEstimator):
    """Wrap a classifier with a reject option: ``predict`` returns the class, or
    ``unknown_label`` for rows whose score falls below a threshold.

    ``fit`` splits the known rows (stratified): the estimator (and whatever the score
    needs) is trained on ``1 - validation_fraction`` of them, and the threshold is the
    ``1 - coverage`` quantile of the scores of the rest, so that about ``coverage`` of known
    rows is accepted.

    Parameters
    ----------
    estimator : classifier with ``fit`` and ``predict_proba``
        Logits are read from its ``logits(X)`` (``CNNClassifier``) or ``decision_function``;
        penultimate features from its ``embed(X)`` (``CNNClassifier``), else the input
        features are used.
    score : {"msp", "max_logit", "energy", "mahalanobis", "knn", "other_class", "detector"}
        ``"msp"``: maximum softmax probability; ``"max_logit"``; ``"energy"``:
        ``T * logsumexp(logits / T)``; ``"mahalanobis"``: minus half the squared distance to
        the nearest class mean (shared covariance); ``"knn"``: minus the distance to the
        ``n_neighbors``-th nearest fit row, on the L2-normalised penultimate features (the
        input features for an estimator without ``embed``; no assumption on the classes'
        shape); ``"other_class"``: the estimator trained
        with the outliers as one more class, scored ``1 - P(other)``; ``"detector"``: a
        separate binary model of known rows against the outliers, scored ``P(known)``.
    coverage : float in (0, 1), default=0.95
        Share of known rows to accept.
    outliers : {"smote", "cvae"}, array-like or sampler, default="smote"
        For the trained scores: outlier rows given as an array (n_rows, n_features), or a
        sampler with ``fit(X, y)`` and ``sample(n)`` fitted on the known training rows
        (``"smote"``: ``SMOTEOutliers()``, ``"cvae"``: ``CVAEOutliers()``).
    n_outliers : int or float, default=1.0
        Rows drawn from a sampler: a number, or a multiple of the rows trained on.
    detector : classifier or None, default=None
        The binary model of ``score="detector"``; default: a clone of ``estimator``.
    covariance_estimator : covariance estimator or None, default=None
        For ``score="mahalanobis"``, fitted on the class-centred features; default
        ``LedoitWolf()``.
    temperature : float, default=1.0
        T of ``"msp"`` and ``"energy"``.
    n_neighbors : int, default=5
        k of ``score="knn"``.
    validation_fraction : float in (0, 1), default=0.2
        Share of the known rows held out to choose the threshold.
    unknown_label : default=-1
        What ``predict`` returns for a rejected row; must not be a class label.
    random_state : int, RandomState instance or None
        The split and the synthetic outliers.

    ``score`` names the parameter, so the wrapper has no ``score(X, y)`` method of
    scikit-learn's classifiers: pass ``scoring=`` to model selection tools.

    Attributes
    ----------
    classes_ : ndarray
        The known classes.
    estimator_ : classifier
        Trained on the fit rows with their labels as given (and, for ``"other_class"``,
        the outliers labelled ``other_label_``), so that label-keyed settings such as
        ``class_weight`` or a multi-head model's ``base_class`` keep their meaning.
    other_label_ : label or None
        ``score="other_class"`` only: the outliers' label, no known class (one more than
        the largest numeric class, else the text ``"other"``, prefixed with ``_`` until it
        is none of the classes).
    detector_ : classifier
        ``score="detector"`` only.
    means_, precision_ : ndarray
        ``score="mahalanobis"`` only: class means and shared precision of the features.
    neighbors_ : NearestNeighbors
        ``score="knn"`` only: fitted on the fit rows' features (normalised penultimate
        features, or the input features).
    threshold_ : float
        Rows scoring at least this are accepted.
    n_outliers_ : int
        Outlier rows trained on (0 for the scores that train none).
    outlier_sampler_ : object or None
        The fitted outlier sampler (trained scores whose outliers are drawn from one).
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "score": [StrOptions(set(SCORES))],
        "coverage": [Interval(Real, 0, 1, closed="neither")],
        "outliers": [
            StrOptions(set(OUTLIER_SAMPLERS)),
            "array-like",
            HasMethods(["fit", "sample"]),
        ],
        "n_outliers": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, None, closed="neither"),
        ],
        "detector": [HasMethods(["fit", "predict_proba"]), None],
        "covariance_estimator": [HasMethods(["fit"]), None],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "unknown_label": "no_validation",
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator,
        *,
        score="msp",
        coverage=0.95,
        outliers="smote",
        n_outliers=1.0,
        detector=None,
        covariance_estimator=None,
        temperature=1.0,
        n_neighbors=5,
        validation_fraction=0.2,
        unknown_label=-1,
        random_state=None,
    ):
        self.estimator = estimator
        self.score = score
        self.coverage = coverage
        self.outliers = outliers
        self.n_outliers = n_outliers
        self.detector = detector
        self.covariance_estimator = covariance_estimator
        self.temperature = temperature
        self.n_neighbors = n_neighbors
        self.validation_fraction = validation_fraction
        self.unknown_label = unknown_label
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Train on the known rows ``X`` of classes ``y`` and choose the threshold.

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs at least two known classes.")
        if any(np.asarray(self.classes_ == self.unknown_label, dtype=bool).ravel()):
            raise ValueError(f"unknown_label={self.unknown_label!r} is one of the classes")
        if self.score in ("max_logit", "energy") and not has_logits(self.estimator):
            raise ValueError(
                f"score={self.score!r} needs logits: {type(self.estimator).__name__} has "
                "neither logits nor decision_function; use score='msp'"
            )
        self.check_rows(y)
        rng = check_random_state(self.random_state)
        fit_rows, calibration_rows = calibration_split(y, self.validation_fraction, rng)
        X_fit, y_fit = X[fit_rows], y[fit_rows]
        codes = encoder.transform(y_fit)
        self.outlier_sampler_ = None
        X_out = self._outliers(X_fit, codes, rng) if self.score in TRAINED else X_fit[:0]
        self.n_outliers_ = len(X_out)
        n_classes = len(self.classes_)
        # the estimator learns the labels as given: its label-keyed settings (class_weight,
        # a multi-head model's base_class) name them
        self.other_label_ = other_label(self.classes_) if self.score == "other_class" else None
        X_train, y_train = X_fit, y_fit
        if self.score == "other_class":
            X_train = np.vstack([X_fit, X_out])
            y_train = np.concatenate([y_fit, [self.other_label_] * len(X_out)])
        self.estimator_ = clone(self.estimator).fit(X_train, y_train)
        if self.score == "detector":
            detector = _known_as_base(self.estimator if self.detector is None else self.detector)
            known = np.concatenate([np.ones(len(X_fit)), np.zeros(len(X_out))])
            self.detector_ = detector.fit(np.vstack([X_fit, X_out]), known)
        if self.score == "mahalanobis":
            features = _features(self.estimator_, X_fit)
            self.means_ = np.stack([features[codes == c].mean(axis=0) for c in range(n_classes)])
            covariance = self.covariance_estimator or LedoitWolf()
            self.precision_ = clone(covariance).fit(features - self.means_[codes]).precision_
        if self.score == "knn":
            features = _knn_features(self.estimator_, X_fit)
            self.neighbors_ = NearestNeighbors(n_neighbors=self.n_neighbors).fit(features)
        self.threshold_ = -np.inf
        scores = self.score_samples(X[calibration_rows])
        self.threshold_ = float(np.quantile(scores, 1 - self.coverage))
        return self

    def __sklearn_tags__(self):
        # a classifier, but not a ClassifierMixin: its ``score`` is the parameter above
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.target_tags.required = True
        return tags

    def _outliers(self, X_fit, codes, rng):
        """The outlier rows to train on: the given ones, or drawn from a sampler fitted on
        the fit rows."""
        if not isinstance(self.outliers, str) and not hasattr(self.outliers, "sample"):
            X_out = check_array(self.outliers, dtype=np.float64)
            if X_out.shape[1] != X_fit.shape[1]:
                raise ValueError(
                    f"outliers have {X_out.shape[1]} features; the data has {X_fit.shape[1]}"
                )
            return X_out
        if isinstance(self.outliers, str):
            from synthbalance import generators

            kind = getattr(generators, OUTLIER_SAMPLERS[self.outliers])
            accepted = kind().get_params()
            image_shape = _param(self.estimator, "image_shape")
            sampler = kind(**({"image_shape": image_shape} if "image_shape" in accepted else {}))
        else:
            sampler = clone(self.outliers)
        if "random_state" in sampler.get_params() and sampler.get_params()["random_state"] is None:
            sampler.set_params(random_state=rng.randint(2**31 - 1))
        n = self.n_outliers
        n = n if isinstance(n, Integral) else max(1, int(round(n * len(X_fit))))
        self.outlier_sampler_ = sampler.fit(X_fit, codes)
        return np.asarray(sampler.sample(n), dtype=np.float64)

    def score_samples(self, X):
        """How much each row looks like the known classes: higher is more in-distribution.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        if self.score == "msp":
            return msp_score(self._logits(X), self.temperature)
        if self.score == "max_logit":
            return max_logit_score(_logits(self.estimator_, X))
        if self.score == "energy":
            return energy_score(_logits(self.estimator_, X), self.temperature)
        if self.score == "mahalanobis":
            return mahalanobis_score(_features(self.estimator_, X), self.means_, self.precision_)
        if self.score == "knn":
            return knn_score(_knn_features(self.estimator_, X), self.neighbors_)
        if self.score == "other_class":
            other = self._columns([self.other_label_])
            return 1.0 - self.estimator_.predict_proba(X)[:, other[0]]
        known = list(self.detector_.classes_).index(1.0)
        return self.detector_.predict_proba(X)[:, known]

    def decision_function(self, X):
        """``score_samples(X) - threshold_``: non-negative for accepted rows."""
        return self.score_samples(X) - self.threshold_

    def predict_proba(self, X):
        """Probabilities of the known classes (columns as ``classes_``), without rejection;
        for ``"other_class"`` renormalised over the known classes."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        proba = self.estimator_.predict_proba(X)[:, self._columns(self.classes_)]
        return proba / np.maximum(proba.sum(axis=1, keepdims=True), np.finfo(float).tiny)

    def _columns(self, labels):
        """The columns of ``estimator_.predict_proba`` that hold ``labels``."""
        fitted = list(self.estimator_.classes_)
        return [fitted.index(label) for label in labels]

    def check_rows(self, y):
        """Refuse known rows of classes ``y`` too few for ``fit``'s split (the threshold
        part holds ``ceil(validation_fraction * n)`` rows; each part needs a row of every
        class) or for ``knn``'s ``n_neighbors`` among the fit part: the ValueError ``fit``
        would raise, before anything is trained (``check_open_set`` calls it for every
        training part of a run)."""
        counts = np.unique(np.asarray(y), return_counts=True)[1]
        n = int(counts.sum())
        n_calibration = math.ceil(self.validation_fraction * n)
        n_fit = n - n_calibration
        if min(n_fit, n_calibration) < len(counts) or counts.min() < 2:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} splits {n} known rows into "
                f"{n_fit} to fit and {n_calibration} to choose the threshold; each part needs "
                f"a row of each of the {len(counts)} classes (the smallest class has "
                f"{counts.min()} row(s))"
            )
        if self.score == "knn" and self.n_neighbors > n_fit:
            raise ValueError(
                f"score='knn' with n_neighbors={self.n_neighbors} needs at least that many "
                f"fit rows; {n} known rows leave {n_fit} (validation_fraction="
                f"{self.validation_fraction})"
            )

    def predict(self, X):
        """The most probable known class, or ``unknown_label`` where the row is rejected."""
        check_is_fitted(self)
        closed = self.classes_[self.predict_proba(X).argmax(axis=1)]
        accepted = self.decision_function(X) >= 0
        unknown = np.asarray(self.unknown_label)
        numeric = {closed.dtype.kind, unknown.dtype.kind} <= set("biuf")
        dtype = np.result_type(closed, unknown) if numeric else object
        labels = closed.astype(dtype)
        labels[~accepted] = self.unknown_label
        return labels

    def _logits(self, X):
        """Logits of the estimator, or (for ``"msp"`` on an estimator without logits) its log
        probabilities, which give the same softmax."""
        if has_logits(self.estimator_):
            return _logits(self.estimator_, X)
        with np.errstate(divide="ignore"):
            return np.log(self.estimator_.predict_proba(X))


def other_label(classes):
    """A label that is none of ``classes``: one more than the largest for numeric classes,
    else the text ``"other"``, prefixed with ``_`` until it is new."""
    labels = np.asarray(classes).tolist()
    if all(isinstance(label, Real) for label in labels):
        return max(labels) + 1
    label, taken = "other", {str(label) for label in labels}
    while label in taken:
        label = f"_{label}"
    return label


def has_logits(estimator):
    """Whether ``estimator`` gives logits: a ``logits`` method or ``decision_function``."""
    return hasattr(estimator, "logits") or hasattr(estimator, "decision_function")


def _logits(estimator, X):
    """``estimator.logits(X)``, else its ``decision_function`` (a binary one as the two
    logits ``(0, d)``, whose softmax is the logistic probability)."""
    if hasattr(estimator, "logits"):
        return estimator.logits(X)
    decision = np.asarray(estimator.decision_function(X), dtype=np.float64)
    if decision.ndim == 1:
        return np.column_stack([np.zeros_like(decision), decision])
    return decision


def _features(estimator, X):
    """Penultimate features (``estimator.embed(X)``), else the input features."""
    if hasattr(estimator, "embed"):
        return np.asarray(estimator.embed(X), dtype=np.float64)
    return np.asarray(X, dtype=np.float64)


def _knn_features(estimator, X):
    """What ``score="knn"`` measures distances on: the L2-normalised penultimate features
    (Sun et al. 2022: on the unit sphere the distances compare directions, which a network's
    feature norms would swamp), or the input features as they are for an estimator without
    ``embed`` (normalising raw columns would merge rows that differ only in scale)."""
    features = _features(estimator, X)
    return normalize(features) if hasattr(estimator, "embed") else features


def _known_as_base(detector):
    """A clone of ``detector`` for the known (1) against outlier (0) rows: its
    ``base_class`` parameters (a multi-head model's, which name a class of the data) set to
    the known rows' label, the outliers its one head."""
    detector = clone(detector)
    keys = [k for k in detector.get_params() if k == "base_class" or k.endswith("__base_class")]
    return detector.set_params(**dict.fromkeys(keys, 1.0))


def _param(estimator, name):
    """The first non-None parameter ``name`` of ``estimator`` (nested ones included)."""
    params = estimator.get_params()
    return next(
        (v for k, v in params.items() if (k == name or k.endswith(f"__{name}")) and v is not None),
        None,
    )
