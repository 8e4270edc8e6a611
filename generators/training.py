"""The one training loop shared by every torch generator, and its small helpers."""

import copy
import math
import time
from collections.abc import Callable, Sequence
from numbers import Integral

import torch
from torch import nn
from tqdm.auto import trange


def resolve_device(device):
    """``"auto"`` means CUDA when available, else CPU; anything else goes to ``torch.device``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device={device!r} is not a torch device ({error}).") from None


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


def train(
    module: nn.Module,
    loss_fn: Callable[..., torch.Tensor],
    tensors: Sequence[torch.Tensor],
    *,
    epochs,
    batch_size,
    lr,
    generator: torch.Generator,
    verbose=False,
    desc=None,
    after_epoch: Callable[[int], bool] | None = None,
    max_seconds=None,
):
    """Fit ``module`` by minimising ``loss_fn(module, *batch, generator=generator)`` with Adam.

    The one-loss case of :func:`train_steps`, which walks the data (see there). Returns
    the mean training loss of each epoch.
    """
    optimizer = torch.optim.Adam(module.parameters(), lr=lr)

    def step(*batch, generator):
        loss = loss_fn(module, *batch, generator=generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return train_steps(
        module,
        step,
        tensors,
        epochs=epochs,
        batch_size=batch_size,
        generator=generator,
        verbose=verbose,
        desc=desc,
        after_epoch=after_epoch,
        max_seconds=max_seconds,
    )


def train_steps(
    module: nn.Module,
    step: Callable[..., torch.Tensor],
    tensors: Sequence[torch.Tensor],
    *,
    epochs,
    batch_size,
    generator: torch.Generator,
    verbose=False,
    desc=None,
    after_epoch: Callable[[int], bool] | None = None,
    max_seconds=None,
):
    """The training loop: call ``step(*batch, generator=generator)`` on every mini-batch.

    ``step`` makes the optimisation step(s) of one batch (one loss with one optimizer, or
    several alternated, as in a GAN) and returns the detached loss to record: a scalar, or
    a 1-D tensor of several losses. ``tensors`` all live on the module's device and share
    their first dimension; every epoch walks them in a fresh random order (drawn from
    ``generator``) in mini-batches of ``batch_size``. ``module`` (holding every network
    trained) is in training mode during the epochs and in eval mode otherwise.
    ``after_epoch(epoch)`` (1-based), when given, runs after every epoch and stops
    training by returning True. With ``max_seconds``, training also stops after the first
    epoch that ends past that wall-clock budget. Returns the row-weighted mean of the
    recorded loss of each epoch: a float, or a list of floats for several losses.
    """
    n_samples = tensors[0].shape[0]
    history = []
    started = time.perf_counter()
    module.train()
    for _ in trange(epochs, desc=desc, disable=not verbose, leave=False):
        order = torch.randperm(n_samples, generator=generator, device=generator.device)
        total = None
        for start in range(0, n_samples, batch_size):
            index = order[start : start + batch_size]
            loss = step(*(t[index] for t in tensors), generator=generator) * index.numel()
            total = loss if total is None else total + loss
        if total.ndim:
            history.append([float(value) / n_samples for value in total])
        else:
            history.append(float(total) / n_samples)
        if after_epoch is not None:
            module.eval()
            stop = after_epoch(len(history))
            module.train()
            if stop:
                break
        if max_seconds is not None and time.perf_counter() - started >= max_seconds:
            break
    module.eval()
    return history


class CheckpointSelector:
    """Keep the best checkpoint by a sample metric, in memory, and stop when it stalls.

    Every ``eval_every`` epochs ``score()`` rates the module (lower is better); the best
    state is copied, and after ``patience`` evaluations without improvement (None: never)
    training stops. ``restore()`` loads the best state back. Use as ``train``'s
    ``after_epoch``.
    """

    def __init__(self, module, score, *, eval_every, patience=None):
        self.module, self.score = module, score
        self.eval_every, self.patience = eval_every, patience
        self.history, self.best_epoch, self.best_value = [], None, float("inf")
        self._best_state, self._bad = None, 0

    def __call__(self, epoch):
        if epoch % self.eval_every:
            return False
        with torch.no_grad():
            value = float(self.score())
        self.history.append((epoch, value))
        if value < self.best_value:
            self.best_value, self.best_epoch, self._bad = value, epoch, 0
            self._best_state = copy.deepcopy(self.module.state_dict())
        else:
            self._bad += 1
        return self.patience is not None and self._bad >= self.patience

    def restore(self):
        if self._best_state is not None:
            self.module.load_state_dict(self._best_state)
