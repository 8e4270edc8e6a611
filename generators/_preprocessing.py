"""Tabular preprocessing for the torch generators: original feature space <-> network space."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import OneHotEncoder, QuantileTransformer, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

# Most quantiles a ``numeric="quantile"`` transform keeps (scikit-learn's default), and the
# fewest rows per quantile (TabDDPM's choice: n_rows // 30, at least 10).
MAX_QUANTILES, ROWS_PER_QUANTILE = 1000, 30


class TabularPreprocessor(TransformerMixin, BaseEstimator):
    """Map table rows to a generator's network space and generated rows back.

    Numeric features are standardised (``numeric="standard"``) or mapped to a standard
    normal by their quantiles (``numeric="quantile"``: scikit-learn's
    ``QuantileTransformer``, as TabDDPM prepares its numeric columns, which makes skewed
    and multi-modal columns Gaussian-shaped; its inverse stays in the range seen in
    ``fit``); categorical ones (``categorical_features``: their
    indices or a boolean mask; their values are category codes or labels) are one-hot
    encoded, one block per feature after the numeric ones. ``inverse_transform`` takes the
    largest entry of each block, so generated rows only ever hold categories seen in
    ``fit``, and returns rows in the original column order and in the dtype seen at
    ``fit`` (integers are rounded). Fitted inside a sampler on the data it is given (the
    training fold), never on test data.

    Attributes
    ----------
    categorical_ : ndarray of int
        Indices of the categorical features.
    scaler_ : StandardScaler, QuantileTransformer or None
        Fitted on the numeric features (None without any).
    encoder_ : OneHotEncoder or None
        Fitted on the categorical features.
    categorical_slices_ : list of slice
        Each categorical feature's one-hot block in the network space.
    dtype_ : numpy.dtype
        Dtype of the data seen in ``fit``.
    """

    def __init__(self, categorical_features=None, numeric="standard"):
        self.categorical_features = categorical_features
        self.numeric = numeric

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=None)
        self.dtype_ = X.dtype
        self.categorical_ = _indices(self.categorical_features, X.shape[1])
        self.numeric_ = np.setdiff1d(np.arange(X.shape[1]), self.categorical_)
        self.scaler_ = None
        if len(self.numeric_):
            self.scaler_ = self._scaler(len(X)).fit(X[:, self.numeric_].astype(np.float64))
        self.encoder_, self.categorical_slices_ = None, []
        if len(self.categorical_):
            self.encoder_ = OneHotEncoder(sparse_output=False, dtype=np.float32)
            self.encoder_.fit(X[:, self.categorical_])
            start = len(self.numeric_)
            for categories in self.encoder_.categories_:
                self.categorical_slices_.append(slice(start, start + len(categories)))
                start += len(categories)
        return self

    def _scaler(self, n_rows):
        if self.numeric == "standard":
            return StandardScaler()
        if self.numeric != "quantile":
            raise ValueError(f"numeric must be 'standard' or 'quantile', got {self.numeric!r}")
        n_quantiles = min(max(n_rows // ROWS_PER_QUANTILE, 10), MAX_QUANTILES, n_rows)
        # every row counts (no subsampling), so the transform is deterministic
        return QuantileTransformer(
            n_quantiles=n_quantiles, output_distribution="normal", subsample=None
        )

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=None)
        numeric = X[:, self.numeric_].astype(np.float64)
        if self.scaler_ is not None:
            numeric = self.scaler_.transform(numeric)
        if self.encoder_ is None:
            return numeric.astype(np.float32)
        categorical = X[:, self.categorical_]
        for j, categories in enumerate(self.encoder_.categories_):
            unseen = np.setdiff1d(categorical[:, j], categories)
            if len(unseen):
                raise ValueError(
                    f"feature {self.categorical_[j]} has categories {unseen.tolist()[:5]} "
                    f"not seen in fit (seen: {categories.tolist()[:10]})"
                )
        one_hot = self.encoder_.transform(categorical)
        return np.hstack([numeric.astype(np.float32), one_hot])

    def project(self, Z):
        """Network-space rows with each one-hot block replaced by the one-hot of its
        largest entry: the rows ``inverse_transform`` decodes, still in network space."""
        Z = np.array(Z, dtype=np.float32)
        for block in self.categorical_slices_:
            winner = Z[:, block].argmax(axis=1)
            Z[:, block] = 0.0
            Z[np.arange(len(Z)), block.start + winner] = 1.0
        return Z

    def inverse_transform(self, Z):
        check_is_fitted(self)
        Z = np.asarray(Z)
        X = np.empty((len(Z), self.n_features_in_), dtype=np.float64)
        if self.scaler_ is not None:
            X[:, self.numeric_] = self.scaler_.inverse_transform(
                Z[:, : len(self.numeric_)].astype(np.float64)
            )
        if np.issubdtype(self.dtype_, np.integer):
            X = np.rint(X)
        if self.encoder_ is not None:
            X = X.astype(object) if self.dtype_.kind == "O" else X
            for j, block in enumerate(self.categorical_slices_):
                X[:, self.categorical_[j]] = self.encoder_.categories_[j][
                    Z[:, block].argmax(axis=1)
                ]
        return X.astype(self.dtype_, copy=False)


def _indices(features, n_features):
    """Column indices from None, a boolean mask or indices; out-of-range ones are an error."""
    if features is None:
        return np.array([], dtype=int)
    features = np.asarray(features)
    if features.dtype == bool:
        if len(features) != n_features:
            raise ValueError(
                f"categorical_features mask has {len(features)} entries for {n_features} features"
            )
        return np.flatnonzero(features)
    features = features.astype(int).ravel()
    if ((features < 0) | (features >= n_features)).any():
        raise ValueError(
            f"categorical_features {features.tolist()} out of range for {n_features} features"
        )
    return np.unique(features)


class ImagePreprocessor(TransformerMixin, BaseEstimator):
    """Map flattened images to [0, 1] by the pixel range seen in ``fit``, and back.

    ``inverse_transform`` clips to that range, so generated pixels are always valid, and
    restores the dtype seen at ``fit`` (integers are rounded).

    Attributes
    ----------
    low_, high_ : float
        Smallest and largest pixel value seen.
    dtype_ : numpy.dtype
    """

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=None)
        self.dtype_ = X.dtype
        self.low_, self.high_ = float(X.min()), float(X.max())
        self.categorical_slices_ = []  # pixels are all numeric
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=None).astype(np.float64)
        return ((X - self.low_) / max(self.high_ - self.low_, 1e-12)).astype(np.float32)

    def project(self, Z):
        """Network-space rows clipped to [0, 1]: the pixels ``inverse_transform`` decodes."""
        return np.clip(np.asarray(Z, dtype=np.float32), 0.0, 1.0)

    def inverse_transform(self, Z):
        check_is_fitted(self)
        Z = np.clip(np.asarray(Z, dtype=np.float64), 0.0, 1.0)
        X = self.low_ + Z * (self.high_ - self.low_)
        if np.issubdtype(self.dtype_, np.integer):
            X = np.rint(X)
        return X.astype(self.dtype_, copy=False)
