"""Base class of the torch generators: an imbalanced-learn over-sampler around a network."""

import time
import warnings
from numbers import Integral, Real

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_target_type
from scipy import sparse
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from synthbalance.generators._preprocessing import ImagePreprocessor, TabularPreprocessor
from synthbalance.generators.metrics import c2st_auc, prdc_scores
from synthbalance.generators.training import (
    CheckpointSelector,
    check_image_shape,
    check_widths,
    resolve_device,
)

# Rows decoded per forward pass when generating: bounds memory for any n_samples.
SAMPLE_CHUNK = 65_536


class BaseTorchSampler(BaseOverSampler):
    """Over-sampler whose new samples come from a torch model fitted in ``fit_resample``.

    ``fit_resample`` (inherited) validates X and y and turns ``sampling_strategy`` into
    ``sampling_strategy_ = {class: n_to_generate}``. Subclasses implement

    - ``_fit_model(Z, y, seed)``: fit the model(s) on the preprocessed training data;
    - ``_generate(class_, n_samples, rng)``: ``n_samples`` rows of ``class_`` in the
      preprocessed space, as a float32 array;
    - ``_fitted_classes()``: the classes ``sample`` can generate.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples generated per class in the last ``fit_resample``.
    preprocessor_ : TabularPreprocessor or ImagePreprocessor
        Fitted on the data given to ``fit_resample``: standardisation and, for the
        ``categorical_features`` (indices or a boolean mask), one-hot blocks for tables
        (generated rows hold only categories seen in fit); the pixel range for images
        (``image_shape`` given), whose samples are clipped to it.
    architecture_ : {"mlp", "conv"}
        The network used: ``architecture="auto"`` picks conv for images.
    device_ : torch.device
        Where the model was trained.
    fit_seconds_, sample_seconds_ : float
        Wall time spent fitting the model and generating the new samples.
    selection_ : dict or None
        With ``selection`` other than ``"last"``: the metric, the chosen epoch and the
        metric's history (per generated class for one-model-per-class samplers).

    Checkpoint selection: with ``selection`` in ``{"loss", "c2st", "coverage"}``,
    ``validation_fraction`` of the rows of each class to generate is held out from
    training; every ``eval_every`` epochs the model is rated on them (its loss, the C2ST
    AUC of as many generated rows, or their coverage), the best checkpoint is kept in
    memory and restored at the end, and training stops after ``patience`` evaluations
    without improvement.

    Training budget: ``epochs``, and with ``max_seconds`` a wall-clock limit as well
    (training stops after the first epoch that ends past it: samplers compared on equal
    time; the number of epochs then depends on the machine, so results are not
    reproducible across machines).
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "hidden_dims": ["array-like"],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "max_seconds": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "architecture": [StrOptions({"auto", "mlp", "conv"})],
        "image_shape": ["array-like", None],
        "categorical_features": ["array-like", None],
        "selection": [StrOptions({"last", "loss", "c2st", "coverage"})],
        "eval_every": [Interval(Integral, 1, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        hidden_dims=(128, 128),
        epochs=100,
        max_seconds=None,
        batch_size=256,
        lr=1e-3,
        architecture="auto",
        image_shape=None,
        categorical_features=None,
        selection="last",
        eval_every=5,
        patience=None,
        validation_fraction=0.2,
        device="auto",
        random_state=None,
        verbose=False,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.hidden_dims = hidden_dims
        self.architecture = architecture
        self.image_shape = image_shape
        self.categorical_features = categorical_features
        self.epochs = epochs
        self.max_seconds = max_seconds
        self.batch_size = batch_size
        self.lr = lr
        self.selection = selection
        self.eval_every = eval_every
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _check_X_y(self, X, y, accept_sparse=None):
        """As imbalanced-learn's, but categorical features may hold labels (strings)."""
        if self.categorical_features is None:
            return super()._check_X_y(X, y, accept_sparse)
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        X, y = validate_data(self, X=X, y=y, reset=True, dtype=None)
        return X, y, binarize_y

    def _fit_resample(self, X, y):
        rng = check_random_state(self.random_state)
        self.device_ = resolve_device(self.device)
        self.architecture_ = self._check_architecture(X.shape[1])
        # The networks need dense rows; sparse input is densified and the result re-sparsified.
        X_dense = X.toarray() if sparse.issparse(X) else X
        start = time.perf_counter()
        if self.image_shape is None:
            self.preprocessor_ = TabularPreprocessor(self.categorical_features).fit(X_dense)
        else:
            self.preprocessor_ = ImagePreprocessor().fit(X_dense)
        self._fit_model(self.preprocessor_.transform(X_dense), y, rng)
        self.fit_seconds_ = time.perf_counter() - start

        start = time.perf_counter()
        # The result is allocated once and the new rows decoded into it chunk by chunk: no
        # step holds the data, the new rows and their concatenation at the same time.
        # Sparse input keeps its rows as they are and only the new rows go dense.
        n_real = 0 if sparse.issparse(X) else len(X)
        n_new = sum(self.sampling_strategy_.values())
        X_res = np.empty((n_real + n_new, X.shape[1]), dtype=X_dense.dtype)
        X_res[:n_real] = X_dense[:n_real]
        del X_dense
        y_res = np.empty(len(y) + n_new, dtype=y.dtype)
        y_res[: len(y)] = y
        done = 0  # new rows so far
        for class_, n_samples in self.sampling_strategy_.items():
            new = slice(done, done + n_samples)
            self._sample(class_, n_samples, rng, out=X_res[n_real:][new])
            y_res[len(y) :][new] = class_
            done += n_samples
        self.sample_seconds_ = time.perf_counter() - start
        if sparse.issparse(X):
            new = type(X)(X_res)  # csr_matrix stays a matrix, csr_array an array
            return sparse.vstack([X, new], format=X.format), y_res
        return X_res, y_res

    def _check_architecture(self, n_features):
        """``"conv"`` or ``"mlp"``: ``auto`` is conv for images (``image_shape`` given)."""
        if self.image_shape is not None and self.categorical_features is not None:
            raise ValueError("categorical_features are for tables; images have none.")
        if self.image_shape is not None:
            check_image_shape(self.image_shape, n_features)
        check_widths("hidden_dims", self.hidden_dims)
        if self.architecture == "conv" and self.image_shape is None:
            raise ValueError("architecture='conv' needs image_shape=(channels, height, width).")
        if self.architecture == "auto":
            return "mlp" if self.image_shape is None else "conv"
        return self.architecture

    def sample(self, n_samples, y, random_state=None):
        """Generate ``n_samples`` new rows of class ``y`` in the original feature space.

        Parameters
        ----------
        n_samples : int
        y : label
            A class the sampler was fitted to generate.
        random_state : int, RandomState instance or None
            Defaults to the sampler's ``random_state``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_), in the dtype seen in fit
        """
        check_is_fitted(self, "preprocessor_")
        if y not in self._fitted_classes():
            raise ValueError(
                f"{type(self).__name__} cannot generate class {y!r}: it was fitted for "
                f"classes {sorted(self._fitted_classes(), key=str)}."
            )
        if isinstance(n_samples, bool) or not isinstance(n_samples, Integral) or n_samples < 0:
            raise ValueError(f"n_samples must be a non-negative integer, got {n_samples!r}.")
        seed = self.random_state if random_state is None else random_state
        return self._sample(y, n_samples, check_random_state(seed))

    def _sample(self, class_, n_samples, rng, out=None):
        """``n_samples`` rows of ``class_`` in the original space, generated and decoded
        ``SAMPLE_CHUNK`` rows at a time, into ``out`` when given."""
        if out is None:
            out = np.empty((n_samples, self.n_features_in_), dtype=self.preprocessor_.dtype_)
        for start in range(0, n_samples, SAMPLE_CHUNK):
            n = min(SAMPLE_CHUNK, n_samples - start)
            out[start : start + n] = self.preprocessor_.inverse_transform(
                self._generate(class_, n, rng)
            )
        return out

    def _encode_classes(self, y):
        """For one conditional model: set ``classes_`` (sorted), return every row's class
        code (its index in ``classes_``) and the codes of the classes to generate."""
        self.classes_, codes = np.unique(y, return_inverse=True)
        generated = [self._code(c) for c, n in self.sampling_strategy_.items() if n > 0]
        return codes, generated

    def _code(self, class_):
        """The condition code of ``class_``: its index in the sorted ``classes_``."""
        return int(np.searchsorted(self.classes_, class_))

    def _held_out_rows(self, codes, generated, rng):
        """Mask of rows held out for checkpoint selection: ``validation_fraction`` of each
        generated class (at least 3 rows, and at least 2 left to train on), else none.

        ``codes`` are the rows' class codes, ``generated`` the codes of the classes to
        generate (None: every code), ``rng`` a ``numpy.random.RandomState``.
        """
        held_out = np.zeros(len(codes), dtype=bool)
        if self.selection == "last":
            return held_out
        for code in np.unique(codes) if generated is None else generated:
            rows = np.flatnonzero(codes == code)
            n = int(round(self.validation_fraction * len(rows)))
            if n < 3 or len(rows) - n < 2:
                warnings.warn(
                    f"selection={self.selection!r}: a class with {len(rows)} rows is too small "
                    "to hold out validation rows; its last checkpoint is used.",
                    UserWarning,
                    stacklevel=5,
                )
                continue
            held_out[rng.choice(rows, n, replace=False)] = True
        return held_out

    def _sample_score(self, validation, generate, seed):
        """Rate a model by its samples on the held-out rows (lower is better).

        ``validation`` is ``(Z_val, codes_val)``, the held-out rows in the network space
        and their class codes; ``generate(code, n)`` returns ``n`` rows of class code
        ``code`` in the same space. The score is the mean over the held-out classes of the
        C2ST AUC (``selection="c2st"``) or minus the coverage (``"coverage"``) of as many
        generated rows as the class has held-out rows.
        """
        Z_val, codes_val = validation
        scores = []
        for code in np.unique(codes_val):
            real = Z_val[codes_val == code]
            fake = self.preprocessor_.project(generate(int(code), len(real)))
            if self.selection == "c2st":
                scores.append(c2st_auc(real, fake, n_splits=3, random_state=seed))
            else:
                k = min(5, len(real) - 2)
                scores.append(-prdc_scores(real, fake, nearest_k=k)["coverage"])
        return float(np.mean(scores))

    def _checkpoint_selector(self, module, score):
        """A ``CheckpointSelector`` of ``module`` by ``score()`` with this sampler's
        ``eval_every`` and ``patience``, to pass as ``train``'s ``after_epoch``."""
        return CheckpointSelector(module, score, eval_every=self.eval_every, patience=self.patience)

    def _selection_record(self, selector, epochs_run):
        """Restore the best checkpoint of ``selector`` and return the ``selection_`` record:
        the metric, the chosen epoch, the epochs trained and the metric's history."""
        selector.restore()
        return {
            "metric": self.selection,
            "best_epoch": selector.best_epoch,
            "epochs_run": epochs_run,
            "history": [[epoch, value] for epoch, value in selector.history],
        }

    def _fit_model(self, Z, y, rng):
        raise NotImplementedError

    def _generate(self, class_, n_samples, rng):
        raise NotImplementedError

    def _fitted_classes(self):
        raise NotImplementedError
