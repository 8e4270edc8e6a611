"""Third-party generators as imbalanced-learn over-samplers, judged by the same protocol as
synthbalance's own: smote-variants' oversamplers (Kovács 2019) and ForestDiffusion
(Jolicoeur-Martineau, Fatras & Kachman 2024). Each library is an optional extra, imported
when the sampler is checked or fitted (``import_extra``)."""

import contextlib
import inspect
import logging
import time
import warnings
from numbers import Integral

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from scipy import sparse
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from synthbalance.generators._extras import import_extra

# smote-variants 1.0 split Kovács's polynom_fit_SMOTE by topology; star was its default.
SMOTE_VARIANTS_ALIASES = {"polynom_fit_SMOTE": "polynom_fit_SMOTE_star"}
# The five oversamplers Kovács (2019) ranks on top over 104 datasets.
SMOTE_VARIANTS_TOP = ("polynom_fit_SMOTE", "ProWSyn", "SMOTE_IPF", "Lee", "SMOBD")
# Times an oversampler that makes fewer rows than asked is asked again, for more.
ASKS = 3


class BaseWrappedSampler(BaseOverSampler):
    """Over-sampler whose new rows of each class come from a third-party library.

    ``fit_resample`` (inherited) validates X and y and turns ``sampling_strategy`` into
    ``sampling_strategy_``; ``_fit_resample`` walks it, asking ``_new_rows`` for each class's
    rows, and returns the real rows followed by the new ones (sparse input is densified for
    the library and the result re-sparsified). Subclasses name the library (``_module``),
    the extra that installs it (``_extra``) and its generator config (``_config``).

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples generated per class in the last ``fit_resample``.
    fit_seconds_, sample_seconds_ : float
        Wall time spent fitting the library's models and generating the new rows.
    """

    _module = _extra = _config = None

    def check_installed(self):
        """The wrapped library, or a MissingExtraError (an ImportError and a ValueError)
        naming the extra that installs it. Runs call it before any fold."""
        return import_extra(self._module, self._extra, f"generator={self._config}")

    def _fit_resample(self, X, y):
        library = self.check_installed()
        rng = check_random_state(self.random_state)
        dense = X.toarray() if sparse.issparse(X) else X
        self.fit_seconds_ = self.sample_seconds_ = 0.0
        new_X, new_y = [], []
        for class_, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            rows = np.asarray(self._new_rows(library, dense, y, class_, n_samples, rng))
            if len(rows) < n_samples:
                warnings.warn(
                    f"{type(self).__name__} generated {len(rows)} of the {n_samples} rows "
                    f"asked for class {class_!r}",
                    stacklevel=2,
                )
            new_X.append(rows.reshape(-1, X.shape[1]).astype(dense.dtype, copy=False))
            new_y.append(np.full(len(rows), class_, dtype=y.dtype))
        new = np.concatenate(new_X) if new_X else np.empty((0, X.shape[1]), dense.dtype)
        y_res = np.concatenate([y, *new_y])
        if sparse.issparse(X):
            return sparse.vstack([X, type(X)(new)], format=X.format), y_res
        return np.concatenate([dense, new]), y_res

    def _new_rows(self, library, X, y, class_, n_samples, rng):
        raise NotImplementedError


class SmoteVariantsSampler(BaseWrappedSampler):
    """Any oversampler of smote-variants (Kovács 2019, "smote-variants: a Python
    implementation of 85 minority oversampling techniques", Neurocomputing 366) as an
    imbalanced-learn over-sampler.

    Each class to over-sample is its own two-class problem against all other rows (one
    versus rest, as imbalanced-learn treats several classes): the oversampler is asked for
    the class's ``n`` new rows (its ``proportion`` set to match), and the new rows are those
    of its output labelled with the class that are not rows of the input. Real rows are
    returned unchanged, also by oversamplers that clean them (SMOTE_IPF, SMOTE_ENN): only
    their new rows are kept. An oversampler that makes more than ``n`` rows gives a random
    ``n`` of them; one that makes fewer (polynom_fit_SMOTE makes a whole multiple of the
    class size) is asked again for proportionally more, up to ``ASKS`` times in all, and
    one that still makes fewer (or none, for too small a class) gives what it made, with a
    warning.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        imbalanced-learn's meaning.
    method : str, default="polynom_fit_SMOTE"
        The oversampler's class name in smote-variants (``smote_variants
        .get_all_oversamplers()``); ``polynom_fit_SMOTE`` is its ``polynom_fit_SMOTE_star``.
    params : dict or None, default=None
        Further arguments of the oversampler (``proportion`` and ``random_state`` are set
        here).
    n_jobs : int, default=1
        Passed to oversamplers that take it.
    random_state : int, RandomState instance or None, default=None
    """

    _module, _extra, _config = "smote_variants", "smote_variants", "smote_variants"

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "method": [str],
        "params": [dict, None],
        "n_jobs": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        method="polynom_fit_SMOTE",
        params=None,
        n_jobs=1,
        random_state=None,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.method = method
        self.params = params
        self.n_jobs = n_jobs
        self.random_state = random_state

    def check_installed(self):
        """smote-variants, checked to have ``method`` (a ValueError naming the top ones)."""
        library = super().check_installed()
        self._oversampler(library)
        return library

    def _oversampler(self, library):
        classes = {cls.__name__: cls for cls in library.get_all_oversamplers()}
        name = SMOTE_VARIANTS_ALIASES.get(self.method, self.method)
        if name not in classes:
            raise ValueError(
                f"smote-variants has no oversampler {self.method!r} (generator.method): "
                f"{len(classes)} are listed by smote_variants.get_all_oversamplers(); "
                f"Kovács (2019) ranks {', '.join(SMOTE_VARIANTS_TOP)} on top"
            )
        return classes[name]

    def _new_rows(self, library, X, y, class_, n_samples, rng):
        members = y == class_
        n_class, n_rest = int(members.sum()), int((~members).sum())
        if n_class >= n_rest:
            raise ValueError(
                f"smote-variants over-samples a class against all the others; class "
                f"{class_!r} has {n_class} rows, not fewer than the other {n_rest}"
            )
        cls = self._oversampler(library)
        real = {row.tobytes() for row in np.ascontiguousarray(X[members], dtype=np.float64)}
        asked, new = n_samples, np.empty((0, X.shape[1]))
        for _ in range(ASKS):
            params = {**(self.params or {}), "proportion": (asked + 0.5) / (n_rest - n_class)}
            params["random_state"] = np.random.RandomState(rng.randint(np.iinfo(np.int32).max))
            if "n_jobs" in inspect.signature(cls).parameters:
                params["n_jobs"] = self.n_jobs
            start = time.perf_counter()
            with _quiet(library.__name__):
                X_out, y_out = cls(**params).sample(X, members.astype(int))
            self.fit_seconds_ += time.perf_counter() - start
            candidates = np.ascontiguousarray(X_out[y_out == 1], dtype=np.float64)
            new = candidates[[row.tobytes() not in real for row in candidates]]
            if len(new) >= n_samples or len(new) == 0:
                break
            asked = int(np.ceil(asked * n_samples / len(new)))  # it makes fewer than asked
        if len(new) > n_samples:
            new = new[np.sort(rng.choice(len(new), n_samples, replace=False))]
        return new


class ForestDiffusionSampler(BaseWrappedSampler):
    """ForestDiffusion / ForestFlow (Jolicoeur-Martineau, Fatras & Kachman 2024, "Generating
    and imputing tabular data via diffusion and flow-based gradient-boosted trees",
    AISTATS) as an imbalanced-learn over-sampler: one model fitted on the rows of each class
    to over-sample, ``n_t`` noise levels each regressed by gradient-boosted trees.

    ForestDiffusion draws from numpy's global random generator (and seeds it); the sampler
    seeds it from ``random_state`` and restores its previous state afterwards, so the same
    seed gives the same rows and the caller's global stream is left as it was.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        imbalanced-learn's meaning.
    n_t : int, default=50
        Noise levels (one tree ensemble per level); also the solver's steps.
    duplicate_K : int, default=100
        Noise draws per real row in training.
    diffusion_type : {"flow", "vp"}, default="flow"
        ForestFlow (conditional flow matching; the paper's better one) or VP diffusion.
    model : {"xgboost", "lgbm", "catboost", "random_forest"}, default="xgboost"
        The regressor; other than XGBoost needs ``n_batch=0`` (ForestDiffusion's batched
        data iterator trains XGBoost only) and fits one regressor per feature and noise
        level (XGBoost: one multi-output regressor per noise level).
    n_estimators, max_depth : int, default=100, 7
        Trees per noise level and their depth.
    n_batch : int, default=1
        Batches of ForestDiffusion's data iterator (memory-light, XGBoost); 0: the
        duplicated rows held in memory (any ``model``).
    categorical_features : array-like or None, default=None
        Column indices (or a boolean mask) of categorical codes, one-hot encoded inside
        ForestDiffusion; runs fill them from the dataset.
    n_jobs : int, default=1
        Threads of the tree models and ForestDiffusion's parallel fits.
    random_state : int, RandomState instance or None, default=None
    """

    _module, _extra, _config = "ForestDiffusion", "forest_diffusion", "forest_diffusion"

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "n_t": [Interval(Integral, 1, None, closed="left")],
        "duplicate_K": [Interval(Integral, 1, None, closed="left")],
        "diffusion_type": [StrOptions({"flow", "vp"})],
        "model": [StrOptions({"xgboost", "lgbm", "catboost", "random_forest"})],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_depth": [Interval(Integral, 1, None, closed="left")],
        "n_batch": [Interval(Integral, 0, None, closed="left")],
        "categorical_features": ["array-like", None],
        "n_jobs": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        n_t=50,
        duplicate_K=100,
        diffusion_type="flow",
        model="xgboost",
        n_estimators=100,
        max_depth=7,
        n_batch=1,
        categorical_features=None,
        n_jobs=1,
        random_state=None,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.n_t = n_t
        self.duplicate_K = duplicate_K
        self.diffusion_type = diffusion_type
        self.model = model
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.n_batch = n_batch
        self.categorical_features = categorical_features
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _new_rows(self, library, X, y, class_, n_samples, rng):
        if self.model != "xgboost" and self.n_batch > 0:
            raise ValueError(
                f"model={self.model!r} needs n_batch=0: ForestDiffusion's batched data "
                "iterator trains XGBoost only"
            )
        categorical = np.asarray(
            [] if self.categorical_features is None else self.categorical_features
        )
        if categorical.dtype == bool:
            categorical = np.flatnonzero(categorical)
        threads = {"nthread": self.n_jobs} if self.model == "xgboost" else {}
        seed = int(rng.randint(np.iinfo(np.int32).max))
        with _global_numpy_state():
            start = time.perf_counter()
            model = library.ForestDiffusionModel(
                np.asarray(X[y == class_], dtype=np.float64), n_t=self.n_t,
                duplicate_K=self.duplicate_K, diffusion_type=self.diffusion_type,
                model=self.model, n_estimators=self.n_estimators, max_depth=self.max_depth,
                n_batch=self.n_batch, cat_indexes=[int(i) for i in categorical],
                p_in_one=self.model == "xgboost", n_jobs=self.n_jobs, seed=seed, **threads,
            )  # fmt: skip
            self.fit_seconds_ += time.perf_counter() - start
            start = time.perf_counter()
            rows = model.generate(batch_size=n_samples)
            self.sample_seconds_ += time.perf_counter() - start
        return rows


@contextlib.contextmanager
def _global_numpy_state():
    """Leave numpy's global random state as it was (ForestDiffusion seeds and draws it)."""
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)


@contextlib.contextmanager
def _quiet(logger):
    """Only warnings from ``logger`` meanwhile: smote-variants logs every step at INFO
    through a handler of its own."""
    logger = logging.getLogger(logger)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
