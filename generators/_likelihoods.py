"""Decoder likelihoods p(x | z) of the VAEs, and their KL term's helpers.

The classic VAE decoder is a unit-variance Gaussian (half the squared error). On pixels in
[0, 1] and on standardised columns that error is small next to a full-weight KL term, so the
encoder learns to ignore x and the decoder outputs the class mean whatever z is: posterior
collapse. A likelihood calibrated to the data balances the two terms by itself:

- ``GaussianLikelihood(variance="shared" | "per_feature")``: the optimal sigma-VAE of Rybkin,
  Daniilidis & Levine (2021, "Simple and Effective VAE Training with Calibrated Decoders"):
  the decoder's variance is set on every batch to its maximum-likelihood value (the mean
  squared error, over all columns or per column), log sigma soft-clipped at -6;
- ``BernoulliLikelihood``: binary cross-entropy on pixel logits, the usual choice for images
  in [0, 1];
- ``ContinuousBernoulliLikelihood``: the properly normalised distribution on [0, 1]
  (Loaiza-Ganem & Cunningham 2019), through ``torch.distributions.ContinuousBernoulli``.

Each maps the decoder's raw output to a per-row negative log-likelihood (``nll``), to the
decoded rows (``mean``) and, for the Gaussians with a learnt variance, to rows drawn from
p(x | z) (``sample``: the mean plus noise of the running variance estimate).
"""

import torch
from torch import nn
from torch.nn import functional as F

MIN_LOG_SIGMA = -6.0  # sigma-VAE's floor on log sigma
_RUNNING = 0.99  # momentum of the running variance estimate used for sampling


def _soft_floor(log_sigma, floor=MIN_LOG_SIGMA):
    return floor + F.softplus(log_sigma - floor)


class GaussianLikelihood(nn.Module):
    """N(mean, sigma^2) per column. ``variance``: ``"unit"`` (sigma = 1, the classic VAE),
    ``"shared"`` (one sigma for all columns) or ``"per_feature"``, each set to its
    maximum-likelihood value on the batch. ``squash``: the mean is the sigmoid of the raw
    output (images in [0, 1])."""

    def __init__(self, n_features, variance="shared", squash=False):
        super().__init__()
        self.variance, self.squash = variance, squash
        self.register_buffer("log_variance", torch.zeros(n_features))

    def mean(self, raw):
        return torch.sigmoid(raw) if self.squash else raw

    def nll(self, raw, x):
        error = (x - self.mean(raw)).pow(2)
        if self.variance == "unit":
            return 0.5 * error.sum(dim=1)
        mse = error.mean() if self.variance == "shared" else error.mean(dim=0)
        log_sigma = _soft_floor(0.5 * torch.log(mse + 1e-12))
        if self.training:
            with torch.no_grad():
                estimate = (2 * log_sigma).expand_as(self.log_variance)
                self.log_variance.mul_(_RUNNING).add_((1 - _RUNNING) * estimate)
        return (0.5 * error * torch.exp(-2 * log_sigma) + log_sigma).sum(dim=1)

    def sample(self, raw, generator):
        """Rows drawn from N(mean, sigma^2) with the running estimate of sigma (the mean
        itself for a unit variance, which would drown standardised columns in noise)."""
        mean = self.mean(raw)
        if self.variance == "unit":
            return mean
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + torch.exp(0.5 * self.log_variance) * noise


class BernoulliLikelihood(nn.Module):
    """Binary cross-entropy of pixels in [0, 1] against the decoder's logits."""

    def mean(self, raw):
        return torch.sigmoid(raw)

    def nll(self, raw, x):
        return F.binary_cross_entropy_with_logits(raw, x, reduction="none").sum(dim=1)

    def sample(self, raw, generator):
        return self.mean(raw)


class ContinuousBernoulliLikelihood(nn.Module):
    """The continuous Bernoulli distribution on [0, 1] with the decoder's logits; decoded
    rows are its mean (not the logits' sigmoid, which it is biased from)."""

    def mean(self, raw):
        return torch.distributions.ContinuousBernoulli(logits=raw).mean

    def nll(self, raw, x):
        distribution = torch.distributions.ContinuousBernoulli(logits=raw, validate_args=False)
        return -distribution.log_prob(x).sum(dim=1)

    def sample(self, raw, generator):
        return self.mean(raw)


def make_likelihood(kind, n_features, variance="shared", squash=False):
    """The likelihood module of ``kind``: "gaussian", "bernoulli" or "continuous_bernoulli"."""
    if kind == "gaussian":
        return GaussianLikelihood(n_features, variance, squash)
    return {
        "bernoulli": BernoulliLikelihood,
        "continuous_bernoulli": ContinuousBernoulliLikelihood,
    }[kind]()


def kl_per_dimension(mu, logvar):
    """KL(q(z | x) || N(0, I)) of every row and latent dimension, shape (n, latent_dim)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)


def kl_term(mu, logvar, free_bits=0.0):
    """The KL term per row: summed over latent dimensions; with ``free_bits`` (nats per
    dimension, Kingma et al. 2016) each dimension's batch-mean KL below it costs nothing, so
    the optimiser gains nothing by shutting a dimension off entirely."""
    kl = kl_per_dimension(mu, logvar)
    if not free_bits:
        return kl.sum(dim=1)
    batch = kl.mean(dim=0)
    return (kl * (batch > free_bits)).sum(dim=1) + (free_bits * (batch <= free_bits)).sum()
