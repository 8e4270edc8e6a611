"""Tabular preprocessing for the torch generators: original feature space <-> network space."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data


class TabularPreprocessor(TransformerMixin, BaseEstimator):
    """Standardise numeric features for a generator and map generated rows back.

    Fitted inside a sampler on the data it is given (the training fold), never on
    test data. ``inverse_transform`` returns rows in the original feature space and
    in the dtype seen at ``fit`` (integers are rounded).

    Attributes
    ----------
    scaler_ : StandardScaler
    dtype_ : numpy.dtype
        Dtype of the data seen in ``fit``.
    """

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=None)
        self.dtype_ = X.dtype
        self.scaler_ = StandardScaler().fit(X.astype(np.float64, copy=False))
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=None)
        return self.scaler_.transform(X.astype(np.float64, copy=False)).astype(np.float32)

    def inverse_transform(self, Z):
        check_is_fitted(self)
        X = self.scaler_.inverse_transform(np.asarray(Z, dtype=np.float64))
        if np.issubdtype(self.dtype_, np.integer):
            X = np.rint(X)
        return X.astype(self.dtype_, copy=False)


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
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=None).astype(np.float64)
        return ((X - self.low_) / max(self.high_ - self.low_, 1e-12)).astype(np.float32)

    def inverse_transform(self, Z):
        check_is_fitted(self)
        Z = np.clip(np.asarray(Z, dtype=np.float64), 0.0, 1.0)
        X = self.low_ + Z * (self.high_ - self.low_)
        if np.issubdtype(self.dtype_, np.integer):
            X = np.rint(X)
        return X.astype(self.dtype_, copy=False)
