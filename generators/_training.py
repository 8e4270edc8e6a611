"""The one training loop shared by every torch generator, and its small helpers."""

from collections.abc import Callable, Sequence

import torch
from torch import nn
from tqdm.auto import trange


def resolve_device(device):
    """``"auto"`` means CUDA when available, else CPU; anything else goes to ``torch.device``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


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
):
    """Fit ``module`` by minimising ``loss_fn(module, *batch, generator=generator)`` with Adam.

    ``tensors`` all live on the module's device and share their first dimension; every epoch
    walks them in a fresh random order (drawn from ``generator``) in mini-batches of
    ``batch_size``. Returns the mean training loss of each epoch.
    """
    optimizer = torch.optim.Adam(module.parameters(), lr=lr)
    n_samples = tensors[0].shape[0]
    history = []
    module.train()
    for _ in trange(epochs, desc=desc, disable=not verbose, leave=False):
        order = torch.randperm(n_samples, generator=generator, device=generator.device)
        total = torch.zeros((), device=tensors[0].device)
        for start in range(0, n_samples, batch_size):
            index = order[start : start + batch_size]
            loss = loss_fn(module, *(t[index] for t in tensors), generator=generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * index.numel()
        history.append(float(total) / n_samples)
    module.eval()
    return history
