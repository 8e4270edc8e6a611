"""Base class of the torch generators: an imbalanced-learn over-sampler around a network."""

import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_target_type
from scipy import sparse, stats
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from synthbalance.generators._preprocessing import ImagePreprocessor, TabularPreprocessor
from synthbalance.generators.metrics import c2st_auc, frechet_distance, prdc_scores
from synthbalance.generators.training import (
    CheckpointSelector,
    ExponentialAverage,
    check_finite_samples,
    check_image_shape,
    check_widths,
    resolve_device,
    torch_generator,
    train_steps,
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
        With ``selection`` other than ``"last"``: the metric, the chosen step, and at every
        evaluated checkpoint the metric and the training loss, with their Spearman rank
        correlation (per generated class for one-model-per-class samplers).
    diagnostics_ : dict or None
        What the model says of itself after training (the VAEs: KL per latent dimension
        and the number of active units), for the report.
    hidden_dims_, batch_size_, steps_ : the settings trained with: the parameters, or
        for ``"auto"`` the class's ``_AUTO[architecture_]`` values (measured defaults for
        tables and for images, see ``docs/benchmark.md``).

    Training budget: ``steps`` optimiser steps (epochs follow from the steps and the
    batch size, so a 300-row class gets as many updates as a 20,000-row table), and with
    ``max_seconds`` a wall-clock limit as well (training stops after the first step that
    ends past it: samplers compared on equal time, at the price of results that depend on
    the machine). With ``ema`` > 0 an exponential moving average of the weights (decay
    ``ema`` per step) is what samples and is selected.

    Class-balanced batches: a model trained on every class (one condition per class) draws
    its batches with ``balanced_batches`` so that each class fills an equal share on
    average (rows drawn with replacement, weight 1 / class size), instead of each row once
    per epoch: with 400 minority images among 4,000, a uniform batch gives the class the
    sampler exists for a tenth of every update. Measured on mnist (docs/benchmark.md):
    the conditional VAE's prior samples went from a CAS of 0.748 to 0.980 and the CGAN's
    from 0.846 to 0.894. A model of one class (``VAESampler``) sees only that class, so
    the parameter has no effect there.

    Checkpoint selection: with ``selection`` in ``{"c2st", "coverage", "fd"}``,
    ``validation_fraction`` of the rows of each class to generate is held out from
    training; every ``eval_every`` steps the model is rated on them by a sample metric (the
    C2ST AUC of as many generated rows, their coverage, or the Fréchet distance), never by
    its loss, which does not measure sample quality; the best checkpoint is kept in
    memory and restored at the end, and training stops after ``patience`` evaluations
    without improvement.
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "hidden_dims": ["array-like", StrOptions({"auto"})],
        "steps": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_seconds": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "ema": [Interval(Real, 0, 1, closed="left")],
        "balanced_batches": ["boolean"],
        "architecture": [StrOptions({"auto", "mlp", "conv"})],
        "image_shape": ["array-like", None],
        "categorical_features": ["array-like", None],
        "selection": [StrOptions({"last", "c2st", "coverage", "fd"})],
        "eval_every": [Interval(Integral, 1, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    }

    # The parameters that may be "auto", and their values per architecture: they depend on
    # whether the sampler meets a table (MLP networks) or images (convolutions); subclasses
    # declare theirs (and may add parameters).
    _AUTO_SETTINGS = ("hidden_dims", "batch_size", "steps")
    _AUTO = {
        "mlp": {"hidden_dims": (128, 128), "batch_size": 256, "steps": 2000},
        "conv": {"hidden_dims": (32, 64), "batch_size": 64, "steps": 2000},
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        hidden_dims="auto",
        steps="auto",
        max_seconds=None,
        batch_size="auto",
        lr=1e-3,
        ema=0.0,
        balanced_batches=True,
        architecture="auto",
        image_shape=None,
        categorical_features=None,
        selection="last",
        eval_every=200,
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
        self.steps = steps
        self.max_seconds = max_seconds
        self.batch_size = batch_size
        self.lr = lr
        self.ema = ema
        self.balanced_batches = balanced_batches
        self.selection = selection
        self.eval_every = eval_every
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def check_features(self, n_features):
        """Refuse, before any fit, rows of ``n_features`` columns that this sampler's
        settings cannot take (an image model without ``image_shape``, an ``image_shape``
        that does not match the columns, …): the ValueError ``fit_resample`` would raise on
        its first call, or a device this machine does not have. Leaves the sampler
        unchanged."""
        self._check_architecture(n_features)
        resolve_device(self.device)

    def _check_X_y(self, X, y, accept_sparse=None):
        """As imbalanced-learn's, but categorical features may hold labels (strings)."""
        if self.categorical_features is None:
            return super()._check_X_y(X, y, accept_sparse)
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        X, y = validate_data(self, X=X, y=y, reset=True, dtype=None)
        return X, y, binarize_y

    def _fit_resample(self, X, y):
        rng = check_random_state(self.random_state)
        self._ema, self.diagnostics_ = None, None
        self.device_ = resolve_device(self.device)
        self.architecture_ = self._check_architecture(X.shape[1])
        auto = self._AUTO[self.architecture_]
        for name in self._AUTO_SETTINGS:
            value = getattr(self, name)
            setattr(self, f"{name}_", auto[name] if isinstance(value, str) else value)
        self.hidden_dims_ = tuple(check_widths("hidden_dims", self.hidden_dims_))
        # The networks need dense rows; sparse input is densified and the result re-sparsified.
        X_dense = X.toarray() if sparse.issparse(X) else X
        start = time.perf_counter()
        if self.image_shape is None:
            self.preprocessor_ = self._tabular_preprocessor().fit(X_dense)
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
        check_finite_samples(type(self).__name__, X_res[n_real:])
        if sparse.issparse(X):
            new = type(X)(X_res)  # csr_matrix stays a matrix, csr_array an array
            return sparse.vstack([X, new], format=X.format), y_res
        return X_res, y_res

    def _tabular_preprocessor(self):
        """The (unfitted) preprocessor of tables: standardised numeric columns, one-hot
        categorical ones; a sampler may prepare its columns otherwise."""
        return TabularPreprocessor(self.categorical_features)

    def _check_architecture(self, n_features):
        """``"conv"`` or ``"mlp"``: ``auto`` is conv for images (``image_shape`` given)."""
        if self.image_shape is not None and self.categorical_features is not None:
            raise ValueError("categorical_features are for tables; images have none.")
        if self.image_shape is not None:
            check_image_shape(self.image_shape, n_features)
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
        check_is_fitted(
            self, "preprocessor_",
            msg="This %(name)s is not trained yet: fit_resample trains it (imbalanced-learn's "
            "fit only checks the data); call fit_resample before sample.",
        )  # fmt: skip
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
        C2ST AUC (``selection="c2st"``), minus the coverage (``"coverage"``) or the Fréchet
        distance (``"fd"``) of as many generated rows as the class has held-out rows.
        """
        Z_val, codes_val = validation
        scores = []
        for code in np.unique(codes_val):
            real = Z_val[codes_val == code]
            fake = self.preprocessor_.project(generate(int(code), len(real)))
            if self.selection == "c2st":
                scores.append(c2st_auc(real, fake, n_splits=3, random_state=seed))
            elif self.selection == "fd":
                scores.append(frechet_distance(real, fake))
            else:
                k = min(5, len(real) - 2)
                scores.append(-prdc_scores(real, fake, nearest_k=k)["coverage"])
        return float(np.mean(scores))

    def _train(self, modules, step, tensors, seed, *, sampled, score=None, desc=None, codes=None):
        """Run the shared training loop for ``self.steps_`` steps and select a checkpoint.

        ``modules`` holds every network trained, ``step`` makes one batch's updates (see
        ``training.train_steps``), ``sampled`` is the network that generates (with
        ``ema`` > 0, ``step`` must update ``self._averaged(sampled)``'s average);
        ``score(network)`` rates a checkpoint of it by a sample metric (lower is better;
        None: no selection); ``codes`` are the training rows' class codes, for
        class-balanced batches (None: a model of one class). Returns ``(network, history,
        selection)``: the network to sample from (the average with ``ema``; the selected
        checkpoint), the loss per epoch and the ``selection_`` record.
        """
        target = sampled if self._ema is None else self._ema.averaged
        selector = None
        if score is not None:
            selector = CheckpointSelector(target, lambda: score(target), patience=self.patience)
        history = train_steps(
            modules, step, tensors, steps=self.steps_, batch_size=self.batch_size_,
            generator=torch_generator(seed, self.device_), verbose=self.verbose, desc=desc,
            callback=selector, callback_every=self.eval_every, max_seconds=self.max_seconds,
            weights=self._batch_weights(codes),
        )  # fmt: skip
        target.eval()
        return target, history, None if selector is None else self._selection_record(selector)

    def _batch_weights(self, codes):
        """Row weights for ``train_steps``: with ``balanced_batches``, 1 / class size for
        the training rows' class ``codes`` (each class fills an equal share of a batch on
        average), else None (every row once per epoch)."""
        if codes is None or not self.balanced_batches:
            return None
        codes = torch.as_tensor(codes).long()
        counts = torch.bincount(codes).double()
        return (1.0 / counts[codes]).to(self.device_)

    def _averaged(self, network):
        """Start the exponential moving average of ``network`` (``ema`` > 0) and return it,
        or None; ``_train`` then samples and selects from the average."""
        self._ema = ExponentialAverage(network, self.ema) if self.ema > 0 else None
        return self._ema

    def _selection_record(self, selector):
        """Restore the best checkpoint of ``selector`` and return the ``selection_`` record:
        the metric, the chosen step, the steps trained, the metric and training loss at
        every evaluation, and the Spearman rank correlation of the two (per loss when the
        model records several, as a GAN's discriminator and generator losses)."""
        selector.restore()
        steps, values, losses = zip(*selector.history, strict=True)
        losses = [loss if isinstance(loss, list) else [loss] for loss in losses]
        correlations = [
            _spearman([loss[i] for loss in losses], values) for i in range(len(losses[0]))
        ]
        return {
            "metric": self.selection,
            "best_step": selector.best_step,
            "steps_run": steps[-1],
            "history": [[s, v, loss] for s, v, loss in selector.history],
            "loss_rank_correlation": correlations if len(correlations) > 1 else correlations[0],
        }

    def _fit_model(self, Z, y, rng):
        raise NotImplementedError

    def _generate(self, class_, n_samples, rng):
        raise NotImplementedError

    def _fitted_classes(self):
        raise NotImplementedError


def _spearman(x, y):
    """Spearman's rank correlation of two sequences, None when either is constant or short."""
    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    return float(stats.spearmanr(x, y).statistic)
