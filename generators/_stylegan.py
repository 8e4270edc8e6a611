"""A small class-conditional StyleGAN2-style generator and its sampler.

Written from the papers (Karras, Laine & Aila 2019, "A Style-Based Generator Architecture for
GANs"; Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN"), at the
scale of 28 x 28 grey images on a CPU:

- a mapping network turns the noise z (normalised) and a learned class embedding into a
  style vector w;
- synthesis starts from a learned constant at the lowest resolution; every layer is a 3x3
  convolution whose weights are modulated by an affine map of w and demodulated (each
  output feature map scaled back to unit expected norm), followed by per-pixel noise with a
  learned strength per layer, a bias and a leaky ReLU;
- skip-style outputs: a modulated 1x1 convolution (not demodulated) turns every resolution's
  features into an image, the images upsampled and summed, a sigmoid making pixels in
  [0, 1];
- style mixing regularisation: in training, with probability ``mixing``, the layers from a
  random crossover on take the style of a second z;
- the non-saturating loss with a lazy R1 penalty on real images (every ``r1_every``
  discriminator steps, scaled by it), the discriminator of ``CGANSampler`` (the project's
  DCGAN-style one), and an exponential moving average of the generator to sample from.

No truncation: diversity matters more than the typical sample for augmentation.
"""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn
from torch.nn import functional as F

from synthbalance.generators._gan import CGANSampler, ConvDiscriminator, resolutions

_SLOPE = 0.2


class ModulatedConv2d(nn.Module):
    """A convolution whose weights are scaled per sample by the style ``s = affine(w)`` of
    its input channels and, with ``demodulate``, rescaled so that each output channel has
    unit expected norm: w'_oik = s_i w_oik, w''_oik = w'_oik / sqrt(sum_ik w'_oik^2 + eps)
    (Karras et al. 2020, eq. 1-3). Computed without per-sample weights, which is several
    times faster on a CPU: the input is scaled by s, convolved with the shared weights, and
    each output channel scaled by its demodulation factor (the paper's non-fused form;
    ``modulated_weights`` gives the per-sample weights it is equivalent to)."""

    def __init__(self, n_in, n_out, kernel_size, w_dim, *, demodulate=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in, kernel_size, kernel_size))
        self.weight.data /= np.sqrt(n_in * kernel_size**2)
        self.affine = nn.Linear(w_dim, n_in)
        nn.init.ones_(self.affine.bias)  # styles start at 1: the plain convolution
        self.demodulate, self.padding = demodulate, kernel_size // 2

    def modulated_weights(self, w):
        """The per-sample weights, shape (batch, n_out, n_in, k, k)."""
        style = self.affine(w)
        weight = self.weight[None] * style[:, None, :, None, None]
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
        return weight

    def forward(self, x, w):
        style = self.affine(w)
        out = F.conv2d(x * style[:, :, None, None], self.weight, padding=self.padding)
        if self.demodulate:
            # sum over i, k of (s_i w_oik)^2 = sum_i s_i^2 * sum_k w_oik^2
            energy = style.pow(2) @ self.weight.pow(2).sum(dim=(2, 3)).T
            out = out * torch.rsqrt(energy + 1e-8)[:, :, None, None]
        return out


class StyleLayer(nn.Module):
    """Modulated 3x3 convolution, per-pixel noise with a learned strength, bias, leaky ReLU."""

    def __init__(self, n_in, n_out, w_dim):
        super().__init__()
        self.conv = ModulatedConv2d(n_in, n_out, 3, w_dim)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x, w, generator):
        x = self.conv(x, w)
        noise = torch.randn(
            (x.shape[0], 1, *x.shape[2:]), generator=generator, device=x.device, dtype=x.dtype
        )
        return F.leaky_relu(x + self.noise_strength * noise + self.bias[:, None, None], _SLOPE)


class StyleGenerator(nn.Module):
    """Noise z and class c -> an image, StyleGAN2-style (see the module docstring).

    ``channels`` are the feature maps per resolution from the highest to the lowest (as the
    discriminator's, mirrored), ``len(channels) + 1`` resolutions in all (``resolutions``).
    The ``n_styles`` style inputs are, in order: each synthesis layer's and each to-image
    layer's. ``forward(z, c, generator=..., z2=None, crossover=None)``: with ``z2``, the
    styles from index ``crossover`` on come from ``z2``; in training, with probability
    ``mixing``, a second z and a crossover are drawn from ``generator``.
    """

    def __init__(
        self, image_shape, latent_dim, channels, n_classes, *, w_dim=64, mapping_layers=4,
        mixing=0.9,
    ):  # fmt: skip
        super().__init__()
        widths = list(channels)[::-1] or [32]
        self.image_shape = tuple(int(s) for s in image_shape)
        self.n_features = int(np.prod(self.image_shape))
        self.latent_dim, self.n_classes, self.mixing = latent_dim, n_classes, mixing
        self.sizes = resolutions(self.image_shape, len(widths))
        self.embed = nn.Embedding(n_classes, latent_dim)
        layers = []
        for i in range(mapping_layers):
            layers += [nn.Linear(2 * latent_dim if i == 0 else w_dim, w_dim), nn.LeakyReLU(_SLOPE)]
        self.mapping = nn.Sequential(*layers)
        self.constant = nn.Parameter(torch.randn(widths[0], *self.sizes[0]))
        depth = self.image_shape[0]
        self.layers = nn.ModuleList([StyleLayer(widths[0], widths[0], w_dim)])
        self.to_image = nn.ModuleList(
            [ModulatedConv2d(widths[0], depth, 1, w_dim, demodulate=False)]
        )
        for n_in, n_out in zip(widths, [*widths[1:], widths[-1]], strict=True):
            self.layers.extend([StyleLayer(n_in, n_out, w_dim), StyleLayer(n_out, n_out, w_dim)])
            self.to_image.append(ModulatedConv2d(n_out, depth, 1, w_dim, demodulate=False))
        self.n_styles = len(self.layers) + len(self.to_image)

    def styles(self, z, c):
        """The style vector w of noise ``z`` and class ``c``."""
        z = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)  # pixel norm
        return self.mapping(torch.cat([z, self.embed(c)], dim=1))

    def forward(self, z, c, generator=None, z2=None, crossover=None):
        if z2 is None and self.training and self.mixing > 0 and generator is not None:
            if torch.rand((), generator=generator, device=z.device).item() < self.mixing:
                z2 = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
                crossover = int(torch.randint(1, self.n_styles, (), generator=generator))
        w = self.styles(z, c)
        ws = [w] * self.n_styles
        if z2 is not None:
            w2 = self.styles(z2, c)
            ws = [w if i < crossover else w2 for i in range(self.n_styles)]
        return torch.sigmoid(self._synthesis(ws, len(z), generator)).flatten(1)

    def _synthesis(self, ws, batch, generator):
        """The image logits from the styles ``ws`` (synthesis layers' first, then the
        to-image layers')."""
        layer_styles, image_styles = ws[: len(self.layers)], ws[len(self.layers) :]
        x = self.constant[None].expand(batch, *self.constant.shape)
        x = self.layers[0](x, layer_styles[0], generator)
        image = self.to_image[0](x, image_styles[0])
        for i, size in enumerate(self.sizes[1:]):
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
            x = self.layers[1 + 2 * i](x, layer_styles[1 + 2 * i], generator)
            x = self.layers[2 + 2 * i](x, layer_styles[2 + 2 * i], generator)
            image = F.interpolate(image, size=size, mode="bilinear", align_corners=False)
            image = image + self.to_image[i + 1](x, image_styles[i + 1])
        return image

    def rows(self, output):
        """The generated rows (n, n_features) of a ``forward`` output."""
        return output


def r1_penalty(discriminator, real, c):
    """R1 (Mescheder et al. 2018): the mean squared norm of D's gradient at real images."""
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(real, c).sum(), real, create_graph=True)
    return grad.pow(2).sum(dim=1).mean()


class StyleGANSampler(CGANSampler):
    """Over-sample images with a small class-conditional StyleGAN2-style generator.

    The generator is ``StyleGenerator`` (mapping network with a class embedding, learned
    constant input, modulated and demodulated convolutions, per-layer noise, skip-style
    outputs, style mixing); the discriminator and the training loop are those of
    :class:`CGANSampler`, with the non-saturating loss and a lazy R1 penalty. Tables are not
    images: ``image_shape`` is required.

    Parameters
    ----------
    w_dim : int, default=64
        Dimension of the style vector w.
    mapping_layers : int, default=4
        Layers of the mapping network.
    mixing : float, default=0.9
        Probability of style mixing in a training batch.
    r1_gamma : float, default=1.0
        Weight gamma of the R1 penalty gamma/2 * E||grad D(x)||^2 on real images.
    r1_every : int, default=16
        Lazy regularisation: the penalty every ``r1_every`` discriminator steps, times that.
    minibatch_std : int, default=0
        The discriminator's minibatch standard deviation over groups of this many images
        (``ConvDiscriminator``; Karras et al. 2018, kept in StyleGAN); 0: none. Measured on
        mnist (docs/benchmark.md): with 4 and one torch thread the fit's diversity rose from
        0.23 to 0.66 of the real images', but with two threads the same fit's generator died
        (black images), so it is not the default.
    hidden_dims, steps, batch_size : "auto" (default): channels (32, 64), 1,500 steps of
        64 images (a StyleGAN step costs about three of a DCGAN's on a CPU; on mnist 1,000
        steps gave a CAS of 0.892, 1,500 gave 0.994 at diversity 0.63: docs/benchmark.md).
    Others as in :class:`CGANSampler` (``loss`` is non-saturating; ``architecture`` is
    ``"auto"`` or ``"conv"``).
    """

    _AUTO = {"conv": {"hidden_dims": (32, 64), "batch_size": 64, "steps": 1500}}

    _parameter_constraints: dict = {
        **CGANSampler._parameter_constraints,
        "architecture": [StrOptions({"auto", "conv"})],
        "loss": [StrOptions({"non_saturating"})],
        "w_dim": [Interval(Integral, 1, None, closed="left")],
        "mapping_layers": [Interval(Integral, 1, None, closed="left")],
        "mixing": [Interval(Real, 0, 1, closed="both")],
        "r1_gamma": [Interval(Real, 0, None, closed="left")],
        "r1_every": [Interval(Integral, 1, None, closed="left")],
        "minibatch_std": [Interval(Integral, 0, None, closed="left")],
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
        lr=1e-3,
        lr_discriminator=1e-3,
        betas=(0.0, 0.99),
        ema=0.999,
        balanced_batches=True,
        w_dim=64,
        mapping_layers=4,
        mixing=0.9,
        r1_gamma=1.0,
        r1_every=16,
        minibatch_std=0,
        loss="non_saturating",
        architecture="auto",
        image_shape=None,
        selection="last",
        eval_every=500,
        patience=None,
        validation_fraction=0.2,
        device="auto",
        random_state=None,
        verbose=False,
    ):
        super().__init__(
            sampling_strategy=sampling_strategy, latent_dim=latent_dim, hidden_dims=hidden_dims,
            steps=steps, max_seconds=max_seconds, batch_size=batch_size, lr=lr,
            lr_discriminator=lr_discriminator, betas=betas, ema=ema,
            balanced_batches=balanced_batches, loss=loss,
            architecture=architecture, image_shape=image_shape, selection=selection,
            eval_every=eval_every, patience=patience, validation_fraction=validation_fraction,
            device=device, random_state=random_state, verbose=verbose,
        )  # fmt: skip
        self.w_dim = w_dim
        self.mapping_layers = mapping_layers
        self.mixing = mixing
        self.r1_gamma = r1_gamma
        self.r1_every = r1_every
        self.minibatch_std = minibatch_std

    def _check_architecture(self, n_features):
        if self.image_shape is None:
            raise ValueError(
                "StyleGANSampler generates images: it needs image_shape=(channels, height, "
                "width). For tables use CGANSampler or WGANGPSampler."
            )
        return super()._check_architecture(n_features)

    def _fit_model(self, Z, y, rng):
        self._discriminator_steps = 0  # R1's lazy schedule counts this fit's steps
        return super()._fit_model(Z, y, rng)

    def _generator_network(self, n_features, n_classes):
        return StyleGenerator(
            self.image_shape, self.latent_dim, self.hidden_dims_, n_classes, w_dim=self.w_dim,
            mapping_layers=self.mapping_layers, mixing=self.mixing,
        )  # fmt: skip

    def _discriminator_network(self, n_features, n_classes):
        return ConvDiscriminator(
            self.image_shape, self.hidden_dims_, n_classes, minibatch_std=self.minibatch_std
        )

    def _discriminator_loss(self, discriminator, real, fake, c, generator):
        loss = super()._discriminator_loss(discriminator, real, fake, c, generator)
        self._discriminator_steps += 1
        if self.r1_gamma and self._discriminator_steps % self.r1_every == 0:
            loss = loss + self.r1_every * self.r1_gamma / 2 * r1_penalty(discriminator, real, c)
        return loss
