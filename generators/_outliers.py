"""Synthetic outliers: rows that lie between the known classes, for training a rejecting
classifier when no real outliers are at hand.

Both samplers fit on known rows and labels (``fit(X, y)``) and then make ``n`` rows that
belong to none of the classes (``sample(n)``): interpolations between rows of *different*
classes (``SMOTEOutliers``, SMOTE's interpolation, Chawla et al. 2002, turned across the
class boundary), and a conditional VAE decoded from blended class conditions
(``CVAEOutliers``). Training on such boundary samples as a stand-in for the unknown follows
Lee et al. 2018 ("Training confidence-calibrated classifiers for detecting out-of-distribution
samples") and Neal et al. 2018 ("Open set learning with counterfactual images").
"""

from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from synthbalance.generators._vae import CVAESampler
from synthbalance.generators.training import torch_generator

_SEED_MAX = 2**31 - 1


def _check_blend(blend):
    low, high = (float(b) for b in blend)
    if not 0 < low <= high < 1:
        raise ValueError(f"blend={tuple(blend)} must be (low, high) with 0 < low <= high < 1")
    return low, high


def _check_n_samples(n_samples):
    if isinstance(n_samples, bool) or not isinstance(n_samples, Integral) or n_samples < 0:
        raise ValueError(f"n_samples must be a non-negative integer, got {n_samples!r}.")
    return int(n_samples)


class SMOTEOutliers(BaseEstimator):
    """Outliers interpolated between rows of different known classes.

    A new row is ``x + t * (x' - x)`` for a random known row ``x``, ``x'`` one of the
    ``k_neighbors`` nearest rows of *other* classes, and ``t`` uniform in ``blend``: SMOTE's
    interpolation across the class boundary instead of within a class, so the new rows sit
    in the gaps between the classes.

    Parameters
    ----------
    k_neighbors : int, default=5
    blend : (low, high), default=(0.3, 0.7)
        Where between the two rows the new one lies.
    random_state : int, RandomState instance or None

    Attributes
    ----------
    classes_ : ndarray
    n_features_in_ : int
    """

    _parameter_constraints: dict = {
        "k_neighbors": [Interval(Integral, 1, None, closed="left")],
        "blend": ["array-like"],
        "random_state": ["random_state"],
    }

    def __init__(self, k_neighbors=5, blend=(0.3, 0.7), random_state=None):
        self.k_neighbors = k_neighbors
        self.blend = blend
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Index the known rows ``X`` of classes ``y`` (at least two classes)."""
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.blend_ = _check_blend(self.blend)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError("SMOTEOutliers needs at least two classes to interpolate between.")
        self.X_, self.y_ = X, y
        self.neighbors_ = {}
        for class_ in self.classes_:
            others = np.flatnonzero(y != class_)
            k = min(self.k_neighbors, len(others))
            self.neighbors_[class_] = (others, NearestNeighbors(n_neighbors=k).fit(X[others]))
        return self

    def sample(self, n_samples, random_state=None):
        """``n_samples`` rows between the classes, shape (n_samples, n_features_in_)."""
        check_is_fitted(self)
        n_samples = _check_n_samples(n_samples)
        rng = check_random_state(self.random_state if random_state is None else random_state)
        start = rng.randint(len(self.y_), size=n_samples)
        out = np.empty((n_samples, self.n_features_in_))
        for class_ in self.classes_:
            rows = np.flatnonzero(self.y_[start] == class_)
            if not len(rows):
                continue
            others, neighbors = self.neighbors_[class_]
            x = self.X_[start[rows]]
            near = neighbors.kneighbors(x, return_distance=False)
            chosen = others[near[np.arange(len(rows)), rng.randint(near.shape[1], size=len(rows))]]
            t = rng.uniform(*self.blend_, size=(len(rows), 1))
            out[rows] = x + t * (self.X_[chosen] - x)
        return out


class CVAEOutliers(BaseEstimator):
    """Outliers from a conditional VAE decoded under blended class conditions.

    The CVAE (``sampler``, default ``CVAESampler(image_shape=image_shape)``) is trained on
    the known rows with their classes as conditions. A new row decodes ``t * z_a + (1 - t)
    * z_b`` under the condition ``t * e_a + (1 - t) * e_b``: ``z_a``, ``z_b`` are posterior
    draws of random rows of two different classes a and b, ``e_a``, ``e_b`` their one-hot
    conditions and ``t`` uniform in ``blend``. The decoder has only seen pure conditions, so
    it renders something between the two classes that is neither.

    Parameters
    ----------
    sampler : CVAESampler or None, default=None
        Its training settings are used; its ``sampling_strategy`` is ignored.
    image_shape : (C, H, W) or None
        For the default sampler: the rows are images (a convolutional CVAE).
    blend : (low, high), default=(0.3, 0.7)
    random_state : int, RandomState instance or None

    Attributes
    ----------
    sampler_ : CVAESampler
        The trained CVAE.
    classes_ : ndarray
    """

    _parameter_constraints: dict = {
        "sampler": [HasMethods(["fit_resample"]), None],
        "image_shape": ["array-like", None],
        "blend": ["array-like"],
        "random_state": ["random_state"],
    }

    def __init__(self, sampler=None, image_shape=None, blend=(0.3, 0.7), random_state=None):
        self.sampler = sampler
        self.image_shape = image_shape
        self.blend = blend
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the CVAE on the known rows ``X`` of classes ``y`` (at least two classes)."""
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.blend_ = _check_blend(self.blend)
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2:
            raise ValueError("CVAEOutliers needs at least two classes to blend.")
        rng = check_random_state(self.random_state)
        sampler = (
            CVAESampler(image_shape=self.image_shape) if self.sampler is None else self.sampler
        )
        # every class as it is: the CVAE is trained, nothing is over-sampled
        self.sampler_ = clone(sampler).set_params(
            sampling_strategy=dict(zip(classes.tolist(), counts.tolist(), strict=True)),
            random_state=rng.randint(_SEED_MAX),
        )
        self.sampler_.fit_resample(X, y)
        self.classes_ = self.sampler_.classes_
        return self

    def sample(self, n_samples, random_state=None):
        """``n_samples`` decoded rows between two classes, shape (n_samples, n_features_in_)."""
        check_is_fitted(self)
        n_samples = _check_n_samples(n_samples)
        rng = check_random_state(self.random_state if random_state is None else random_state)
        cvae, n_classes = self.sampler_, len(self.classes_)
        first = rng.randint(n_classes, size=n_samples)
        second = (first + rng.randint(1, n_classes, size=n_samples)) % n_classes  # another class
        t = rng.uniform(*self.blend_, size=n_samples)
        generator = torch_generator(rng.randint(_SEED_MAX), cvae.device_)
        z = t[:, None] * self._posterior(first, generator, rng)
        z += (1 - t[:, None]) * self._posterior(second, generator, rng)
        weights = np.zeros((n_samples, n_classes))
        weights[np.arange(n_samples), first] = t
        weights[np.arange(n_samples), second] = 1 - t
        with torch.no_grad():
            raw = cvae.model_.decode(
                torch.as_tensor(z, dtype=torch.float32, device=cvae.device_),
                torch.as_tensor(weights, dtype=torch.float32, device=cvae.device_),
            )
            decoded = cvae.model_.rows(raw)  # the decoder's mean
        return cvae.preprocessor_.inverse_transform(decoded.cpu().numpy()).astype(np.float64)

    def _posterior(self, codes, generator, rng):
        """One posterior draw ``mu + sigma * eps`` of a random training row of each class code."""
        z = np.empty((len(codes), self.sampler_.latent_dim))
        for code in np.unique(codes):
            rows = np.flatnonzero(codes == code)
            mu, logvar = self.sampler_.latents_[self.classes_[code]]
            pick = torch.as_tensor(rng.randint(len(mu), size=len(rows)), device=mu.device)
            eps = torch.randn((len(rows), mu.shape[1]), generator=generator, device=mu.device)
            z[rows] = (mu[pick] + torch.exp(0.5 * logvar[pick]) * eps).cpu().numpy()
        return z
