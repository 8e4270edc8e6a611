"""A class-conditional denoising diffusion model for tables (and images as flat rows).

Follows TabDDPM (Kotelnikov, Baranchuk, Rubachev & Babenko 2023, "TabDDPM: Modelling
Tabular Data with Diffusion Models", ICML): numeric columns, mapped to a standard normal by
their quantiles, are diffused with Gaussian noise (Ho et al. 2020, the network predicts the
noise); each categorical column, one-hot, is diffused towards the uniform distribution over
its categories (multinomial diffusion, Hoogeboom et al. 2021, the network predicts the
clean one-hot's probabilities, trained on the KL divergence between the true and the
predicted posterior). One MLP denoises both, its input the noisy row plus a sinusoidal
timestep embedding and a class embedding; both processes share the cosine noise schedule of
Nichol & Dhariwal (2021). Sampling walks a strided subsequence of the training timesteps
(``sampling_steps`` of them; the respacing of Nichol & Dhariwal, exact for both processes
because each composes over any stride).
"""

import math
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn
from torch.nn import functional as F

from synthbalance.generators._base import BaseTorchSampler
from synthbalance.generators._preprocessing import TabularPreprocessor
from synthbalance.generators.training import adam, build_module, descend, torch_generator

_SEED_MAX = 2**31 - 1
# Offset of the cosine schedule, so that the first steps add noise of a pixel's size
# (Nichol & Dhariwal 2021); the largest beta, so the last step stays finite.
COSINE_OFFSET, MAX_BETA = 0.008, 0.999
_TINY = 1e-30  # floor of probabilities before a log


def cosine_alphas_bar(n_timesteps):
    """The cumulative products of (1 - beta_t) of the cosine schedule, t = 1..n_timesteps,
    with each beta capped at ``MAX_BETA`` (float64)."""
    t = np.arange(n_timesteps + 1) / n_timesteps
    f = np.cos((t + COSINE_OFFSET) / (1 + COSINE_OFFSET) * math.pi / 2) ** 2
    betas = np.minimum(1 - f[1:] / f[:-1], MAX_BETA)
    return np.cumprod(1 - betas)


@dataclass
class Schedule:
    """A noise schedule over ``timesteps`` (indices into the training schedule, ascending):
    the cumulative ``alphas_bar`` at each and the one before it (1 before the first), the
    per-step ``betas`` (1 - their ratio) and the posterior variances, as float32 tensors on
    a device (computed in float64: near t = 0 the betas are 1 - a ratio close to 1)."""

    timesteps: torch.Tensor
    alphas_bar: torch.Tensor
    alphas_bar_prev: torch.Tensor
    betas: torch.Tensor
    posterior_variance: torch.Tensor

    @classmethod
    def strided(cls, alphas_bar, n_steps, device):
        """The schedule over ``n_steps`` evenly spaced timesteps of ``alphas_bar`` (all of
        them when ``n_steps`` is their number), the last timestep always included."""
        chosen = np.unique(np.round(np.linspace(0, len(alphas_bar) - 1, n_steps)).astype(int))
        kept = alphas_bar[chosen]
        previous = np.concatenate([[1.0], kept[:-1]])
        betas = 1 - kept / previous
        variance = betas * (1 - previous) / (1 - kept)

        def tensor(a):
            return torch.as_tensor(a, dtype=torch.float32, device=device)

        return cls(torch.as_tensor(chosen, device=device), tensor(kept), tensor(previous),
                   tensor(betas), tensor(variance))  # fmt: skip


def sinusoidal_embedding(t, dim):
    """Transformer-style embedding of integer timesteps ``t``: cosines and sines of ``t``
    at ``dim // 2`` geometrically spaced frequencies (Vaswani et al. 2017; Ho et al. 2020)."""
    half = dim // 2
    frequencies = torch.exp(
        -math.log(10_000) * torch.arange(half, device=t.device, dtype=torch.float32) / half
    )
    angles = t.float()[:, None] * frequencies[None]
    embedding = torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)
    return F.pad(embedding, (0, dim % 2))


class Denoiser(nn.Module):
    """MLP of TabDDPM: ``Linear(row) + time embedding + class embedding``, then hidden
    layers of ``hidden_dims`` (ReLU), then one output per input column: the predicted
    noise for the numeric columns, the logits of the clean category for each one-hot
    block. The time embedding is a sinusoidal one through a two-layer SiLU MLP."""

    def __init__(self, n_features, hidden_dims, n_classes, embedding_dim):
        super().__init__()
        self.n_features, self.embedding_dim = n_features, embedding_dim
        self.project = nn.Linear(n_features, embedding_dim)
        self.time = nn.Sequential(
            nn.Linear(embedding_dim, embedding_dim), nn.SiLU(),
            nn.Linear(embedding_dim, embedding_dim),
        )  # fmt: skip
        self.label = nn.Embedding(n_classes, embedding_dim)
        layers, width = [], embedding_dim
        for n_out in hidden_dims:
            layers += [nn.Linear(width, n_out), nn.ReLU()]
            width = n_out
        self.body = nn.Sequential(*layers, nn.Linear(width, n_features))

    def forward(self, x, t, c):
        """The prediction for noisy rows ``x`` at timesteps ``t`` (one per row, or one for
        all) of classes ``c``."""
        embedding = self.time(sinusoidal_embedding(t, self.embedding_dim)) + self.label(c)
        return self.body(self.project(x) + embedding)


def _block_view(x, blocks):
    """The one-hot blocks ``x[:, block]`` of the categorical columns, as a list."""
    return [x[:, block] for block in blocks]


def _sample_one_hot(probabilities, generator):
    """One-hot rows drawn from the rows of ``probabilities``."""
    index = torch.multinomial(probabilities, 1, generator=generator)[:, 0]
    return F.one_hot(index, probabilities.shape[1]).to(probabilities.dtype)


def _categorical_posterior(x_t, x0_probabilities, i, schedule):
    """q(x_{t-1} | x_t, x_0) of multinomial diffusion for one block, with ``x0_probabilities``
    (rows summing to 1) in place of the one-hot x_0; ``i`` indexes ``schedule`` per row."""
    k = x_t.shape[1]
    alpha = (1 - schedule.betas[i])[:, None]
    previous = schedule.alphas_bar_prev[i][:, None]
    unnormalised = (alpha * x_t + (1 - alpha) / k) * (previous * x0_probabilities
                                                        + (1 - previous) / k)  # fmt: skip
    return unnormalised / unnormalised.sum(dim=1, keepdim=True)


def diffusion_loss(model, x, c, *, schedule, n_numeric, blocks, generator):
    """TabDDPM's loss of a batch of clean rows ``x`` (class codes ``c``) at one uniformly
    drawn timestep per row: the mean squared error of the predicted noise on the numeric
    columns plus the mean over categorical blocks of the KL divergence from the true to the
    predicted posterior of the categories (at the first timestep: minus the log-likelihood
    of the clean category)."""
    i = torch.randint(len(schedule.timesteps), (len(x),), generator=generator, device=x.device)
    alpha_bar = schedule.alphas_bar[i][:, None]
    noise = torch.randn((len(x), n_numeric), generator=generator, device=x.device)
    parts = [alpha_bar.sqrt() * x[:, :n_numeric] + (1 - alpha_bar).sqrt() * noise]
    clean = _block_view(x, blocks)
    for x0 in clean:
        parts.append(_sample_one_hot(alpha_bar * x0 + (1 - alpha_bar) / x0.shape[1], generator))
    x_t = torch.cat(parts, dim=1)
    out = model(x_t, schedule.timesteps[i], c)
    loss = ((out[:, :n_numeric] - noise) ** 2).mean(dim=1) if n_numeric else 0.0
    if blocks:
        kl = 0.0
        for block, x0 in zip(blocks, clean, strict=True):
            true = _categorical_posterior(x_t[:, block], x0, i, schedule)
            predicted = _categorical_posterior(
                x_t[:, block], torch.softmax(out[:, block], dim=1), i, schedule
            )
            kl = kl + (torch.xlogy(true, true) - true * predicted.clamp_min(_TINY).log()).sum(1)
        loss = loss + kl / len(blocks)
    return loss.mean()


@torch.no_grad()
def reverse_process(model, code, n_samples, *, schedule, n_numeric, blocks, clip, generator):
    """``n_samples`` rows of class code ``code`` in the model's space: from pure noise
    (standard normal numeric columns, uniform categories) down ``schedule``'s timesteps by
    ancestral sampling. The predicted clean numeric values are clipped to [-clip, clip]."""
    device = schedule.alphas_bar.device
    c = torch.full((n_samples,), code, dtype=torch.long, device=device)
    numeric = torch.randn((n_samples, n_numeric), generator=generator, device=device)
    categories = [
        _sample_one_hot(torch.full((n_samples, b.stop - b.start), 1.0, device=device), generator)
        for b in blocks
    ]
    for step in reversed(range(len(schedule.timesteps))):
        i = torch.full((1,), step, dtype=torch.long, device=device)  # broadcast over rows
        out = model(torch.cat([numeric, *categories], dim=1), schedule.timesteps[i], c)
        alpha_bar, previous = schedule.alphas_bar[step], schedule.alphas_bar_prev[step]
        beta = schedule.betas[step]
        x0 = (numeric - (1 - alpha_bar).sqrt() * out[:, :n_numeric]) / alpha_bar.sqrt()
        x0 = x0.clamp(-clip, clip)
        numeric = (beta * previous.sqrt() * x0 + (1 - previous) * (1 - beta).sqrt() * numeric) / (
            1 - alpha_bar
        )
        if step > 0:
            noise = torch.randn(numeric.shape, generator=generator, device=device)
            numeric = numeric + schedule.posterior_variance[step].sqrt() * noise
        categories = [
            _sample_one_hot(
                _categorical_posterior(x_t, torch.softmax(out[:, block], dim=1), i, schedule),
                generator,
            )
            for block, x_t in zip(blocks, categories, strict=True)
        ]
    return torch.cat([numeric, *categories], dim=1)


class DDPMSampler(BaseTorchSampler):
    """Over-sample with one class-conditional diffusion model trained on every row (TabDDPM).

    Numeric columns are quantile-transformed to a standard normal and diffused with Gaussian
    noise, categorical columns (``categorical_features``) one-hot and diffused by
    multinomial diffusion; one MLP denoiser, given the noisy row, a sinusoidal timestep
    embedding and the class's embedding, predicts the numeric noise and the clean
    categories (Kotelnikov et al. 2023; module docstring). New rows of a class start from
    noise and are denoised under its condition in ``sampling_steps`` strided steps of the
    ``n_timesteps`` the model was trained on. Images (``image_shape`` given) are flat rows of
    pixels scaled to [-1, 1], denoised by the same MLP.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        As in imbalanced-learn.
    n_timesteps : int, default=1000
        Diffusion timesteps of training (TabDDPM's 1,000), on the cosine schedule.
    sampling_steps : int, default=100
        Denoising steps when generating: evenly strided timesteps of the training ones
        (at most ``n_timesteps``; equal to it: the full ancestral sampler).
    hidden_dims : sequence of int or "auto", default="auto"
        Widths of the denoiser's hidden layers; ``"auto"``: (256, 256).
    embedding_dim : int, default=128
        Width of the input projection and of the timestep and class embeddings.
    steps, batch_size : int or "auto", default="auto"
        Training length in optimiser steps and mini-batch size; ``"auto"``: 3,000 steps of
        256 rows.
    max_seconds : float, default=None
        Wall-clock training budget: training stops after the first step past it.
    lr : float, default=2e-3
        Adam's learning rate.
    ema : float, default=0.999
        Decay of the exponential moving average of the weights that samples and is
        selected (0: the raw weights).
    balanced_batches : bool, default=True
        Draw class-balanced batches (see ``BaseTorchSampler``); False: each row once per
        epoch.
    architecture : {"auto", "mlp"}, default="auto"
        Always an MLP (images are rows of pixels).
    image_shape : (channels, height, width) or None
        Rows are flattened images of this shape; generated pixels stay in the range seen.
    categorical_features : array-like of int or bool, or None
        Categorical columns of a table (codes or labels), diffused by multinomial
        diffusion; new rows hold only categories seen in ``fit_resample``.
    selection, eval_every, patience, validation_fraction :
        Checkpoint selection by a sample metric (see ``BaseTorchSampler``).
    device : str, default="auto"
        ``"auto"`` uses CUDA when available.
    random_state : int, RandomState instance or None
    verbose : bool, default=False
        Show a progress bar while training.

    Attributes
    ----------
    model_ : Denoiser
        The trained denoiser (the averaged weights with ``ema``).
    classes_ : ndarray
        Classes seen in ``fit_resample``; the condition of a class is its index here.
    loss_history_ : list of float
        Mean training loss per epoch.
    selection_ : dict or None
    """

    _AUTO = {"mlp": {"hidden_dims": (256, 256), "batch_size": 256, "steps": 3000}}

    _parameter_constraints: dict = {
        **BaseTorchSampler._parameter_constraints,
        "n_timesteps": [Interval(Integral, 1, None, closed="left")],
        "sampling_steps": [Interval(Integral, 1, None, closed="left")],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "architecture": [StrOptions({"auto", "mlp"})],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        n_timesteps=1000,
        sampling_steps=100,
        hidden_dims="auto",
        embedding_dim=128,
        steps="auto",
        max_seconds=None,
        batch_size="auto",
        lr=2e-3,
        ema=0.999,
        balanced_batches=True,
        architecture="auto",
        image_shape=None,
        categorical_features=None,
        selection="last",
        eval_every=500,
        patience=None,
        validation_fraction=0.2,
        device="auto",
        random_state=None,
        verbose=False,
    ):
        super().__init__(
            sampling_strategy=sampling_strategy,
            hidden_dims=hidden_dims,
            steps=steps,
            max_seconds=max_seconds,
            batch_size=batch_size,
            lr=lr,
            ema=ema,
            balanced_batches=balanced_batches,
            architecture=architecture,
            image_shape=image_shape,
            categorical_features=categorical_features,
            selection=selection,
            eval_every=eval_every,
            patience=patience,
            validation_fraction=validation_fraction,
            device=device,
            random_state=random_state,
            verbose=verbose,
        )
        self.n_timesteps = n_timesteps
        self.sampling_steps = sampling_steps
        self.embedding_dim = embedding_dim

    def _tabular_preprocessor(self):
        return TabularPreprocessor(self.categorical_features, numeric="quantile")

    def _check_architecture(self, n_features):
        super()._check_architecture(n_features)  # image_shape and categories checked there
        if self.sampling_steps > self.n_timesteps:
            raise ValueError(
                f"sampling_steps={self.sampling_steps} exceeds n_timesteps="
                f"{self.n_timesteps}: sampling walks a subsequence of the training timesteps."
            )
        return "mlp"

    def _fit_model(self, Z, y, rng):
        codes, generated = self._encode_classes(y)
        seed = rng.randint(_SEED_MAX)
        slices = self.preprocessor_.categorical_slices_
        self._n_numeric = slices[0].start if slices else Z.shape[1]
        self._blocks = list(slices)
        Z = self._to_model(Z)
        # the largest clean numeric value seen: predictions of x_0 are clipped to it
        self._clip = float(np.abs(Z[:, : self._n_numeric]).max()) if self._n_numeric else 1.0
        alphas_bar = cosine_alphas_bar(self.n_timesteps)
        self._schedule = Schedule.strided(alphas_bar, self.n_timesteps, self.device_)
        self._sampling_schedule = Schedule.strided(alphas_bar, self.sampling_steps, self.device_)
        model = build_module(
            lambda: Denoiser(Z.shape[1], self.hidden_dims_, len(self.classes_),
                             self.embedding_dim),
            seed, self.device_,
        )  # fmt: skip
        held_out = self._held_out_rows(codes, generated, np.random.RandomState(seed))
        tensors = [
            torch.as_tensor(Z[~held_out], device=self.device_),
            torch.as_tensor(codes[~held_out], device=self.device_),
        ]
        score = None
        if held_out.any():
            validation = (self._from_model(Z[held_out]), codes[held_out])

            def score(network):
                def generate(code, n):  # the same noise at every evaluation
                    return self._denoise(network, code, n, torch_generator(seed, self.device_))

                return self._sample_score(validation, generate, seed)

        self.model_, self.loss_history_, self.selection_ = self._train(
            model, self._step(model), tensors, seed, sampled=model, score=score, desc="DDPM",
            codes=codes[~held_out],
        )  # fmt: skip

    def _step(self, model):
        """One Adam step on the diffusion loss of a batch; the average updated after it."""
        optimizer = adam(model.parameters(), self.lr)
        averaged = self._averaged(model)

        def step(x, c, *, generator):
            loss = diffusion_loss(
                model, x, c, schedule=self._schedule, n_numeric=self._n_numeric,
                blocks=self._blocks, generator=generator,
            )  # fmt: skip
            return descend(optimizer, loss, averaged)

        return step

    def _to_model(self, Z):
        """Preprocessed rows in the model's space: pixels in [0, 1] become [-1, 1]."""
        return Z if self.image_shape is None else 2 * Z - 1

    def _from_model(self, Z):
        return Z if self.image_shape is None else (Z + 1) / 2

    def _denoise(self, network, code, n_samples, generator):
        """``n_samples`` rows of class code ``code`` in the preprocessed space."""
        rows = reverse_process(
            network, code, n_samples, schedule=self._sampling_schedule,
            n_numeric=self._n_numeric, blocks=self._blocks, clip=self._clip,
            generator=generator,
        )  # fmt: skip
        return self._from_model(rows.cpu().numpy())

    def _generate(self, class_, n_samples, rng):
        generator = torch_generator(rng.randint(_SEED_MAX), self.device_)
        return self._denoise(self.model_, self._code(class_), n_samples, generator)

    def _fitted_classes(self):
        return list(self.classes_)
