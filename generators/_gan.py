"""Generative adversarial networks: the networks, their losses, and three samplers.

Every sampler trains one conditional GAN on all rows, the class as a one-hot condition of
generator and discriminator, and generates a class by feeding its condition with fresh
noise z ~ N(0, I):

- ``CGANSampler``: MLP networks for tables, DCGAN-style convolutional ones for images;
  non-saturating (or hinge) loss;
- ``WGANGPSampler``: the same networks, Wasserstein loss with a gradient penalty and
  ``n_critic`` critic steps per generator step (Gulrajani et al. 2017);
- ``MSGGANSampler`` (images): the generator emits an image at every resolution and each
  is fed into the discriminator block of matching resolution (Karnewar & Wang 2020,
  arXiv 1903.06048), trained end to end with one real/fake output.

Checkpoints are chosen by a sample metric on held-out rows (``selection="c2st"`` or
``"coverage"``), never by the adversarial losses, which do not measure sample quality.
"""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn
from torch.nn import functional as F

from synthbalance.generators._base import SAMPLE_CHUNK, BaseTorchSampler
from synthbalance.generators.training import adam, build_module, descend, torch_generator

_SEED_MAX = 2**31 - 1
_SLOPE = 0.2  # LeakyReLU slope of every hidden layer, as in DCGAN


def activate_output(x, categorical_slices):
    """Softmax over each one-hot block ``x[:, s]`` of ``categorical_slices``; the other
    (numeric) columns pass through unchanged."""
    if not categorical_slices:
        return x
    parts, last = [], 0
    for block in sorted(categorical_slices, key=lambda s: s.start):
        parts += [x[:, last : block.start], torch.softmax(x[:, block], dim=1)]
        last = block.stop
    parts.append(x[:, last:])
    return torch.cat(parts, dim=1)


def _one_hot(c, n_classes, dtype):
    return F.one_hot(c, n_classes).to(dtype)


def _mlp(sizes):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(n_in, n_out), nn.LeakyReLU(_SLOPE)]
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """Noise and one-hot class -> a row: ``hidden_dims`` LeakyReLU layers, then a linear
    output passed through ``activate_output`` (tables) or a sigmoid (``output="sigmoid"``,
    flattened images in [0, 1])."""

    def __init__(
        self, n_features, latent_dim, hidden_dims, n_classes, *, output="linear",
        categorical_slices=(),
    ):  # fmt: skip
        super().__init__()
        sizes = [latent_dim + n_classes, *hidden_dims]
        self.body = nn.Sequential(_mlp(sizes), nn.Linear(sizes[-1], n_features))
        self.n_features, self.n_classes, self.output = n_features, n_classes, output
        self.categorical_slices = tuple(categorical_slices)

    def forward(self, z, c, generator=None):
        """Rows from noise ``z`` and class codes ``c`` (``generator``: for networks with
        noise of their own; this one has none)."""
        x = self.body(torch.cat([z, _one_hot(c, self.n_classes, z.dtype)], dim=1))
        if self.output == "sigmoid":
            return torch.sigmoid(x)
        return activate_output(x, self.categorical_slices)

    def rows(self, output):
        """The generated rows (n, n_features) of a ``forward`` output."""
        return output


class MLPDiscriminator(nn.Module):
    """A row and its one-hot class -> one real/fake logit."""

    def __init__(self, n_features, hidden_dims, n_classes):
        super().__init__()
        sizes = [n_features + n_classes, *hidden_dims]
        self.body = nn.Sequential(_mlp(sizes), nn.Linear(sizes[-1], 1))
        self.n_classes = n_classes

    def forward(self, x, c):
        return self.body(torch.cat([x, _one_hot(c, self.n_classes, x.dtype)], dim=1))[:, 0]

    def real_inputs(self, x):
        """What ``forward`` takes for real rows ``x``: the rows themselves."""
        return x


def resolutions(image_shape, n_blocks):
    """``(height, width)`` at each of the ``n_blocks + 1`` resolutions of the convolutional
    networks, lowest first; each halves the next, rounding up, the last is the image's."""
    sizes = [tuple(int(s) for s in image_shape[1:])]
    for _ in range(n_blocks):
        sizes.insert(0, tuple(-(-s // 2) for s in sizes[0]))
    return sizes


class ConvGenerator(nn.Module):
    """DCGAN-style generator for images given as flattened rows of ``image_shape``.

    Noise and one-hot class are projected to a grid of ``channels[-1]`` feature maps at the
    lowest resolution; each of ``len(channels)`` transposed convolutions (LeakyReLU) doubles
    it (cropped to the sizes of ``resolutions``) through the widths of ``channels`` in
    reverse; a 1x1 convolution and a sigmoid make pixels in [0, 1].

    ``multiscale=True`` (MSG-GAN): a 1x1 convolution after the projection and after every
    block emits an image at that resolution; ``forward`` returns the list, lowest first.
    """

    def __init__(self, image_shape, latent_dim, channels, n_classes, *, multiscale=False):
        super().__init__()
        widths = list(channels)[::-1] or [32]
        self.image_shape = tuple(int(s) for s in image_shape)
        self.n_features = int(np.prod(self.image_shape))
        self.n_classes, self.multiscale = n_classes, multiscale
        self.sizes = resolutions(self.image_shape, len(widths))
        grid = (widths[0], *self.sizes[0])
        self.project = nn.Sequential(
            nn.Linear(latent_dim + n_classes, int(np.prod(grid))), nn.LeakyReLU(_SLOPE),
            nn.Unflatten(1, grid),
        )  # fmt: skip
        outputs = [*widths[1:], widths[-1]]
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.ConvTranspose2d(n_in, n_out, 4, stride=2, padding=1), nn.LeakyReLU(_SLOPE)
            )
            for n_in, n_out in zip(widths, outputs, strict=True)
        )
        emitting = [widths[0], *outputs] if multiscale else [outputs[-1]]
        self.to_image = nn.ModuleList(nn.Conv2d(n, self.image_shape[0], 1) for n in emitting)

    def forward(self, z, c, generator=None):
        """Images (flattened; a list per resolution with ``multiscale``) from noise ``z`` and
        class codes ``c``; ``generator`` is unused (no noise inputs of its own)."""
        h = self.project(torch.cat([z, _one_hot(c, self.n_classes, z.dtype)], dim=1))
        images = [torch.sigmoid(self.to_image[0](h))] if self.multiscale else []
        for i, (block, (height, width)) in enumerate(zip(self.blocks, self.sizes[1:], strict=True)):
            h = block(h)[:, :, :height, :width]
            if self.multiscale:
                images.append(torch.sigmoid(self.to_image[i + 1](h)))
        return images if self.multiscale else torch.sigmoid(self.to_image[0](h)).flatten(1)

    def rows(self, output):
        """The generated rows (n, n_features) of a ``forward`` output: the full-size images."""
        return output[-1].flatten(1) if self.multiscale else output


class ConvDiscriminator(nn.Module):
    """DCGAN-style discriminator: the image with constant one-hot class planes goes through
    ``len(channels)`` strided 3x3 convolutions (LeakyReLU) of widths ``channels``, each
    halving the resolution (rounding up), then a linear layer gives one real/fake logit.

    ``multiscale=True`` (MSG-GAN): ``forward`` takes a list of images, one per resolution of
    ``resolutions`` (lowest first, as ``ConvGenerator(multiscale=True)`` emits them); each
    lower-resolution image is concatenated to the feature maps of the block input of its
    resolution, the lowest one before the final layer (the "simple" combine function of
    Karnewar & Wang). ``real_inputs`` makes that list from real rows by average pooling.

    ``minibatch_std`` > 0 appends one feature map before the final layer: the standard
    deviation of the features over groups of that many images of the batch
    (``minibatch_stddev``), so that the discriminator sees how varied a batch is and can
    punish a generator that makes the same image again (Karras et al. 2018, ProGAN §3; also
    in StyleGAN and MSG-GAN).
    """

    def __init__(self, image_shape, channels, n_classes, *, multiscale=False, minibatch_std=0):
        super().__init__()
        channels = list(channels) or [32]
        self.image_shape = tuple(int(s) for s in image_shape)
        self.n_classes, self.multiscale = n_classes, multiscale
        self.minibatch_std = int(minibatch_std)
        self.sizes = resolutions(self.image_shape, len(channels))
        depth = self.image_shape[0]
        extra = depth if multiscale else 0
        inputs = [depth + n_classes, *(n + extra for n in channels[:-1])]
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(n_in, n_out, 3, stride=2, padding=1), nn.LeakyReLU(_SLOPE))
            for n_in, n_out in zip(inputs, channels, strict=True)
        )
        flat = (channels[-1] + extra + (self.minibatch_std > 0)) * int(np.prod(self.sizes[0]))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(flat, 1))

    def forward(self, x, c):
        if self.multiscale:
            expected = [(self.image_shape[0], *size) for size in self.sizes]
            got = [tuple(i.shape[1:]) for i in x] if isinstance(x, list | tuple) else x.shape
            if got != expected:
                raise ValueError(
                    f"the multi-scale discriminator takes one image per resolution, shapes "
                    f"{expected} (lowest first), got {got}."
                )
            images = list(x)
        else:
            images = [x.view(-1, *self.image_shape)]
        h = images[-1]
        planes = _one_hot(c, self.n_classes, h.dtype)[:, :, None, None]
        h = torch.cat([h, planes.expand(-1, -1, *h.shape[2:])], dim=1)
        for i, block in enumerate(self.blocks):
            if self.multiscale and i > 0:
                h = torch.cat([h, images[-1 - i]], dim=1)
            h = block(h)
        if self.multiscale:
            h = torch.cat([h, images[0]], dim=1)
        if self.minibatch_std:
            h = torch.cat([h, minibatch_stddev(h, self.minibatch_std)], dim=1)
        return self.head(h)[:, 0]

    def real_inputs(self, x):
        """What ``forward`` takes for real flattened images ``x``: the rows, or with
        ``multiscale`` the average-pooled image at every resolution, lowest first."""
        if not self.multiscale:
            return x
        image = x.view(-1, *self.image_shape)
        return [F.adaptive_avg_pool2d(image, size) for size in self.sizes[:-1]] + [image]


def minibatch_stddev(h, group_size):
    """One feature map per image: the standard deviation of the feature maps ``h`` (N, C,
    H, W) over each group of images, averaged over channels and pixels, broadcast to (N, 1,
    H, W). Image i is in group i mod N / G (as in StyleGAN2's implementation), with G the
    largest divisor of N not above ``group_size`` (a last, smaller batch still works)."""
    n, _, height, width = h.shape
    group = max(g for g in range(1, min(group_size, n) + 1) if n % g == 0)
    y = h.reshape(group, -1, *h.shape[1:])  # (G, N / G, C, H, W)
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (N / G,)
    return y.repeat(group)[:, None, None, None].expand(n, 1, height, width)


def discriminator_loss(kind, real_logits, fake_logits):
    """The discriminator's (critic's) loss of ``kind`` in {"non_saturating", "hinge",
    "wasserstein"}, without the gradient penalty."""
    if kind == "non_saturating":
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    if kind == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    return fake_logits.mean() - real_logits.mean()


def generator_loss(kind, fake_logits):
    """The generator's loss of ``kind``: -log D(G(z)) for "non_saturating", -D(G(z)) else."""
    if kind == "non_saturating":
        return F.softplus(-fake_logits).mean()
    return -fake_logits.mean()


def gradient_penalty(discriminator, real, fake, c, generator):
    """WGAN-GP's penalty: mean of (||grad_x D(x, c)|| - 1)^2 at random points x between
    real and fake rows (uniform mixing weights drawn from ``generator``)."""
    eps = torch.rand((len(real), 1), generator=generator, device=real.device, dtype=real.dtype)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(mixed, c).sum(), mixed, create_graph=True)
    return (grad.norm(2, dim=1) - 1).pow(2).mean()


def _detached(output):
    return [o.detach() for o in output] if isinstance(output, list) else output.detach()


class _BaseGANSampler(BaseTorchSampler):
    """One conditional GAN on every row; subclasses choose the networks and the losses."""

    _AUTO = {
        "mlp": {"hidden_dims": (128, 128), "batch_size": 256, "steps": 3000},
        "conv": {"hidden_dims": (32, 64), "batch_size": 64, "steps": 3000},
    }

    _parameter_constraints: dict = {
        **BaseTorchSampler._parameter_constraints,
        # never "loss": the adversarial losses do not say how good the samples are
        "selection": [StrOptions({"last", "c2st", "coverage", "fd"})],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "lr_discriminator": [Interval(Real, 0, None, closed="neither")],
        "betas": ["array-like"],
    }

    def _fit_model(self, Z, y, rng):
        codes, generated = self._encode_classes(y)
        seed, discriminator_seed = rng.randint(_SEED_MAX, size=2)
        n_classes = len(self.classes_)
        self.generator_ = build_module(
            lambda: self._generator_network(Z.shape[1], n_classes), seed, self.device_
        )
        discriminator = build_module(
            lambda: self._discriminator_network(Z.shape[1], n_classes),
            discriminator_seed,
            self.device_,
        )
        held_out = self._held_out_rows(codes, generated, np.random.RandomState(seed))
        tensors = [
            torch.as_tensor(Z[~held_out], device=self.device_),
            torch.as_tensor(codes[~held_out], device=self.device_),
        ]
        score = None
        if held_out.any():
            validation = (Z[held_out], codes[held_out])

            def score(network):
                def generate(code, n):
                    # the same noise at every evaluation: checkpoints compared on equal terms
                    return self._generate_rows(
                        network, code, n, torch_generator(seed, self.device_)
                    )

                return self._sample_score(validation, generate, seed)

        step = self._step(self.generator_, discriminator, self._averaged(self.generator_))
        self.generator_, self.loss_history_, self.selection_ = self._train(
            nn.ModuleDict({"generator": self.generator_, "discriminator": discriminator}),
            step, tensors, seed, sampled=self.generator_, score=score, desc=type(self).__name__,
            codes=codes[~held_out],
        )  # fmt: skip
        self.discriminator_ = discriminator

    def _step(self, generator_net, discriminator, averaged=None):
        """The per-batch update for ``train_steps``: one discriminator step, and a generator
        step every ``_generator_every()`` batches, after which ``averaged`` (the generator's
        exponential moving average) is updated; records both losses (the generator's of its
        latest step)."""
        betas = tuple(float(b) for b in self.betas)
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        g_optimizer = adam(generator_net.parameters(), self.lr, betas)
        d_optimizer = adam(discriminator.parameters(), self.lr_discriminator, betas)
        every = self._generator_every()
        state = {"batches": 0, "g_loss": torch.zeros((), device=self.device_)}

        def step(x, c, *, generator):
            state["batches"] += 1
            update_generator = state["batches"] % every == 0
            z = torch.randn(
                (len(x), self.latent_dim), generator=generator, device=x.device, dtype=x.dtype
            )
            with torch.set_grad_enabled(update_generator):
                fake = generator_net(z, c, generator=generator)
            d_loss = self._discriminator_loss(
                discriminator, discriminator.real_inputs(x), _detached(fake), c, generator
            )
            d_loss = descend(d_optimizer, d_loss)
            if update_generator:
                g_loss = self._generator_loss(discriminator(fake, c))
                state["g_loss"] = descend(g_optimizer, g_loss, averaged)
            return torch.stack([d_loss, state["g_loss"]])

        return step

    def _generate_rows(self, network, code, n_samples, generator):
        """``n_samples`` rows of class code ``code`` from generator ``network`` in the
        network space, in chunks."""
        out = []
        with torch.no_grad():
            for start in range(0, n_samples, SAMPLE_CHUNK):
                n = min(SAMPLE_CHUNK, n_samples - start)
                z = torch.randn((n, self.latent_dim), generator=generator, device=self.device_)
                c = torch.full((n,), code, dtype=torch.long, device=self.device_)
                out.append(network.rows(network(z, c, generator=generator)).cpu().numpy())
        return np.concatenate(out) if out else np.empty((0, network.n_features))

    def _generate(self, class_, n_samples, rng):
        code = self._code(class_)
        generator = torch_generator(rng.randint(_SEED_MAX), self.device_)
        return self._generate_rows(self.generator_, code, n_samples, generator)

    def _fitted_classes(self):
        return list(self.classes_)

    def _generator_network(self, n_features, n_classes):
        if self.architecture_ == "conv":
            return ConvGenerator(self.image_shape, self.latent_dim, self.hidden_dims_, n_classes)
        return MLPGenerator(
            n_features,
            self.latent_dim,
            self.hidden_dims_,
            n_classes,
            output="linear" if self.image_shape is None else "sigmoid",
            categorical_slices=self.preprocessor_.categorical_slices_,
        )

    def _discriminator_network(self, n_features, n_classes):
        if self.architecture_ == "conv":
            return ConvDiscriminator(self.image_shape, self.hidden_dims_, n_classes)
        return MLPDiscriminator(n_features, self.hidden_dims_, n_classes)

    def _generator_every(self):
        return 1

    def _discriminator_loss(self, discriminator, real, fake, c, generator):
        return discriminator_loss(self.loss, discriminator(real, c), discriminator(fake, c))

    def _generator_loss(self, fake_logits):
        return generator_loss(self.loss, fake_logits)


class CGANSampler(_BaseGANSampler):
    """Over-sample with one conditional GAN trained on every row, the class as condition.

    Generator and discriminator both see the one-hot class; the minority class is
    generated by feeding its condition with fresh noise. MLPs for tables (the generator's
    output goes through a softmax over each one-hot block of categorical features, when
    the preprocessor has any), DCGAN-style convolutional networks for images.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        As in imbalanced-learn.
    latent_dim : int, default=32
        Dimension of the generator's noise input.
    hidden_dims : sequence of int or "auto", default="auto"
        Widths of the hidden layers of both networks (MLP), or the discriminator's
        channels per block, mirrored in the generator (conv). ``"auto"``: (128, 128) for
        tables, (32, 64) for images.
    steps, batch_size : int or "auto", default="auto"
        Training length in optimiser steps (discriminator steps) and mini-batch size;
        ``"auto"``: 3,000 steps of 256 rows for tables, 3,000 steps of 64 images (on mnist
        the CGAN's CAS went 0.894 -> 0.902 and its C2ST 0.780 -> 0.749 from 2,000 steps,
        one fit each; docs/benchmark.md).
    max_seconds : float, default=None
        Wall-clock training budget: training stops after the first step past it.
    ema : float, default=0.999
        Decay of the exponential moving average of the generator's weights that samples
        and is selected (Karras et al. 2018; Yazıcı et al. 2019); 0: the raw weights.
    balanced_batches : bool, default=True
        Draw class-balanced batches, so that the generated classes get an equal share of
        every update (see ``BaseTorchSampler``); False: each row once per epoch.
    lr, lr_discriminator : float, default=2e-4
        Adam learning rates of the generator and the discriminator.
    betas : pair of float, default=(0.5, 0.999)
        Adam's betas for both networks, as in DCGAN.
    loss : {"non_saturating", "hinge"}, default="non_saturating"
    architecture : {"auto", "mlp", "conv"}, default="auto"
        ``auto``: conv for images (``image_shape`` given), MLP for tables.
    image_shape : (channels, height, width) or None
        Rows are flattened images of this shape, in any pixel range.
    categorical_features : array-like of int or bool, or None
        Categorical columns of a table (codes or labels): one-hot encoded for the networks,
        the generator's output softmaxed per column, decoded to the largest entry.
    selection : {"last", "c2st", "coverage"}, default="last"
        Keep the last generator, or the one whose samples of the generated classes score
        best against held-out rows (see ``BaseTorchSampler``); the adversarial loss is not
        a selection criterion.
    eval_every, patience, validation_fraction : as in ``BaseTorchSampler``.
    device : str, default="auto"
        ``"auto"`` uses CUDA when available.
    random_state : int, RandomState instance or None
    verbose : bool, default=False
        Show a progress bar while training.

    Attributes
    ----------
    generator_, discriminator_ : torch.nn.Module
        The trained networks.
    classes_ : ndarray
        Classes seen in ``fit_resample``; the condition of a class is its index here.
    loss_history_ : list of [float, float]
        Mean discriminator and generator loss per epoch.
    selection_ : dict or None
    """

    _parameter_constraints: dict = {
        **_BaseGANSampler._parameter_constraints,
        "loss": [StrOptions({"non_saturating", "hinge"})],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        latent_dim=32,
        hidden_dims="auto",
        steps="auto",
        max_seconds=None,
        batch_size="auto",
        lr=2e-4,
        ema=0.999,
        balanced_batches=True,
        lr_discriminator=2e-4,
        betas=(0.5, 0.999),
        loss="non_saturating",
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
        self.latent_dim = latent_dim
        self.lr_discriminator = lr_discriminator
        self.betas = betas
        self.loss = loss


class WGANGPSampler(_BaseGANSampler):
    """Over-sample with a conditional Wasserstein GAN with gradient penalty.

    The networks and conditioning of :class:`CGANSampler`; the discriminator is a critic
    trained on E[D(fake)] - E[D(real)] + ``gp_weight`` * gradient penalty, and the
    generator takes one step every ``n_critic`` critic steps (batches).

    Parameters
    ----------
    n_critic : int or "auto", default="auto"
        Critic steps (batches) per generator step; ``"auto"``: 5 for the MLP networks (tables;
        Gulrajani et al. 2017), 1 for the convolutional ones (images). ``steps`` counts
        critic steps, so with 5 a 3,000-step budget leaves the generator 600 updates. On mnist
        (docs/benchmark.md, the 3,000-step default, three seeds each) 1 gave a CAS of 0.956,
        0.922 and 0.952 against 0.884, 0.878 and 0.898 with 2 (and 0.832 with 5 at 2,000
        steps), while on seed_case 5 kept the better C2ST (0.705 against 0.777 with 2) and
        recall (0.85 against 0.65).
    gp_weight : float, default=10.0
        Weight of the gradient penalty.
    betas : pair of float, default=(0.5, 0.9)
    Others as in :class:`CGANSampler`.

    Attributes
    ----------
    As in :class:`CGANSampler`; ``loss_history_`` holds the critic's loss (penalty
    included) and the generator's. ``n_critic_`` is the number of critic steps trained with.
    """

    _AUTO_SETTINGS = (*_BaseGANSampler._AUTO_SETTINGS, "n_critic")
    _AUTO = {
        "mlp": {**_BaseGANSampler._AUTO["mlp"], "n_critic": 5},
        "conv": {**_BaseGANSampler._AUTO["conv"], "n_critic": 1},
    }

    _parameter_constraints: dict = {
        **_BaseGANSampler._parameter_constraints,
        "n_critic": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "gp_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        latent_dim=32,
        hidden_dims="auto",
        steps="auto",
        max_seconds=None,
        batch_size="auto",
        lr=2e-4,
        ema=0.999,
        balanced_batches=True,
        lr_discriminator=2e-4,
        betas=(0.5, 0.9),
        n_critic="auto",
        gp_weight=10.0,
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
        self.latent_dim = latent_dim
        self.lr_discriminator = lr_discriminator
        self.betas = betas
        self.n_critic = n_critic
        self.gp_weight = gp_weight

    def _generator_every(self):
        return self.n_critic_

    def _discriminator_loss(self, discriminator, real, fake, c, generator):
        loss = discriminator_loss("wasserstein", discriminator(real, c), discriminator(fake, c))
        if self.gp_weight:
            loss = loss + self.gp_weight * gradient_penalty(discriminator, real, fake, c, generator)
        return loss

    def _generator_loss(self, fake_logits):
        return generator_loss("wasserstein", fake_logits)


class MSGGANSampler(CGANSampler):
    """Over-sample images with a conditional multi-scale-gradient GAN (MSG-GAN).

    The generator of :class:`CGANSampler` emits an image after its projection and after
    every block; each is fed into the discriminator block of matching resolution
    (concatenated to its input feature maps), so the discriminator's gradient reaches
    every generator block directly; both are trained end to end with one real/fake
    output (Karnewar & Wang 2020, arXiv 1903.06048). Real images enter at every resolution
    by average pooling. ``hidden_dims`` are the channels of the ``len(hidden_dims)``
    blocks. Tables are not images: ``image_shape`` is required.

    Parameters and attributes as in :class:`CGANSampler`; ``architecture`` is ``"auto"``
    or ``"conv"``.
    """

    _parameter_constraints: dict = {
        **CGANSampler._parameter_constraints,
        "architecture": [StrOptions({"auto", "conv"})],
    }

    def _check_architecture(self, n_features):
        if self.image_shape is None:
            raise ValueError(
                "MSGGANSampler generates images at several resolutions: it needs "
                "image_shape=(channels, height, width). For tables use CGANSampler or "
                "WGANGPSampler."
            )
        return super()._check_architecture(n_features)

    def _generator_network(self, n_features, n_classes):
        return ConvGenerator(
            self.image_shape, self.latent_dim, self.hidden_dims_, n_classes, multiscale=True
        )

    def _discriminator_network(self, n_features, n_classes):
        return ConvDiscriminator(self.image_shape, self.hidden_dims_, n_classes, multiscale=True)
