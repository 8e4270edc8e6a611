"""The one training loop shared by every torch model of synthbalance, and its small helpers.

Budgets are optimiser steps, not epochs: a 300-image minority class then gets as many
updates as a 20,000-row table (epochs follow from the steps and the batch size); a
wall-clock budget stays available. ``ExponentialAverage`` keeps an exponential moving
average of a model's weights (the usual way to sample from GANs; Karras et al. 2018,
Yazıcı et al. 2019), and ``CheckpointSelector`` keeps the checkpoint with the best sample
metric, never the best loss.
"""

import copy
import math
import time
from collections.abc import Callable, Sequence
from numbers import Integral

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel
from tqdm.auto import tqdm


def resolve_device(device):
    """``"auto"`` means CUDA when available, else CPU; anything else goes to ``torch.device``.
    A CUDA device this machine does not have is a ValueError naming it, not torch's
    RuntimeError at the first tensor moved there."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device={device!r} is not a torch device ({error}).") from None
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (resolved.index or 0) >= count:
            found = f"{count} CUDA device(s)" if count else "no CUDA device"
            raise ValueError(
                f"device={device!r}, but torch finds {found} here; use device='auto' "
                "(CUDA when available) or device='cpu'"
            )
    return resolved


def check_finite_samples(name, X_new):
    """Refuse synthetic rows that hold NaN or infinite values (a fit that diverged, or values
    beyond float32's range, which the networks compute in), naming ``name`` and how many:
    a user would otherwise train a classifier on them, or export them."""
    X_new = np.asarray(X_new)
    if not np.issubdtype(X_new.dtype, np.number) or X_new.size == 0:
        return
    chunk = 65_536  # rows at a time: the check adds no copy of the data to a fit's peak
    bad = sum(
        int((~np.isfinite(X_new[i : i + chunk])).any(axis=1).sum())
        for i in range(0, len(X_new), chunk)
    )
    if bad:
        raise ValueError(
            f"{name}: {bad} of its {len(X_new)} synthetic rows hold NaN or infinite values: "
            "its training diverged (a lower learning rate may help), or the data's values "
            "are beyond float32's range (rescale them)"
        )


def check_image_shape(image_shape, n_features):
    """``image_shape`` as a tuple (channels, height, width) that fits rows of
    ``n_features`` pixels; anything else is a ValueError saying so."""
    shape = tuple(int(side) for side in image_shape)
    if len(shape) != 3 or min(shape) < 1 or math.prod(shape) != n_features:
        raise ValueError(
            f"image_shape={tuple(image_shape)} does not fit rows of {n_features} features: "
            "give (channels, height, width) with channels * height * width equal to the "
            "number of features."
        )
    return shape


def check_widths(name, widths):
    """Layer widths (or channels) as a list of positive integers, else a ValueError."""
    widths = list(widths)
    if any(isinstance(w, bool) or not isinstance(w, Integral) or w < 1 for w in widths):
        raise ValueError(f"{name} must be positive integers, one per layer; got {widths}")
    return [int(w) for w in widths]


# torch.multinomial draws from at most 2**24 categories; weighted epochs of more rows are
# drawn by inverse transform sampling instead (the same distribution).
MULTINOMIAL_LIMIT = 2**24


def weighted_rows(weights, n, generator, cumulative=None):
    """``n`` row indices drawn with replacement, row i with probability proportional to
    ``weights[i]``: ``torch.multinomial``, or with ``cumulative`` (the float64 cumulative sum
    of the weights, for more rows than it takes) the first row whose cumulative weight
    exceeds a uniform draw over the total."""
    if cumulative is None:
        return torch.multinomial(weights, n, replacement=True, generator=generator)
    u = torch.rand(n, dtype=cumulative.dtype, generator=generator, device=cumulative.device)
    index = torch.searchsorted(cumulative, u * cumulative[-1], right=True)
    return index.clamp_(max=len(cumulative) - 1)


def torch_generator(seed, device):
    """A ``torch.Generator`` on ``device`` seeded with ``seed``; the global RNG is left alone."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator


def build_module(factory: Callable[[], nn.Module], seed, device) -> nn.Module:
    """Build a module with reproducible initial weights without touching the global RNG.

    Weight initialisation in ``torch.nn`` draws from the global generator, so the module is
    built inside ``fork_rng``, which restores the caller's RNG state on exit.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        module = factory()
    return module.to(device)


def adam(parameters, lr, betas=(0.9, 0.999)):
    """The Adam optimiser every synthbalance model trains with: torch's multi-tensor
    ("foreach") implementation, which updates all parameters in a few kernels instead of a
    Python loop over them. On CPU, where torch defaults to the loop, it took 13 % off the
    default tabular CVAE's step (batch 500, one thread: 4.11 against 4.72 ms, measured side by
    side in one process), and the weights after 100 steps were bitwise the same."""
    return torch.optim.Adam(parameters, lr=lr, betas=betas, foreach=True)


def descend(optimizer, loss, ema=None):
    """One optimiser step down ``loss`` (then ``ema``'s update); the detached loss."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if ema is not None:
        ema.update()
    return loss.detach()


def steps_for_epochs(epochs, n_samples, batch_size):
    """The optimiser steps of ``epochs`` passes over ``n_samples`` rows in mini-batches."""
    return int(epochs) * max(1, math.ceil(n_samples / batch_size))


class ExponentialAverage:
    """An exponential moving average of ``module``'s weights (and buffers): after update n,
    ``average = d * average + (1 - d) * weights`` with ``d = min(decay, (1 + n) / (10 + n))``.
    The warm-up (TensorFlow's ``ExponentialMovingAverage`` with ``num_updates``) keeps a
    short run's average from staying near the untrained weights: with a fixed 0.999, 400
    generator steps (a WGAN-GP with 5 critic steps each in a 2,000-step budget) would leave
    two thirds of the weight on the initialisation. ``module`` stays the one trained;
    ``averaged`` is the copy to sample from (torch's ``AveragedModel``)."""

    def __init__(self, module, decay):
        self.decay = decay
        self._model = AveragedModel(module, multi_avg_fn=self._average, use_buffers=True)
        self.source = module

    def _average(self, averaged, current, n_averaged):
        n = float(n_averaged)
        weight = 1.0 - min(self.decay, (1.0 + n) / (10.0 + n))
        for average, value in zip(averaged, current, strict=True):
            if average.is_floating_point():
                average.lerp_(value, weight)
            else:  # integer buffers (batch counts) follow the model
                average.copy_(value)

    @property
    def averaged(self):
        return self._model.module

    def update(self):
        self._model.update_parameters(self.source)


def train(
    module: nn.Module,
    loss_fn: Callable[..., torch.Tensor],
    tensors: Sequence[torch.Tensor],
    *,
    steps,
    batch_size,
    lr,
    generator: torch.Generator,
    ema: ExponentialAverage | None = None,
    **loop,
):
    """Fit ``module`` by minimising ``loss_fn(module, *batch, generator=generator)`` with Adam
    for ``steps`` optimiser steps, updating ``ema`` after each.

    The one-loss case of :func:`train_steps` (see there for the other arguments). Returns
    the mean training loss of each epoch.
    """
    optimizer = adam(module.parameters(), lr)

    def step(*batch, generator):
        return descend(optimizer, loss_fn(module, *batch, generator=generator), ema)

    return train_steps(
        module, step, tensors, steps=steps, batch_size=batch_size, generator=generator, **loop
    )


def train_steps(
    module: nn.Module,
    step: Callable[..., torch.Tensor],
    tensors: Sequence[torch.Tensor],
    *,
    steps,
    batch_size,
    generator: torch.Generator,
    verbose=False,
    desc=None,
    callback: Callable[[int, object], bool] | None = None,
    callback_every=1,
    max_seconds=None,
    weights: torch.Tensor | None = None,
):
    """The training loop: call ``step(*batch, generator=generator)`` ``steps`` times.

    ``step`` makes the optimisation step(s) of one batch (one loss with one optimizer, or
    several alternated, as in a GAN) and returns the detached loss to record: a scalar, or
    a 1-D tensor of several losses. ``tensors`` all live on the module's device and share
    their first dimension; the loop walks them epoch by epoch, each in a fresh random order
    (drawn from ``generator``), in mini-batches of ``batch_size`` (a last, shorter batch
    included), until ``steps`` batches are done; with ``weights`` (one non-negative number per
    row, on the generator's device) each epoch is instead as many rows drawn with
    replacement, row i with probability proportional to ``weights[i]`` (``weighted_rows``, as
    torch's ``WeightedRandomSampler``; class-balanced batches when the weights are 1 / class
    size). ``module`` (holding every network trained) is in training mode while it trains
    and in eval mode otherwise.

    Every ``callback_every`` steps, ``callback(step, loss)`` (``step`` 1-based, ``loss`` the
    mean recorded loss since the previous call, a float or a list of floats) runs in eval
    mode; it stops training by returning True. With ``max_seconds``, training also stops
    after the first step that ends past that wall-clock budget.

    Returns the row-weighted mean recorded loss of each epoch (a float, or a list of floats
    for several losses); a last, unfinished epoch counts as one.
    """
    n_samples = tensors[0].shape[0]
    cumulative = None
    if weights is not None:
        if weights.shape != (n_samples,):
            raise ValueError(
                f"weights must hold one number per row ({n_samples}), got shape "
                f"{tuple(weights.shape)}"
            )
        if n_samples > MULTINOMIAL_LIMIT:
            cumulative = torch.cumsum(weights.double(), dim=0)
    history, started = [], time.perf_counter()
    epoch_total = epoch_rows = window_total = None
    window_steps = done = 0
    progress = tqdm(total=steps, desc=desc, disable=not verbose, leave=False)
    module.train()
    while done < steps:
        if weights is None:
            order = torch.randperm(n_samples, generator=generator, device=generator.device)
        else:
            order = weighted_rows(weights, n_samples, generator, cumulative)
        epoch_total, epoch_rows = None, 0
        for start in range(0, n_samples, batch_size):
            index = order[start : start + batch_size]
            loss = step(*(t[index] for t in tensors), generator=generator)
            done += 1
            progress.update()
            weighted = loss * index.numel()
            epoch_total = weighted if epoch_total is None else epoch_total + weighted
            window_total = loss if window_total is None else window_total + loss
            epoch_rows, window_steps = epoch_rows + index.numel(), window_steps + 1
            stop = max_seconds is not None and time.perf_counter() - started >= max_seconds
            if callback is not None and (done % callback_every == 0 or done == steps or stop):
                module.eval()
                stop = bool(callback(done, _floats(window_total / window_steps))) or stop
                module.train()
                window_total, window_steps = None, 0
            if stop or done == steps:
                history.append(_floats(epoch_total / epoch_rows))
                progress.close()
                module.eval()
                return history
        history.append(_floats(epoch_total / epoch_rows))
    progress.close()
    module.eval()
    return history


def _floats(loss):
    """A recorded loss tensor as a float, or a list of floats for several losses."""
    return [float(v) for v in loss] if loss.ndim else float(loss)


class CheckpointSelector:
    """Keep the best checkpoint by a sample metric, in memory, and stop when it stalls.

    Use as ``train_steps``' ``callback`` with ``callback_every=eval_every``: at each call
    ``score()`` rates ``module`` (lower is better); the best state is copied, and after
    ``patience`` evaluations without improvement (None: never) training stops.
    ``history`` holds ``(step, metric, training loss)`` of every evaluation, so that a
    report can show whether the loss tracks sample quality. ``restore()`` loads the best
    state back.
    """

    def __init__(self, module, score, *, patience=None):
        self.module, self.score, self.patience = module, score, patience
        self.history, self.best_step, self.best_value = [], None, float("inf")
        self._best_state, self._bad = None, 0

    def __call__(self, step, loss):
        with torch.no_grad():
            value = float(self.score())
        self.history.append((step, value, loss))
        if value < self.best_value:
            self.best_value, self.best_step, self._bad = value, step, 0
            self._best_state = copy.deepcopy(self.module.state_dict())
        else:
            self._bad += 1
        return self.patience is not None and self._bad >= self.patience

    def restore(self):
        if self._best_state is not None:
            self.module.load_state_dict(self._best_state)
