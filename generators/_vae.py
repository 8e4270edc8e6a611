"""Variational autoencoders: the network, its loss, and the two samplers built on it.

``VAESampler`` trains one VAE per class to over-sample on that class's rows only;
``CVAESampler`` trains one conditional VAE on every row with the class as condition.
Both generate by decoding latent codes chosen by ``sampling``:

- ``"prior"``: z ~ N(0, I);
- ``"posterior"``: z ~ q(z | x) for one random real row x of the class;
- ``"latent_average"``: z = mean of the encoder means of ``k`` real rows of the class,
  drawn without replacement, plus N(0, noise^2) noise.

The decoder's likelihood (``synthbalance.generators._likelihoods``) is calibrated to the data
by default (the optimal sigma-VAE for tables, Bernoulli for images), which keeps the latent
code alive: with the classic unit-variance Gaussian the KL term wins on standardised
columns and pixels, and the decoder outputs the class mean whatever z is. ``kl_warmup`` and
``free_bits`` are further remedies against that posterior collapse; ``diagnostics_`` reports
the KL per latent dimension and the active units (Burda et al. 2016) so a collapsed model
is seen, not guessed.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn
from torch.nn import functional as F

from synthbalance.generators._base import SAMPLE_CHUNK, BaseTorchSampler
from synthbalance.generators._likelihoods import (
    BernoulliLikelihood,
    GaussianLikelihood,
    kl_per_dimension,
    kl_term,
    make_likelihood,
)
from synthbalance.generators.training import adam, build_module, descend, torch_generator

_SEED_MAX = 2**31 - 1


def _mlp(sizes):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """Gaussian-latent MLP VAE; with ``n_classes > 0`` encoder and decoder also see a one-hot
    class.

    ``categorical_slices`` are the one-hot blocks of categorical features among the input
    columns (after the numeric ones): the decoder outputs logits there, trained with
    cross-entropy; the numeric columns are scored by ``likelihood`` (a module of
    ``_likelihoods``; default: the classic unit-variance Gaussian).
    """

    def __init__(
        self, n_features, latent_dim, hidden_dims, n_classes=0, categorical_slices=(),
        likelihood=None,
    ):  # fmt: skip
        super().__init__()
        hidden_dims = list(hidden_dims)
        self.n_features = n_features
        self.n_classes = n_classes
        self.categorical_slices = list(categorical_slices)
        self.n_numeric = self.categorical_slices[0].start if self.categorical_slices else n_features
        self.encoder = _mlp([n_features + n_classes, *hidden_dims])
        width = hidden_dims[-1] if hidden_dims else n_features + n_classes
        self.mu = nn.Linear(width, latent_dim)
        self.logvar = nn.Linear(width, latent_dim)
        decoder_dims = [latent_dim + n_classes, *reversed(hidden_dims)]
        self.decoder = nn.Sequential(_mlp(decoder_dims), nn.Linear(decoder_dims[-1], n_features))
        self.likelihood = likelihood or GaussianLikelihood(self.n_numeric, "unit")

    def _condition(self, tensor, c):
        """``tensor`` with the condition appended: ``c`` holds class indices (one-hot) or,
        as floats, one row of class weights per row (blended conditions)."""
        if not self.n_classes:
            return tensor
        if not c.is_floating_point():
            c = F.one_hot(c, self.n_classes)
        return torch.cat([tensor, c.to(tensor.dtype)], dim=1)

    def encode(self, x, c=None):
        h = self.encoder(self._condition(x, c))
        return self.mu(h), self.logvar(h)

    def decode(self, z, c=None):
        """The decoder's raw output: the likelihood's parameters and categorical logits."""
        return self.decoder(self._condition(z, c))

    def reconstruction(self, raw, x):
        """Per row: the likelihood's negative log-likelihood of the numeric columns plus the
        cross-entropy of each categorical one-hot block."""
        n = self.n_numeric
        error = self.likelihood.nll(raw[:, :n], x[:, :n]) if n else 0.0
        for block in self.categorical_slices:
            labels = x[:, block].argmax(dim=1)
            error = error + F.cross_entropy(raw[:, block], labels, reduction="none")
        return error

    def rows(self, raw, generator=None):
        """Generated rows of a raw decoder output: the likelihood's mean, or rows drawn from
        it when a ``generator`` is given; categorical blocks keep their logits."""
        n = self.n_numeric
        numeric = raw[:, :n]
        numeric = self.likelihood.mean(numeric) if generator is None else (
            self.likelihood.sample(numeric, generator)
        )  # fmt: skip
        return torch.cat([numeric, raw[:, n:]], dim=1)


class ConvVAE(VAE):
    """Convolutional VAE for images given as flattened rows of ``image_shape`` (C, H, W) in
    [0, 1]. Strided convolutions of widths ``channels`` encode, transposed ones decode to
    pixel logits, which ``likelihood`` (default Bernoulli) scores; a class condition enters
    as constant one-hot input planes and next to the latent code. ``encode``/``decode``
    take and return flat rows, like ``VAE``."""

    def __init__(self, image_shape, latent_dim, channels, n_classes=0, likelihood=None):
        nn.Module.__init__(self)
        self.categorical_slices = []
        channels = list(channels) or [32]
        self.image_shape = tuple(int(s) for s in image_shape)
        self.n_features = self.n_numeric = int(np.prod(self.image_shape))
        self.n_classes = n_classes
        depth, height, width = self.image_shape
        layers, n_in = [], depth + n_classes
        for n_out in channels:
            layers += [nn.Conv2d(n_in, n_out, 3, stride=2, padding=1), nn.ReLU()]
            n_in = n_out
        self.encoder = nn.Sequential(*layers, nn.Flatten())
        with torch.no_grad():
            features = self.encoder[:-1](torch.zeros(1, depth + n_classes, height, width))
        self.grid = tuple(features.shape[1:])
        flat = int(np.prod(self.grid))
        self.mu = nn.Linear(flat, latent_dim)
        self.logvar = nn.Linear(flat, latent_dim)
        layers = []
        for n_in, n_out in zip(channels[::-1], channels[::-1][1:] + [depth], strict=True):
            layers += [nn.ConvTranspose2d(n_in, n_out, 4, stride=2, padding=1), nn.ReLU()]
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim + n_classes, flat), nn.ReLU(), nn.Unflatten(1, self.grid),
            *layers[:-1],  # no ReLU on the logits
        )  # fmt: skip
        self.likelihood = likelihood or BernoulliLikelihood()

    def encode(self, x, c=None):
        image = x.view(-1, *self.image_shape)
        if self.n_classes:
            planes = F.one_hot(c, self.n_classes).to(x.dtype)[:, :, None, None]
            image = torch.cat([image, planes.expand(-1, -1, *self.image_shape[1:])], dim=1)
        h = self.encoder(image)
        return self.mu(h), self.logvar(h)

    def decode(self, z, c=None):
        image = self.decoder(self._condition(z, c))
        return F.interpolate(image, size=self.image_shape[1:], mode="bilinear").flatten(1)


def vae_loss(model, x, c=None, *, beta, free_bits=0.0, generator):
    """Negative ELBO per row, averaged: the reconstruction term (``VAE.reconstruction``) plus
    ``beta`` times the KL term (``_likelihoods.kl_term``, with ``free_bits``)."""
    mu, logvar = model.encode(x, c)
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    raw = model.decode(mu + eps * torch.exp(0.5 * logvar), c)
    return (model.reconstruction(raw, x) + beta * kl_term(mu, logvar, free_bits)).mean()


def _choose_without_replacement(n_rows, population, k, generator):
    """``(n_rows, k)`` indices; each row holds ``k`` distinct draws from ``range(population)``.

    For a large population, draw with replacement and redraw the rows that repeat an index
    (at most half of them when k² <= population), so the cost does not grow with the
    population; for a small one, keep the ``k`` largest of ``population`` random keys.
    """
    if k * k <= population:
        index = torch.randint(population, (n_rows, k), generator=generator, device=generator.device)
        while True:
            ordered = index.sort(dim=1).values
            repeats = (ordered[:, 1:] == ordered[:, :-1]).any(dim=1).nonzero().flatten()
            if not len(repeats):
                return index
            index[repeats] = torch.randint(
                population, (len(repeats), k), generator=generator, device=generator.device
            )
    chunk = max(1, 4_000_000 // population)
    parts = []
    for start in range(0, n_rows, chunk):
        n = min(chunk, n_rows - start)
        keys = torch.rand((n, population), generator=generator, device=generator.device)
        parts.append(keys.topk(k, dim=1, sorted=False).indices)
    return torch.cat(parts) if parts else torch.empty((0, k), dtype=torch.long)


class _BaseVAESampler(BaseTorchSampler):
    """A VAE (or one per class) behind the sampler; subclasses choose what is conditioned."""

    _AUTO = {
        "mlp": {"hidden_dims": (128, 128), "batch_size": 128, "steps": 1000},
        "conv": {"hidden_dims": (32, 64), "batch_size": 64, "steps": 2000},
    }
    _parameter_constraints: dict = {
        **BaseTorchSampler._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "likelihood": [StrOptions({"auto", "gaussian", "bernoulli", "continuous_bernoulli"})],
        "output_variance": [StrOptions({"unit", "shared", "per_feature"})],
        "decoder_noise": ["boolean", StrOptions({"auto"})],
        "kl_warmup": [Interval(Integral, 0, None, closed="left")],
        "free_bits": [Interval(Real, 0, None, closed="left")],
        "sampling": [StrOptions({"prior", "posterior", "latent_average"})],
        "k": [Interval(Integral, 1, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        latent_dim=8,
        hidden_dims="auto",
        steps="auto",
        max_seconds=None,
        batch_size="auto",
        lr=1e-3,
        ema=0.0,
        balanced_batches=True,
        beta=1.0,
        likelihood="auto",
        output_variance="shared",
        decoder_noise="auto",
        kl_warmup=0,
        free_bits=0.0,
        sampling="posterior",
        k=10,
        noise=0.0,
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
        self.latent_dim = latent_dim
        self.beta = beta
        self.likelihood = likelihood
        self.output_variance = output_variance
        self.decoder_noise = decoder_noise
        self.kl_warmup = kl_warmup
        self.free_bits = free_bits
        self.sampling = sampling
        self.k = k
        self.noise = noise

    def _likelihood_kind(self):
        """``likelihood`` with "auto" resolved: Bernoulli for images, a Gaussian for tables."""
        if self.likelihood == "auto":
            return "gaussian" if self.image_shape is None else "bernoulli"
        if self.likelihood != "gaussian" and self.image_shape is None:
            raise ValueError(
                f"likelihood={self.likelihood!r} is for pixels in [0, 1]; tables (no "
                "image_shape) take likelihood='gaussian'."
            )
        return self.likelihood

    def _noisy(self):
        """Whether samples are drawn from p(x | z) rather than decoded as its mean: "auto"
        draws them for tables with a learnt variance (the model's own spread) and decodes
        the mean for images."""
        if self.decoder_noise == "auto":
            return self.image_shape is None and self.output_variance != "unit"
        return bool(self.decoder_noise)

    def _network(self, n_features, n_classes):
        kind = self._likelihood_kind()
        if self.architecture_ == "conv":
            likelihood = make_likelihood(kind, n_features, self.output_variance, squash=True)
            return ConvVAE(self.image_shape, self.latent_dim, self.hidden_dims_, n_classes,
                           likelihood)  # fmt: skip
        slices = self.preprocessor_.categorical_slices_
        n_numeric = slices[0].start if slices else n_features
        squash = self.image_shape is not None  # an MLP on flattened images in [0, 1]
        likelihood = make_likelihood(kind, n_numeric, self.output_variance, squash=squash)
        return VAE(n_features, self.latent_dim, self.hidden_dims_, n_classes, slices, likelihood)

    def _train_vae(self, Z, c, n_classes, seed, desc, generated=None):
        """Train one VAE on preprocessed rows ``Z`` (class codes ``c`` or None).

        ``generated`` are the codes of the classes to generate (None: every row's class);
        checkpoint selection holds out some of their rows. Returns the model to sample from,
        the encoder means and log-variances of the training rows, their codes, the loss
        history, the selection record (or None) and the diagnostics.
        """
        model = build_module(lambda: self._network(Z.shape[1], n_classes), seed, self.device_)
        codes = np.zeros(len(Z), dtype=np.int64) if c is None else np.asarray(c)
        held_out = self._held_out_rows(codes, generated, np.random.RandomState(seed))
        as_tensor = lambda a: torch.as_tensor(a, device=self.device_)  # noqa: E731
        tensors = [as_tensor(Z[~held_out])] + (
            [as_tensor(codes[~held_out])] if c is not None else []
        )
        score = None
        if held_out.any():
            validation = (Z[held_out], codes[held_out])

            def score(network):
                return self._vae_score(network, tensors, validation, c is not None, seed)

        model, history, selection = self._train(
            model, self._vae_step(model), tensors, seed, sampled=model, score=score, desc=desc,
            codes=codes[~held_out] if c is not None else None,
        )  # fmt: skip
        with torch.no_grad():
            # in chunks: one pass over millions of rows would hold every activation at once
            encoded = [
                model.encode(*(t[start : start + SAMPLE_CHUNK] for t in tensors))
                for start in range(0, len(tensors[0]), SAMPLE_CHUNK)
            ]
            mu = torch.cat([m for m, _ in encoded])
            logvar = torch.cat([v for _, v in encoded])
        return model, mu, logvar, codes[~held_out], history, selection, _diagnostics(mu, logvar)

    def _vae_step(self, model):
        """One Adam step on the negative ELBO of a batch, the KL weight ramped up linearly
        over the first ``kl_warmup`` steps; the exponential average updated after it."""
        optimizer = adam(model.parameters(), self.lr)
        averaged = self._averaged(model)
        done = [0]

        def step(*batch, generator):
            done[0] += 1
            beta = self.beta * min(1.0, done[0] / self.kl_warmup) if self.kl_warmup else self.beta
            loss = vae_loss(model, *batch, beta=beta, free_bits=self.free_bits,
                            generator=generator)  # fmt: skip
            return descend(optimizer, loss, averaged)

        return step

    def _vae_score(self, model, tensors, validation, conditional, seed):
        """Rate a checkpoint on the held-out rows by a sample metric (lower is better) of
        rows decoded from latents drawn by ``sampling``."""
        generator = torch_generator(seed, self.device_)
        Z_train, codes_train = tensors[0], (tensors[1] if conditional else None)

        def generate(code, n):
            c = None
            if conditional:
                rows = codes_train == code
                c = torch.full((rows.sum().item(),), code, device=self.device_)
                mu, logvar = model.encode(Z_train[rows], c)
                c = torch.full((n,), code, device=self.device_)
            else:
                mu, logvar = model.encode(Z_train)
            z = self._draw_latents(mu, logvar, n, min(self.k, len(mu)), generator)
            raw = model.decode(z, c)
            return model.rows(raw, generator if self._noisy() else None).cpu().numpy()

        return self._sample_score(validation, generate, seed)

    def _decode_latents(self, model, mu, logvar, condition, n_samples, rng):
        """Draw ``n_samples`` latent codes by ``self.sampling`` from one class's posteriors
        ``(mu, logvar)`` and decode them (with class index ``condition`` for a CVAE)."""
        generator = torch_generator(rng.randint(_SEED_MAX), self.device_)
        k = self.k
        if self.sampling == "latent_average" and k > len(mu):
            warnings.warn(
                f"k={k} is larger than the {len(mu)} training samples of the class: "
                f"averaging {len(mu)} latents instead.",
                UserWarning,
                stacklevel=4,
            )
            k = len(mu)
        out = []
        with torch.no_grad():
            for start in range(0, n_samples, SAMPLE_CHUNK):
                n = min(SAMPLE_CHUNK, n_samples - start)
                z = self._draw_latents(mu, logvar, n, k, generator)
                c = None
                if condition is not None:
                    c = torch.full((n,), condition, dtype=torch.long, device=self.device_)
                raw = model.decode(z, c)
                out.append(model.rows(raw, generator if self._noisy() else None).cpu().numpy())
        return np.concatenate(out) if out else np.empty((0, model.n_features))

    def _draw_latents(self, mu, logvar, n, k, generator):
        def normal(shape):
            return torch.randn(shape, generator=generator, device=mu.device, dtype=mu.dtype)

        if self.sampling == "prior":
            return normal((n, mu.shape[1]))
        if self.sampling == "posterior":
            index = torch.randint(len(mu), (n,), generator=generator, device=mu.device)
            return mu[index] + torch.exp(0.5 * logvar[index]) * normal((n, mu.shape[1]))
        index = _choose_without_replacement(n, len(mu), k, generator)
        z = mu[index].mean(dim=1)
        if self.noise:
            z = z + self.noise * normal(z.shape)
        return z


class VAESampler(_BaseVAESampler):
    """Over-sample with one VAE per class, each trained on that class's rows only.

    The approach most people try first on a 20,000 vs 500 dataset: the minority VAE sees
    500 rows and nothing else.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        As in imbalanced-learn.
    latent_dim : int, default=8
    hidden_dims : sequence of int or "auto", default="auto"
        Widths of the encoder's hidden layers (the decoder mirrors them), or the conv
        channels per block for images; ``"auto"``: (128, 128) for tables, (32, 64) for
        images.
    steps, batch_size : int or "auto", default="auto"
        Training length in optimiser steps and mini-batch size; ``"auto"``: 1,000 steps of
        128 rows for tables (the CVAE, trained on every class with class-balanced batches:
        500 steps of 500 rows), 2,000 steps of 64 images.
    lr : float, default=1e-3
        Adam's learning rate.
    max_seconds : float, default=None
        Wall-clock training budget: training stops after the first step past it.
    ema : float, default=0.0
        Decay of an exponential moving average of the weights to sample from (0: none).
    balanced_batches : bool, default=True
        The CVAE (trained on every class) draws class-balanced batches (see
        ``BaseTorchSampler``); no effect on the VAE, whose models see one class each.
    beta : float, default=1.0
        Weight of the KL term.
    likelihood : {"auto", "gaussian", "bernoulli", "continuous_bernoulli"}, default="auto"
        The decoder's likelihood: "auto" is a Gaussian for tables and Bernoulli for images
        (pixels in [0, 1]).
    output_variance : {"unit", "shared", "per_feature"}, default="shared"
        The Gaussian's variance: "unit" is the classic VAE (prone to posterior collapse),
        "shared" and "per_feature" set it to its maximum-likelihood value on each batch,
        for all columns at once or per column (the optimal sigma-VAE, Rybkin et al. 2021).
    decoder_noise : bool or "auto", default="auto"
        Draw new rows from p(x | z) instead of decoding its mean; "auto": for tables with a
        learnt variance.
    kl_warmup : int, default=0
        Steps over which the KL weight ramps up linearly from 0 to ``beta``.
    free_bits : float, default=0.0
        Nats per latent dimension below which its KL costs nothing (Kingma et al. 2016).
    sampling : {"prior", "posterior", "latent_average"}, default="posterior"
        How new latents are drawn (module docstring). Measured on mnist and seed_case
        (docs/benchmark.md), posterior samples are the most faithful (highest CAS, lowest
        Fréchet distance) and still diverse; latent averaging trades diversity for
        typicality by design.
    k : int, default=10
        Latents averaged per new sample with ``sampling="latent_average"``; reduced, with a
        warning, for a class with fewer training rows.
    noise : float, default=0.0
        Std of Gaussian noise added to the averaged latent.
    categorical_features : array-like of int or bool, default=None
        Categorical columns (their codes or labels): one-hot encoded for the network, a
        softmax head each in the decoder (cross-entropy in the loss); new rows hold only
        categories seen in ``fit_resample``.
    selection, eval_every, patience, validation_fraction :
        Checkpoint selection by a sample metric (see ``BaseTorchSampler``).
    device : str, default="auto"
        ``"auto"`` uses CUDA when available.
    random_state : int, RandomState instance or None
    verbose : bool, default=False
        Show a progress bar while training.

    Attributes
    ----------
    models_ : dict
        Class label -> trained ``VAE`` (the averaged weights with ``ema``).
    loss_history_ : dict
        Class label -> mean training loss per epoch.
    diagnostics_ : dict
        Class label -> KL per latent dimension and active units.
    """

    def _fit_model(self, Z, y, rng):
        self.models_, self.latents_, self.loss_history_, selection = {}, {}, {}, {}
        diagnostics = {}
        for class_, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            model, mu, logvar, _, history, selection[str(class_)], found = self._train_vae(
                Z[y == class_], None, 0, rng.randint(_SEED_MAX), desc=f"VAE {class_}"
            )
            self.models_[class_] = model
            self.latents_[class_] = (mu, logvar)
            self.loss_history_[class_] = history
            diagnostics[str(class_)] = found
        self.selection_ = selection if any(selection.values()) else None
        self.diagnostics_ = diagnostics

    def _generate(self, class_, n_samples, rng):
        return self._decode_latents(
            self.models_[class_], *self.latents_[class_], None, n_samples, rng
        )

    def _fitted_classes(self):
        return self.models_.keys()


class CVAESampler(_BaseVAESampler):
    """Over-sample with one conditional VAE trained on every row, the class as condition.

    The majority class teaches the shared encoder and decoder what the data look like;
    the condition steers generation to the class asked for. Can generate any class seen
    in ``fit_resample``. Parameters as in :class:`VAESampler`.

    Attributes
    ----------
    model_ : VAE
        The trained conditional VAE.
    classes_ : ndarray
        Classes seen in ``fit_resample``; the condition of a class is its index here.
    loss_history_ : list of float
        Mean training loss per epoch.
    diagnostics_ : dict
        KL per latent dimension and active units.
    """

    _AUTO = {
        **_BaseVAESampler._AUTO,
        # class-balanced batches teach the minority in half the steps: on seed_case (three
        # seeds, docs/benchmark.md) 500 balanced steps gave a mean C2ST of 0.527 (posterior)
        # and 0.617 (prior) against 0.538 and 0.643 for 1,000 uniform ones
        "mlp": {"hidden_dims": (128, 128), "batch_size": 500, "steps": 500},
    }

    def _fit_model(self, Z, y, rng):
        codes, generated = self._encode_classes(y)
        trained = self._train_vae(
            Z, codes, len(self.classes_), rng.randint(_SEED_MAX), "CVAE", generated
        )
        self.model_, mu, logvar, codes, self.loss_history_, self.selection_, found = trained
        self.diagnostics_ = found
        codes = torch.as_tensor(codes, device=self.device_)
        self.latents_ = {
            class_: (mu[codes == i], logvar[codes == i]) for i, class_ in enumerate(self.classes_)
        }

    def _generate(self, class_, n_samples, rng):
        condition = self._code(class_)
        return self._decode_latents(self.model_, *self.latents_[class_], condition, n_samples, rng)

    def _fitted_classes(self):
        return self.latents_.keys()


# A latent dimension is active when its encoder mean varies across rows by more than this
# (Burda, Grosse & Salakhutdinov 2016, "Importance Weighted Autoencoders").
ACTIVE_UNIT_VARIANCE = 0.01


def _diagnostics(mu, logvar):
    """``{"kl_per_dim", "active_units", "latent_dim"}`` of a trained VAE's encoder on its
    training rows: the mean KL of every latent dimension, and how many dimensions the code
    actually uses (0 is a fully collapsed posterior)."""
    kl = kl_per_dimension(mu, logvar).mean(dim=0)
    active = (
        mu.var(dim=0) > ACTIVE_UNIT_VARIANCE if len(mu) > 1 else torch.zeros_like(kl, dtype=bool)
    )
    return {
        "kl_per_dim": [round(float(v), 4) for v in kl],
        "active_units": int(active.sum()),
        "latent_dim": int(mu.shape[1]),
    }
