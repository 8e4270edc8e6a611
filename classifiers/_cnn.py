"""A small convolutional network for images carried as flattened rows, as a scikit-learn
classifier."""

import functools
import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from torch import nn
from torch.nn import functional as F

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
# Rows per forward pass in predict_proba: bounds memory for any number of rows.
PREDICT_CHUNK = 4096


class ConvTrunk(nn.Module):
    """Conv(3x3) + ReLU + 2x2 max-pool blocks and global average pooling: ``ConvNet``
    without its head, the image trunk of ``MultiHeadClassifier``.

    Takes flattened rows and views them as ``image_shape`` = (C, H, W). A block pools only
    the sides that are still at least 2 pixels long, so any number of blocks works from
    1 x 1 x n rows and 8 x 8 digits up to large images; the global average pooling makes
    the output (``n_outputs`` = ``channels[-1]`` features per row) independent of the image
    size.
    """

    def __init__(self, image_shape, channels):
        super().__init__()
        self.image_shape = tuple(image_shape)
        n_in, height, width = self.image_shape
        layers = []
        for n_out in channels:
            layers += [nn.Conv2d(n_in, n_out, kernel_size=3, padding=1), nn.ReLU()]
            pool = (2 if height >= 2 else 1, 2 if width >= 2 else 1)
            if pool != (1, 1):
                layers.append(nn.MaxPool2d(pool))
            height, width, n_in = height // pool[0], width // pool[1], n_out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.n_outputs = n_in

    def forward(self, x):
        return self.features(x.view(-1, *self.image_shape))


class ConvNet(ConvTrunk):
    """``ConvTrunk``'s blocks and a linear head: one logit per class."""

    def __init__(self, image_shape, channels, n_classes):
        super().__init__(image_shape, channels)
        self.head = nn.Linear(self.n_outputs, n_classes)

    def embed(self, x):
        """The penultimate-layer activations: the pooled output of the last block."""
        return super().forward(x)

    def forward(self, x):
        return self.head(self.embed(x))


def weighted_cross_entropy(module, x, y, weight, *, generator, shift=0):
    """Cross-entropy per row times its sample weight, averaged over the batch; with
    ``shift``, of the images each moved at random by up to that many pixels (``shifted``)."""
    if shift:
        x = shifted(x.view(-1, *module.image_shape), shift, generator)
    return (F.cross_entropy(module(x), y, reduction="none") * weight).mean()


def shifted(images, shift, generator):
    """``images`` (N, C, H, W), each translated by its own random offset of -``shift`` to
    ``shift`` pixels along each axis, zero-filled: the translation augmentation of digit
    recognisers (LeCun et al. 1998; Simard et al. 2003), drawn from ``generator``."""
    n, _, height, width = images.shape
    device = images.device
    padded = F.pad(images, (shift, shift, shift, shift)).permute(0, 2, 3, 1)  # (N, H', W', C)
    offsets = torch.randint(0, 2 * shift + 1, (2, n, 1), generator=generator, device=device)
    rows = (offsets[0] + torch.arange(height, device=device))[:, :, None]  # (N, H, 1)
    columns = (offsets[1] + torch.arange(width, device=device))[:, None, :]  # (N, 1, W)
    batch = torch.arange(n, device=device)[:, None, None]
    return padded[batch, rows, columns].permute(0, 3, 1, 2).contiguous()


def infer_image_shape(n_features):
    """(C, H, W) for rows of ``n_features`` pixels when no shape is given.

    A square number is a square grey image (1, s, s); three times a square is a square
    RGB image (3, s, s) (the two never collide); anything else is one row of pixels,
    (1, 1, n_features), so that tabular data still fits.
    """
    side = math.isqrt(n_features)
    if side * side == n_features:
        return (1, side, side)
    side = math.isqrt(n_features // 3)
    if 3 * side * side == n_features:
        return (3, side, side)
    return (1, 1, n_features)


class CNNClassifier(ClassifierMixin, BaseEstimator):
    """A small CNN trained with Adam on cross-entropy, for images as flattened rows.

    Rows hold the pixels of a (C, H, W) image in C-order (as ``Dataset.image_shape`` and
    ``torch.Tensor.flatten`` have them); pixels are best scaled to [0, 1]. Labels may be of
    any type; binary and multiclass problems both get one logit per class.

    Parameters
    ----------
    image_shape : (C, H, W) or None, default=None
        The shape the rows are viewed as; ``C * H * W`` must equal the number of features.
        None infers it from the number of features n: (1, s, s) when n = s * s,
        (3, s, s) when n = 3 * s * s, else (1, 1, n). Set it for non-square images.
    channels : sequence of int, default=(16, 32)
        Output channels of the convolutional blocks, one block each; every block halves
        the sides still at least 2 pixels long.
    epochs, batch_size, lr : training length, mini-batch size and Adam's learning rate.
    shift : int, default=0
        Random translations while training: every time an image is drawn it is moved by up
        to ``shift`` pixels along each axis (zero-filled), so the network learns digits, not
        their positions; 0: none. Measured (README, "Open set"; benchmarks/bench_open_set.py):
        on mnist ``shift=2`` lifted the known digits' accuracy and the scores' AUROC against
        unknown digits.
    device : str, default="auto"
        ``"auto"`` uses CUDA when available.
    random_state : int, RandomState instance or None
        Seeds the initial weights and the order of the mini-batches; torch's global RNG
        is never touched. On CPU the same seed gives the same model.
    verbose : bool, default=False
        Show a progress bar while training.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    image_shape_ : tuple of int
        The (C, H, W) the rows were viewed as.
    module_ : ConvNet
        The trained network, in eval mode, on ``device_``.
    device_ : torch.device
    loss_history_ : list of float
        Mean (weighted) training loss per epoch.
    """

    _parameter_constraints: dict = {
        "image_shape": ["array-like", None],
        "channels": ["array-like"],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "shift": [Interval(Integral, 0, None, closed="left")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    }

    def __init__(
        self,
        image_shape=None,
        channels=(16, 32),
        epochs=50,
        batch_size=32,
        lr=1e-3,
        shift=0,
        device="auto",
        random_state=None,
        verbose=False,
    ):
        self.image_shape = image_shape
        self.channels = channels
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.shift = shift
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on rows ``X`` and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies each row's loss (rescaled to mean 1, so only ratios matter).

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float32, ensure_non_negative=True
        )
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least two classes; y holds one class "
                f"({self.classes_[0]!r})."
            )
        self.image_shape_, channels = self._architecture(X.shape[1])
        rng = check_random_state(self.random_state)
        self.device_ = resolve_device(self.device)
        self.module_ = build_module(
            lambda: ConvNet(self.image_shape_, channels, len(self.classes_)),
            rng.randint(_SEED_MAX),
            self.device_,
        )
        tensors = [
            torch.tensor(X, device=self.device_),
            torch.tensor(encoder.transform(y), dtype=torch.long, device=self.device_),
            torch.tensor(sample_weight / sample_weight.mean(), device=self.device_),
        ]
        self.loss_history_ = train(
            self.module_,
            functools.partial(weighted_cross_entropy, shift=self.shift),
            tensors,
            steps=steps_for_epochs(self.epochs, len(X), self.batch_size),
            batch_size=self.batch_size,
            lr=self.lr,
            generator=torch_generator(rng.randint(_SEED_MAX), self.device_),
            verbose=self.verbose,
            desc="CNN",
        )
        return self

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        logits = self._forward(X, embed=False)
        return torch.softmax(torch.from_numpy(logits).double(), dim=1).numpy()

    def logits(self, X):
        """The network's output before the softmax, one column per class of ``classes_``
        (what energy and max-logit scores of ``RejectOptionClassifier`` read).

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return self._forward(X, embed=False)

    def embed(self, X):
        """The penultimate-layer activations of each row (the globally pooled output of
        the last convolutional block, which the linear head reads): learned image features.

        Returns
        -------
        ndarray of shape (n_samples, channels[-1])
        """
        return self._forward(X, embed=True)

    def _forward(self, X, *, embed):
        """The network's logits (or penultimate features if ``embed``) for the validated
        rows of ``X``, computed in chunks, as a float32 array."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        layer = self.module_.embed if embed else self.module_
        out = []
        with torch.no_grad():
            for start in range(0, len(X), PREDICT_CHUNK):
                rows = torch.tensor(X[start : start + PREDICT_CHUNK], device=self.device_)
                out.append(layer(rows).float().cpu().numpy())
        return np.concatenate(out)  # validate_data refuses empty X

    def predict(self, X):
        """The most probable class of each row."""
        proba = self.predict_proba(X)  # first: raises NotFittedError before fit
        return self.classes_[proba.argmax(axis=1)]

    def check_features(self, n_features):
        """Refuse, before any fit, rows of ``n_features`` columns that ``fit`` would refuse
        whatever their labels (an ``image_shape`` that does not fit them, no conv block) and
        a device this machine does not have: the ValueError ``fit`` would raise."""
        self._architecture(n_features)
        resolve_device(self.device)

    def _architecture(self, n_features):
        """``(image shape, channels)`` for rows of ``n_features``, checked."""
        channels = check_widths("channels", self.channels)
        if not channels:
            raise ValueError("channels must be positive integers, at least one block; got []")
        return self._image_shape(n_features), channels

    def _image_shape(self, n_features):
        if self.image_shape is None:
            return infer_image_shape(n_features)
        return check_image_shape(self.image_shape, n_features)
