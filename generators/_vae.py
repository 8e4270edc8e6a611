"""Variational autoencoders: the network, its loss, and the two samplers built on it.

``VAESampler`` trains one VAE per class to over-sample on that class's rows only;
``CVAESampler`` trains one conditional VAE on every row with the class as condition.
Both generate by decoding latent codes chosen by ``sampling``:

- ``"prior"``: z ~ N(0, I);
- ``"posterior"``: z ~ q(z | x) for one random real row x of the class;
- ``"latent_average"``: z = mean of the encoder means of ``k`` real rows of the class,
  drawn without replacement, plus N(0, noise^2) noise.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn
from torch.nn import functional as F

from synthbalance.generators._base import SAMPLE_CHUNK, BaseTorchSampler
from synthbalance.generators.training import build_module, torch_generator, train

_SEED_MAX = 2**31 - 1


def _mlp(sizes):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """Gaussian MLP VAE; with ``n_classes > 0`` encoder and decoder also see a one-hot class.

    ``categorical_slices`` are the one-hot blocks of categorical features among the input
    columns (after the numeric ones): the decoder outputs logits there, trained with
    cross-entropy (see ``reconstruction_error``).
    """

    def __init__(self, n_features, latent_dim, hidden_dims, n_classes=0, categorical_slices=()):
        super().__init__()
        hidden_dims = list(hidden_dims)
        self.n_features = n_features
        self.n_classes = n_classes
        self.categorical_slices = list(categorical_slices)
        self.encoder = _mlp([n_features + n_classes, *hidden_dims])
        width = hidden_dims[-1] if hidden_dims else n_features + n_classes
        self.mu = nn.Linear(width, latent_dim)
        self.logvar = nn.Linear(width, latent_dim)
        decoder_dims = [latent_dim + n_classes, *reversed(hidden_dims)]
        self.decoder = nn.Sequential(_mlp(decoder_dims), nn.Linear(decoder_dims[-1], n_features))

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
        return self.decoder(self._condition(z, c))


class ConvVAE(VAE):
    """Convolutional VAE for images given as flattened rows of ``image_shape`` (C, H, W) in
    [0, 1]. Strided convolutions of widths ``channels`` encode, transposed ones decode to
    sigmoid pixels; a class condition enters as constant one-hot input planes and next to
    the latent code. ``encode``/``decode`` take and return flat rows, like ``VAE``."""

    def __init__(self, image_shape, latent_dim, channels, n_classes=0):
        nn.Module.__init__(self)
        self.categorical_slices = []
        channels = list(channels) or [32]
        self.image_shape = tuple(int(s) for s in image_shape)
        self.n_features = int(np.prod(self.image_shape))
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
            *layers[:-1],  # no ReLU before the sigmoid
        )  # fmt: skip

    def encode(self, x, c=None):
        image = x.view(-1, *self.image_shape)
        if self.n_classes:
            planes = F.one_hot(c, self.n_classes).to(x.dtype)[:, :, None, None]
            image = torch.cat([image, planes.expand(-1, -1, *self.image_shape[1:])], dim=1)
        h = self.encoder(image)
        return self.mu(h), self.logvar(h)

    def decode(self, z, c=None):
        image = self.decoder(self._condition(z, c))
        image = F.interpolate(image, size=self.image_shape[1:], mode="bilinear")
        return torch.sigmoid(image).flatten(1)


def reconstruction_error(x_hat, x, categorical_slices=()):
    """Per row: 0.5 * squared error of the numeric columns (a unit-variance Gaussian) plus
    the cross-entropy of each categorical one-hot block, ``x_hat`` holding its logits."""
    if not categorical_slices:
        return 0.5 * (x_hat - x).pow(2).sum(dim=1)
    n_numeric = categorical_slices[0].start  # the numeric columns come first
    error = 0.5 * (x_hat[:, :n_numeric] - x[:, :n_numeric]).pow(2).sum(dim=1)
    for block in categorical_slices:
        labels = x[:, block].argmax(dim=1)
        error = error + F.cross_entropy(x_hat[:, block], labels, reduction="none")
    return error


def vae_loss(model, x, c=None, *, beta, generator):
    """Negative ELBO per row: the reconstruction error (``reconstruction_error``) + beta * KL."""
    mu, logvar = model.encode(x, c)
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    x_hat = model.decode(mu + eps * torch.exp(0.5 * logvar), c)
    reconstruction = reconstruction_error(x_hat, x, model.categorical_slices)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)
    return (reconstruction + beta * kl).mean()


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
    _parameter_constraints: dict = {
        **BaseTorchSampler._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "sampling": [StrOptions({"prior", "posterior", "latent_average"})],
        "k": [Interval(Integral, 1, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        latent_dim=8,
        hidden_dims=(128, 128),
        epochs=100,
        max_seconds=None,
        batch_size=256,
        lr=1e-3,
        beta=1.0,
        sampling="latent_average",
        k=10,
        noise=0.0,
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
        super().__init__(
            sampling_strategy=sampling_strategy,
            hidden_dims=hidden_dims,
            epochs=epochs,
            max_seconds=max_seconds,
            batch_size=batch_size,
            lr=lr,
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
        self.sampling = sampling
        self.k = k
        self.noise = noise

    def _train_vae(self, Z, c, n_classes, seed, desc, generated=None):
        """Train one VAE on preprocessed rows ``Z`` (class codes ``c`` or None).

        ``generated`` are the codes of the classes to generate (None: every row's class);
        checkpoint selection holds out some of their rows. Returns the model, the encoder
        means and log-variances of the training rows, their codes, the loss history and
        the selection record (or None).
        """
        model = build_module(lambda: self._network(Z.shape[1], n_classes), seed, self.device_)
        codes = np.zeros(len(Z), dtype=np.int64) if c is None else np.asarray(c)
        held_out = self._held_out_rows(codes, generated, np.random.RandomState(seed))
        as_tensor = lambda a: torch.as_tensor(a, device=self.device_)  # noqa: E731
        tensors = [as_tensor(Z[~held_out])] + (
            [as_tensor(codes[~held_out])] if c is not None else []
        )
        selector = None
        if held_out.any():
            validation = (Z[held_out], codes[held_out])
            selector = self._checkpoint_selector(
                model, lambda: self._vae_score(model, tensors, validation, c is not None, seed)
            )
        history = train(
            model,
            lambda m, *batch, generator: vae_loss(m, *batch, beta=self.beta, generator=generator),
            tensors,
            epochs=self.epochs,
            max_seconds=self.max_seconds,
            batch_size=self.batch_size,
            lr=self.lr,
            generator=torch_generator(seed, self.device_),
            verbose=self.verbose,
            desc=desc,
            after_epoch=selector,
        )
        selection = None if selector is None else self._selection_record(selector, len(history))
        with torch.no_grad():
            # in chunks: one pass over millions of rows would hold every activation at once
            encoded = [
                model.encode(*(t[start : start + SAMPLE_CHUNK] for t in tensors))
                for start in range(0, len(tensors[0]), SAMPLE_CHUNK)
            ]
            mu = torch.cat([m for m, _ in encoded])
            logvar = torch.cat([v for _, v in encoded])
        return model, mu, logvar, codes[~held_out], history, selection

    def _network(self, n_features, n_classes):
        if self.architecture_ == "conv":
            return ConvVAE(self.image_shape, self.latent_dim, self.hidden_dims, n_classes)
        slices = self.preprocessor_.categorical_slices_
        return VAE(n_features, self.latent_dim, self.hidden_dims, n_classes, slices)

    def _vae_score(self, model, tensors, validation, conditional, seed):
        """Rate the current model on the held-out rows (lower is better): its loss, or a
        sample metric of rows decoded from latents drawn by ``sampling``."""
        generator = torch_generator(seed, self.device_)
        Z_val, codes_val = validation
        if self.selection == "loss":
            c = torch.as_tensor(codes_val, device=self.device_) if conditional else None
            Z = torch.as_tensor(Z_val, device=self.device_)
            return float(vae_loss(model, Z, c, beta=self.beta, generator=generator))
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
            return model.decode(z, c).cpu().numpy()

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
                out.append(model.decode(z, c).cpu().numpy())
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
    hidden_dims : sequence of int, default=(128, 128)
        Widths of the encoder's hidden layers (the decoder mirrors them).
    epochs, batch_size, lr : training length, mini-batch size and Adam's learning rate.
    max_seconds : float, default=None
        Wall-clock training budget: training stops after the first epoch past it.
    beta : float, default=1.0
        Weight of the KL term.
    sampling : {"prior", "posterior", "latent_average"}, default="latent_average"
    k : int, default=10
        Latents averaged per new sample with ``sampling="latent_average"``; reduced, with a
        warning, for a class with fewer training rows.
    noise : float, default=0.0
        Std of Gaussian noise added to the averaged latent.
    categorical_features : array-like of int or bool, default=None
        Categorical columns (their codes or labels): one-hot encoded for the network, a
        softmax head each in the decoder (cross-entropy in the loss); new rows hold only
        categories seen in ``fit_resample``.
    device : str, default="auto"
        ``"auto"`` uses CUDA when available.
    random_state : int, RandomState instance or None
    verbose : bool, default=False
        Show a progress bar while training.

    Attributes
    ----------
    models_ : dict
        Class label -> trained ``VAE``.
    loss_history_ : dict
        Class label -> mean training loss per epoch.
    """

    def _fit_model(self, Z, y, rng):
        self.models_, self.latents_, self.loss_history_, selection = {}, {}, {}, {}
        for class_, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            model, mu, logvar, _, history, selection[str(class_)] = self._train_vae(
                Z[y == class_], None, 0, rng.randint(_SEED_MAX), desc=f"VAE {class_}"
            )
            self.models_[class_] = model
            self.latents_[class_] = (mu, logvar)
            self.loss_history_[class_] = history
        self.selection_ = selection if any(selection.values()) else None

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
    """

    def _fit_model(self, Z, y, rng):
        codes, generated = self._encode_classes(y)
        self.model_, mu, logvar, codes, self.loss_history_, self.selection_ = self._train_vae(
            Z, codes, len(self.classes_), rng.randint(_SEED_MAX), "CVAE", generated
        )
        codes = torch.as_tensor(codes, device=self.device_)
        self.latents_ = {
            class_: (mu[codes == i], logvar[codes == i]) for i, class_ in enumerate(self.classes_)
        }

    def _generate(self, class_, n_samples, rng):
        condition = self._code(class_)
        return self._decode_latents(self.model_, *self.latents_[class_], condition, n_samples, rng)

    def _fitted_classes(self):
        return self.latents_.keys()
