"""One shared trunk, one binary head per minority class: a one-vs-base multi-head classifier.

Each head answers one question, "the base class or class k?", for its own class k; the heads
share a trunk (an MLP for tables, ``ConvTrunk`` for images, or any ``torch.nn.Module``,
pretrained or not) and are trained together with a masked binary cross-entropy, so that a
row without a label for a head never moves that head (hard parameter sharing, Caruana 1997,
"Multitask learning"). Inference costs one trunk pass for all heads. Labels come as a
multi-class ``y`` with a base class, or as a label matrix with missing entries following
scikit-learn's ``MultiOutputClassifier`` conventions for ``predict`` and ``predict_proba``.
"""

import copy
import os
from itertools import chain
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    FLOAT_DTYPES,
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)
from torch import nn
from torch.nn import functional as F

from synthbalance.classifiers._cnn import PREDICT_CHUNK, ConvTrunk, infer_image_shape
from synthbalance.generators.training import (
    build_module,
    check_image_shape,
    check_widths,
    resolve_device,
    steps_for_epochs,
    torch_generator,
    train,
)

_SEED_MAX = 2**31 - 1


def mlp(n_in, widths, n_out=None):
    """Linear + ReLU layers of ``widths``, then a linear layer to ``n_out`` when given."""
    layers = []
    for width in widths:
        layers += [nn.Linear(n_in, width), nn.ReLU()]
        n_in = width
    if n_out is not None:
        layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


class MultiHeadNet(nn.Module):
    """A trunk and one binary head per class: ``forward`` gives one logit per head (log-odds
    of the head's class against the base class) from one pass through the trunk.

    ``frozen`` lists the trunk's layers that are not trained: they stay in eval mode while
    the rest trains, so that their buffers (batch-norm statistics) do not move either.
    """

    def __init__(self, trunk, n_outputs, n_heads, head_dims=()):
        super().__init__()
        self.trunk = trunk
        self.heads = nn.ModuleList(mlp(n_outputs, head_dims, 1) for _ in range(n_heads))
        self.frozen = []

    def forward(self, x):
        features = self.trunk(x)
        if not self.training and all(len(head) == 1 for head in self.heads):
            # one matrix product for every head's linear layer instead of one per head (the
            # same function up to float rounding, ~1e-7); training keeps one product per
            # head, so that a model fitted before this was added fits to the same weights
            weight = torch.cat([head[0].weight for head in self.heads])
            bias = torch.cat([head[0].bias for head in self.heads])
            return F.linear(features, weight, bias)
        return torch.cat([head(features) for head in self.heads], dim=1)

    def train(self, mode=True):
        super().train(mode)
        for layer in self.frozen:
            layer.training = False
        return self


def masked_bce(module, x, target, weight, count, *, generator):
    """The masked binary cross-entropy of a batch: for every head, the loss of each (row,
    head) pair times its ``weight``, summed over the batch and divided by ``count`` summed
    over the batch (the row weights of the head's labelled rows: an average over them);
    the heads' losses added up. A pair without a label has weight and count 0: it adds
    nothing, and a head with no labelled row in the batch gets an exactly zero gradient."""
    loss = F.binary_cross_entropy_with_logits(module(x), target, reduction="none")
    per_head = (loss * weight).sum(dim=0) / count.sum(dim=0).clamp_min(torch.finfo(x.dtype).tiny)
    return per_head.sum()


def freeze(trunk, trainable_layers):
    """Freeze all but the top ``trainable_layers`` layers of ``trunk`` (its modules that
    hold parameters or buffers, in registration order, which is forward order for a
    ``Sequential``); None trains all. Returns the frozen layers."""
    layers = [
        m
        for m in trunk.modules()
        if next(chain(m.parameters(recurse=False), m.buffers(recurse=False)), None) is not None
    ]
    if trainable_layers is None:
        return []
    if trainable_layers > len(layers):
        raise ValueError(
            f"trainable_layers={trainable_layers}, but the trunk has {len(layers)} layers "
            "with weights"
        )
    frozen = layers[: len(layers) - trainable_layers]
    for layer in frozen:
        for parameter in layer.parameters(recurse=False):
            parameter.requires_grad_(False)
    return frozen


def load_weights(trunk, path):
    """Load the state dict at ``path`` (``torch.load(..., weights_only=True)``) into
    ``trunk``; a ValueError in one line when it cannot be read or does not fit."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"trunk_weights={str(path)!r}: no such file") from None
    except Exception as error:  # pickle, zip and torch errors: not a readable state dict
        raise ValueError(
            f"trunk_weights={str(path)!r} is not a state dict saved by torch.save(trunk."
            f"state_dict(), path) (torch.load(weights_only=True) fails: "
            f"{type(error).__name__}: {_one_line(error)})"
        ) from None
    if not isinstance(state, dict):
        raise ValueError(
            f"trunk_weights={str(path)!r} holds a {type(state).__name__}, not a state dict"
        )
    try:
        trunk.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(
            f"trunk_weights={str(path)!r} does not fit the trunk: {_one_line(error)}"
        ) from None


def output_size(trunk, n_features):
    """The number of features ``trunk`` makes of a row of ``n_features``, found by passing
    two rows of zeros in eval mode; a ValueError when the output cannot feed the heads."""
    training = trunk.training
    trunk.eval()
    try:
        with torch.no_grad():
            out = trunk(torch.zeros(2, n_features))
    except (RuntimeError, ValueError, TypeError, IndexError) as error:
        raise ValueError(
            f"the trunk does not take rows of {n_features} features: {_one_line(error)}"
        ) from None
    finally:
        trunk.train(training)
    shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 2:
        raise ValueError(
            f"the trunk's output size does not fit the heads: two rows gave {shape}, the heads "
            "need (n_rows, n_outputs), one feature vector per row (flatten in the trunk)"
        )
    return int(out.shape[1])


def _one_line(error):
    return " ".join(str(error).split())


class MultiHeadClassifier(ClassifierMixin, BaseEstimator):
    """A shared trunk and one binary head per minority class, each against the base class.

    Head k decides "class k or the base class?" and nothing else: unlike a multi-class or
    one-vs-rest model, it is never asked to tell class k from another minority class.
    Trained with Adam on a masked binary cross-entropy: a (row, head) pair counts only when
    the row has a label for that head, and each head's loss is averaged over its own
    labelled rows (``masked_bce``). One trunk pass serves every head at inference.

    Labels
    ------
    ``fit(X, y)`` takes either

    - a multi-class ``y`` (1-D) with a base class (``base_class``, default: the most
      frequent): head k sees the base rows as 0 and the class-k rows as 1; rows of other
      classes carry no label for it. ``classes_`` are the classes, ``predict_proba`` the
      class probabilities that the heads' log-odds against the base class make
      (P(base) proportional to 1, P(k) to exp(logit_k), so that P(k | k or base) is head
      k's probability) and ``predict`` the most probable class; or
    - a label matrix ``Y`` of shape (n_samples, n_heads), at least two columns (a
      DataFrame's column names name the heads), holding 1, 0 and missing (NaN or
      ``missing_label``). As ``MultiOutputClassifier``: ``classes_`` is a list of
      ``array([0, 1])`` per head, ``predict`` an (n_samples, n_heads) array of 0/1 and
      ``predict_proba`` a list of (n_samples, 2) arrays, one per head.

    ``head_proba(X)`` gives every head's probability, one column per class of ``heads_``:
    the hook by which synthbalance's evaluation scores class k on head k's own decision.

    Parameters
    ----------
    trunk : "mlp", "cnn" or torch.nn.Module, default="mlp"
        "mlp": Linear + ReLU layers of ``hidden_dims`` (best on standardised features:
        ``standardize=True``);
        "cnn": the convolutional blocks of ``channels`` of synthbalance's CNN
        (``ConvTrunk``) on rows viewed as ``image_shape`` images; a module: any network
        from rows of n_features to (n_rows, n_outputs), copied in ``fit`` (the given one
        is left untouched).
    hidden_dims : sequence of int, default=(64, 64)
        The MLP trunk's layer widths.
    channels : sequence of int, default=(16, 32)
        The CNN trunk's block channels.
    image_shape : (C, H, W) or None, default=None
        How the CNN trunk views the rows; None infers it as ``CNNClassifier`` does.
    head_dims : sequence of int, default=()
        Hidden layer widths of each head; () makes every head one linear layer.
    standardize : bool, default=False
        Standardise every feature as scikit-learn's ``StandardScaler`` does (its mean and
        scale fitted on the rows ``fit`` is given, the same numbers to the last bit), inside
        the model: a Pipeline with a scaler in front gives the same predictions but pays
        the scaler's and the Pipeline's per-call checks again at every prediction (on the
        MLP of ``classifier=multihead_mlp`` at batch 4,096 these cost about as much as the
        network's forward pass).
    trunk_weights : str or path-like, default=None
        A state dict for the trunk (``torch.save(trunk.state_dict(), path)``, e.g. the
        ``module_.trunk`` of a fitted model), loaded with ``torch.load(..., weights_only=True)``.
    trainable_layers : int or None, default=None
        Train only the top ``trainable_layers`` layers of the trunk (its modules holding
        parameters or buffers, in registration order); 0 freezes the trunk, None trains all.
    base_class : label, default=None
        The base class of a multi-class ``y``; None: the most frequent (rows counted by
        their sample weight).
    class_weight : "balanced", dict, list or None, default=None
        Each head's class weights: "balanced" for every head (its labelled rows weighted
        inversely to the frequency of 0 and 1 among them), a list with one entry per head
        (None, "balanced" or ``{0: w0, 1: w1}``), or a dict ``{head: entry}`` (heads not
        named are unweighted). With a multi-class ``y``, scikit-learn's ``{class: weight}``
        also works: head k weighs its rows of class k by that class's weight and its base
        rows by the base class's.
    missing_label : float or None, default=-1
        The value that marks a missing entry of a label matrix, besides NaN.
    weak_labels : "separate" or None, default=None
        "separate": fill each head's missing entries with the probability p of a binary
        model of the same architecture trained on that head's labelled rows alone, as a
        soft target weighted by 4 (p - 0.5) ** 2 (confident scores count, p = 0.5 not).
    epochs, batch_size, lr : training length, mini-batch size and Adam's learning rate.
    device : str, default="auto"
        "auto" uses CUDA when available.
    random_state : int, RandomState instance or None
        Seeds the initial weights and the order of the mini-batches; torch's global RNG
        is never touched.
    verbose : bool, default=False
        Show a progress bar while training.

    Attributes
    ----------
    classes_ : ndarray, or list of ndarray for a label matrix
    heads_ : ndarray
        The class of each head, in the order of ``head_proba``'s columns.
    base_class_ : label or None
        The base class (None for a label matrix).
    n_features_in_ : int
    image_shape_ : tuple of int or None
        The (C, H, W) the CNN trunk views rows as.
    mean_, scale_ : ndarray of shape (n_features,) or None
        The standardisation's per-feature mean and scale (``standardize=True``), else None.
    module_ : MultiHeadNet
        The trained network (``module_.trunk``, ``module_.heads``), in eval mode.
    device_ : torch.device
    loss_history_ : list of float
        Mean training loss per epoch (the heads' losses added up).
    """

    _parameter_constraints: dict = {
        "trunk": [StrOptions({"mlp", "cnn"}), nn.Module],
        "hidden_dims": ["array-like"],
        "channels": ["array-like"],
        "image_shape": ["array-like", None],
        "head_dims": ["array-like"],
        "standardize": ["boolean"],
        "trunk_weights": [str, os.PathLike, None],
        "trainable_layers": [Interval(Integral, 0, None, closed="left"), None],
        "base_class": "no_validation",
        "class_weight": [StrOptions({"balanced"}), dict, list, None],
        "missing_label": [Real, None],
        "weak_labels": [StrOptions({"separate"}), None],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    }

    def __init__(
        self,
        trunk="mlp",
        hidden_dims=(64, 64),
        channels=(16, 32),
        image_shape=None,
        head_dims=(),
        standardize=False,
        trunk_weights=None,
        trainable_layers=None,
        base_class=None,
        class_weight=None,
        missing_label=-1,
        weak_labels=None,
        epochs=50,
        batch_size=64,
        lr=1e-3,
        device="auto",
        random_state=None,
        verbose=False,
    ):
        self.trunk = trunk
        self.hidden_dims = hidden_dims
        self.channels = channels
        self.image_shape = image_shape
        self.head_dims = head_dims
        self.standardize = standardize
        self.trunk_weights = trunk_weights
        self.trainable_layers = trainable_layers
        self.base_class = base_class
        self.class_weight = class_weight
        self.missing_label = missing_label
        self.weak_labels = weak_labels
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the trunk and the heads.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_heads)
            Class labels with a base class, or a label matrix of 1, 0 and missing.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies each row's loss in every head.

        Returns
        -------
        self
        """
        X, y, matrix = self._validate_X_y(X, y)
        self.mean_ = self.scale_ = None
        if self.standardize:
            scaler = StandardScaler().fit(X)
            self.mean_, self.scale_ = scaler.mean_, scaler.scale_
        X = self._standardized(X)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        targets = self._matrix_targets(y) if matrix else self._class_targets(y, sample_weight)
        count = self._label_weights(targets) * sample_weight[:, None]
        self._check_heads(targets, count)
        self.image_shape_ = self._image_shape(X.shape[1])
        rng = check_random_state(self.random_state)
        self.device_ = resolve_device(self.device)
        weight = count.copy()
        if self.weak_labels == "separate":
            self._fill_weak_labels(X, targets, weight, count, sample_weight, rng)
        self.module_, self.loss_history_ = self._train(X, targets, weight, count, rng)
        return self

    def check_features(self, n_features):
        """Refuse, before any fit, what ``fit`` would refuse of rows of ``n_features``
        columns whatever their labels: a device this machine does not have, an
        ``image_shape`` that does not fit the rows, a trunk that cannot be built (its
        ``trunk_weights`` unreadable or not fitting it, ``trainable_layers`` beyond its
        layers, an output the heads cannot take). The ValueError ``fit`` would raise; the
        classifier is left unchanged (the trunk is built and dropped, the global RNG
        untouched)."""
        resolve_device(self.device)
        image_shape = self._image_shape(n_features)
        build_module(lambda: self._network(n_features, 1, image_shape), 0, "cpu")

    def head_proba(self, X):
        """Every head's probability that a row is of its class rather than the base class.

        Returns
        -------
        ndarray of shape (n_samples, n_heads)
            Columns in the order of ``heads_``.
        """
        return expit(self._logits(X).astype(np.float64))

    def predict_proba(self, X):
        """Class probabilities (multi-class ``y``), or one (n_samples, 2) array per head
        (label matrix), as described in the class docstring."""
        logits = self._logits(X).astype(np.float64)
        if self.base_class_ is None:
            return [np.column_stack([1 - p, p]) for p in expit(logits).T]
        log_odds = np.zeros((len(logits), len(self.classes_)))
        log_odds[:, self._head_columns()] = logits
        return softmax(log_odds, axis=1)

    def predict(self, X):
        """The most probable class of each row (multi-class ``y``), or every head's 0/1
        decision, (n_samples, n_heads) (label matrix)."""
        check_is_fitted(self)
        if self.base_class_ is None:
            return (self.head_proba(X) >= 0.5).astype(np.int64)
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.classifier_tags.multi_label = True
        return tags

    # -- labels ------------------------------------------------------------------------

    def _validate_X_y(self, X, y):
        """``(X, y, matrix)``: ``matrix`` when ``y`` is a label matrix (two columns or
        more); a column vector is read as 1-D labels, with scikit-learn's warning."""
        shape = np.shape(np.asarray(y)) if y is not None else ()
        if len(shape) == 2 and shape[1] > 1:
            X = validate_data(self, X, dtype=FLOAT_DTYPES)
            names = None
            if isinstance(y, pd.DataFrame):  # pandas' missing values (None, NA) as NaN
                names, y = list(y.columns), y.to_numpy(dtype=object, na_value=np.nan)
            Y = check_array(y, dtype=None, ensure_all_finite=False, input_name="Y")
            check_consistent_length(X, Y)
            self.heads_ = np.asarray(names if names is not None else range(Y.shape[1]))
            return X, Y, True
        if y is not None and pd.isna(np.ravel(np.asarray(y, dtype=object))).any():
            raise ValueError(
                f"y of shape {shape} has missing labels (NaN or None), which only a label "
                "matrix may hold: one column per head, two columns at least (a single column "
                "is read as class labels)"
            )
        X, y = validate_data(self, X, y, dtype=FLOAT_DTYPES)
        check_classification_targets(y)
        return X, y, False

    def _matrix_targets(self, Y):
        """A label matrix as floats, 1, 0 and NaN for missing; anything else a ValueError."""
        values = np.array([_number(v) for v in np.ravel(Y)], dtype=object).reshape(Y.shape)
        numbers = np.array([isinstance(v, float) for v in values.ravel()]).reshape(Y.shape)
        floats = np.where(numbers, values, np.nan).astype(np.float64)
        missing = numbers & np.isnan(floats)
        if self.missing_label is not None:
            missing |= floats == self.missing_label
        bad = ~missing & ~np.isin(floats, (0, 1))
        if bad.any():
            found = sorted({f"{v:g}" if isinstance(v, float) else str(v) for v in values[bad]})
            raise ValueError(
                f"Y holds values other than 0, 1 and missing (NaN or missing_label="
                f"{self.missing_label!r}): {', '.join(found[:5])}"
            )
        self.classes_ = [np.array([0, 1]) for _ in self.heads_]
        self.base_class_ = None
        return np.where(missing, np.nan, floats)

    def _class_targets(self, y, sample_weight):
        """Head k's targets from class labels: 0 for the base class, 1 for class k, NaN
        (no label) for the other classes."""
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least two classes; y holds one class "
                f"({self.classes_[0]!r})."
            )
        self.base_class_ = self._base(y, sample_weight)
        self.heads_ = self.classes_[self.classes_ != self.base_class_]
        targets = np.full((len(y), len(self.heads_)), np.nan)
        for k, class_ in enumerate(self.heads_):
            targets[y == self.base_class_, k] = 0
            targets[y == class_, k] = 1
        return targets

    def _base(self, y, sample_weight):
        if self.base_class is None:
            totals = [sample_weight[y == c].sum() for c in self.classes_]
            return self.classes_[int(np.argmax(totals))]
        for same in (lambda c: c == self.base_class, lambda c: str(c) == str(self.base_class)):
            found = [c for c in self.classes_ if same(c)]
            if found:
                return found[0]
        raise ValueError(
            f"base_class={self.base_class!r} is not a class of y; its classes are "
            f"{', '.join(map(repr, self.classes_.tolist()))}"
        )

    def _head_columns(self):
        return [int(np.flatnonzero(self.classes_ == h)[0]) for h in self.heads_]

    def _label_weights(self, targets):
        """Per (row, head): the head's class weight of the row's label, 0 where missing."""
        weights = np.zeros_like(targets)
        for k, entry in enumerate(self._class_weight_entries()):
            labels = targets[:, k]
            for value in (0, 1):
                rows = labels == value
                if entry is None:
                    weights[rows, k] = 1.0
                elif isinstance(entry, str):  # balanced
                    weights[rows, k] = (~np.isnan(labels)).sum() / (2 * max(rows.sum(), 1))
                else:
                    weights[rows, k] = entry.get(value, 1.0)
        return weights

    def _class_weight_entries(self):
        """``class_weight`` as one entry per head: None, "balanced" or ``{0: w0, 1: w1}``."""
        given, heads = self.class_weight, list(self.heads_)
        if given is None or isinstance(given, str):
            entries = [given] * len(heads)
        elif isinstance(given, dict) and self.base_class_ is not None and _numbers(given):
            entries = self._per_class_weights(given)
        elif isinstance(given, dict):
            by_name = {str(h): h for h in heads}
            unknown = [key for key in given if key not in heads and str(key) not in by_name]
            if unknown:
                raise ValueError(
                    f"class_weight names {unknown}, which are not heads; the heads are "
                    f"{', '.join(repr(_plain(h)) for h in heads)}"
                )
            entries = [given.get(h, given.get(str(h))) for h in heads]
        else:
            if len(given) != len(heads):
                raise ValueError(
                    f"class_weight has {len(given)} entries; give one per head ({len(heads)})"
                )
            entries = list(given)
        for entry in entries:
            if not (entry is None or entry == "balanced" or _is_binary_weight(entry)):
                raise ValueError(
                    f"a head's class_weight must be None, 'balanced' or {{0: w0, 1: w1}}; "
                    f"got {entry!r}"
                )
        return entries

    def _per_class_weights(self, given):
        """scikit-learn's ``{class: weight}`` as head entries: head k weighs its positive
        rows by class k's weight and its negative rows by the base class's."""
        by_name = {str(c): c for c in self.classes_}
        unknown = [c for c in given if c not in self.classes_ and str(c) not in by_name]
        if unknown:
            raise ValueError(
                f"class_weight names classes {unknown} that y does not have; its classes are "
                f"{', '.join(repr(_plain(c)) for c in self.classes_)}"
            )
        weights = {by_name.get(str(c), c): float(w) for c, w in given.items()}
        negative = weights.get(self.base_class_, 1.0)
        return [{0: negative, 1: weights.get(head, 1.0)} for head in self.heads_]

    def _check_heads(self, targets, count):
        """Every head needs a positive and a negative row that weigh something."""
        for k, head in enumerate(self.heads_):
            for value, kind in ((1, "positive (1)"), (0, "negative (0)")):
                if not (count[targets[:, k] == value, k] > 0).any():
                    raise ValueError(
                        f"head {_plain(head)!r} has no {kind} row of non-zero weight: every "
                        "head needs rows of both classes"
                    )

    # -- the network -------------------------------------------------------------------

    def _image_shape(self, n_features):
        if isinstance(self.trunk, str) and self.trunk == "cnn":
            if self.image_shape is None:
                return infer_image_shape(n_features)
            return check_image_shape(self.image_shape, n_features)
        return None

    def _network(self, n_features, n_heads, image_shape):
        """The trunk (built, or a copy of the given module; its weights loaded and its
        lower layers frozen) and ``n_heads`` heads fitted to its output size."""
        if isinstance(self.trunk, nn.Module):
            trunk = copy.deepcopy(self.trunk).cpu()
        elif self.trunk == "cnn":
            channels = check_widths("channels", self.channels)
            if not channels:
                raise ValueError("channels must be positive integers, at least one block; got []")
            trunk = ConvTrunk(image_shape, channels)
        else:
            trunk = mlp(n_features, check_widths("hidden_dims", self.hidden_dims))
        if self.trunk_weights is not None:
            load_weights(trunk, self.trunk_weights)
        head_dims = check_widths("head_dims", self.head_dims)
        network = MultiHeadNet(trunk, output_size(trunk, n_features), n_heads, head_dims)
        network.frozen = freeze(trunk, self.trainable_layers)
        return network

    def _train(self, X, targets, weight, count, rng):
        """``(module, loss history)``: a network with one head per column of ``targets``
        trained on the rows of ``X``."""
        module = build_module(
            lambda: self._network(X.shape[1], targets.shape[1], self.image_shape_),
            rng.randint(_SEED_MAX),
            self.device_,
        )
        arrays = (X, np.nan_to_num(targets), weight, count)
        tensors = [torch.tensor(a, dtype=torch.float32, device=self.device_) for a in arrays]
        history = train(
            module,
            masked_bce,
            tensors,
            steps=steps_for_epochs(self.epochs, len(X), self.batch_size),
            batch_size=self.batch_size,
            lr=self.lr,
            generator=torch_generator(rng.randint(_SEED_MAX), self.device_),
            verbose=self.verbose,
            desc="multi-head",
        )
        return module, history

    def _fill_weak_labels(self, X, targets, weight, count, sample_weight, rng):
        """Fill every head's missing entries (in place) with the probability p of a binary
        model of the same architecture trained on that head's labelled rows alone, weighted
        by 4 (p - 0.5) ** 2 times the row's weight."""
        for k in range(targets.shape[1]):
            labelled = ~np.isnan(targets[:, k])
            if labelled.all():
                continue
            column = slice(k, k + 1)
            separate, _ = self._train(
                X[labelled], targets[labelled, column], weight[labelled, column],
                count[labelled, column], rng,
            )  # fmt: skip
            p = expit(self._forward(separate, X[~labelled])[:, 0].astype(np.float64))
            targets[~labelled, k] = p
            weight[~labelled, k] = sample_weight[~labelled] * 4 * (p - 0.5) ** 2
            count[~labelled, k] = sample_weight[~labelled]

    def _logits(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        return self._forward(self.module_, self._standardized(X))

    def _standardized(self, X):
        """``X`` (validated: a float dtype) standardised when ``standardize``, as float32.

        In place on a copy in ``X``'s own dtype, the mean and scale cast to it, as
        ``StandardScaler.transform`` does, so that the rows the network sees are those a
        scaler in a Pipeline would give it."""
        if self.mean_ is not None:
            X = X.copy()
            X -= self.mean_.astype(X.dtype)
            X /= self.scale_.astype(X.dtype)
        return X.astype(np.float32, copy=False)

    def _forward(self, module, X):
        """``module``'s logits for the rows of ``X``, in chunks, as a float32 array."""
        out = []
        with torch.no_grad():
            for start in range(0, len(X), PREDICT_CHUNK):
                rows = torch.tensor(X[start : start + PREDICT_CHUNK], device=self.device_)
                out.append(module(rows).float().cpu().numpy())
        return np.concatenate(out)  # validate_data refuses empty X


def _is_binary_weight(entry):
    return (
        isinstance(entry, dict)
        and set(entry) <= {0, 1}
        and all(isinstance(w, Real) and w >= 0 for w in entry.values())
    )


def _number(value):
    """``value`` as a float (None as NaN), or as it is when it is no number."""
    if value is None:
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _numbers(weights):
    return all(isinstance(w, Real) and not isinstance(w, bool) for w in weights.values())


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
