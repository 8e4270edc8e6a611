"""The StyleGAN2-style generator: modulated convolutions, style mixing, reproducible samples."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from synthbalance.generators import StyleGANSampler, StyleGenerator
from synthbalance.generators._gan import ConvDiscriminator, minibatch_stddev
from synthbalance.generators._stylegan import ModulatedConv2d

TINY = dict(latent_dim=8, hidden_dims=(8, 16), steps=4, batch_size=32, device="cpu", w_dim=16,
            mapping_layers=2)  # fmt: skip


def test_modulated_convolution_matches_a_plain_reference():
    torch.manual_seed(0)
    conv = ModulatedConv2d(3, 5, 3, w_dim=4)
    x, w = torch.randn(2, 3, 6, 6), torch.randn(2, 4)
    out = conv(x, w)
    style = conv.affine(w)
    for i in range(2):  # per sample: scale the input channels' weights, then demodulate
        weight = conv.weight * style[i][None, :, None, None]
        weight = weight / weight.pow(2).sum(dim=(1, 2, 3), keepdim=True).add(1e-8).sqrt()
        expected = F.conv2d(x[i : i + 1], weight, padding=1)
        torch.testing.assert_close(out[i : i + 1], expected, rtol=1e-5, atol=1e-5)
    plain = ModulatedConv2d(3, 5, 1, w_dim=4, demodulate=False)
    weight = plain.weight * plain.affine(w)[0][None, :, None, None]
    torch.testing.assert_close(plain(x, w)[:1], F.conv2d(x[:1], weight), rtol=1e-5, atol=1e-5)


def test_minibatch_stddev_is_the_spread_of_each_group():
    torch.manual_seed(0)
    h = torch.randn(8, 3, 2, 2)
    out = minibatch_stddev(h, 4)
    assert out.shape == (8, 1, 2, 2)
    for m in range(2):  # image i is in group i mod 2: images m, m + 2, m + 4, m + 6
        group = h[m::2]
        expected = group.var(dim=0, unbiased=False).add(1e-8).sqrt().mean()
        torch.testing.assert_close(out[m::2], expected.expand(4, 1, 2, 2))
    same = minibatch_stddev(h[:1].expand(8, -1, -1, -1), 4)
    assert torch.all(same < 1e-3)  # a batch of one image again: no spread
    assert minibatch_stddev(h[:6], 4).shape == (6, 1, 2, 2)  # groups of 3 for 6 images


def test_the_minibatch_stddev_discriminator_sees_the_rest_of_the_batch():
    torch.manual_seed(0)
    x, c = torch.rand(4, 64), torch.zeros(4, dtype=torch.long)
    varied = x.clone()
    varied[1:] = torch.rand(3, 64)  # the first image the same, its group mates new
    for group, sees in ((0, False), (4, True)):
        d = ConvDiscriminator((1, 8, 8), (8, 16), 2, minibatch_std=group)
        changed = not torch.allclose(d(x, c)[0], d(varied, c)[0])
        assert changed is sees


def test_demodulated_outputs_have_unit_weight_norm():
    conv = ModulatedConv2d(4, 6, 3, w_dim=4)
    weight = conv.modulated_weights(torch.randn(3, 4))
    norms = weight.pow(2).sum(dim=(2, 3, 4))
    torch.testing.assert_close(norms, torch.ones_like(norms), rtol=1e-4, atol=1e-4)


def test_layers_before_the_crossover_ignore_the_second_latent():
    torch.manual_seed(0)
    net = StyleGenerator((1, 28, 28), 8, (8, 16), n_classes=2, w_dim=16, mapping_layers=2).eval()
    z, c = torch.randn(2, 8), torch.tensor([0, 1])
    crossover = 3  # styles 0-2 (the first three synthesis layers) come from z
    outputs = {}

    def run(z2):
        found = []
        hooks = [layer.register_forward_hook(lambda m, i, o: found.append(o.clone()))
                 for layer in net.layers]  # fmt: skip
        generator = torch.Generator().manual_seed(1)  # the same per-pixel noise
        image = net(z, c, generator=generator, z2=z2, crossover=crossover)
        for hook in hooks:
            hook.remove()
        return found, image

    outputs["a"], image_a = run(torch.randn(2, 8))
    outputs["b"], image_b = run(torch.randn(2, 8))
    for layer in range(crossover):
        assert torch.equal(outputs["a"][layer], outputs["b"][layer])
    assert not torch.equal(outputs["a"][crossover], outputs["b"][crossover])
    assert not torch.equal(image_a, image_b)
    assert image_a.shape == (2, 28 * 28) and 0 <= image_a.min() and image_a.max() <= 1


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    X = rng.random((120, 64)).astype(np.float32)
    y = np.r_[np.zeros(100, int), np.ones(20, int)]
    X[y == 1, :32] += 0.5
    return np.clip(X, 0, 1), y


def test_same_seed_same_samples_and_a_different_seed_differs(images):
    X, y = images
    first, _ = StyleGANSampler(image_shape=(1, 8, 8), random_state=0, **TINY).fit_resample(X, y)
    again, _ = StyleGANSampler(image_shape=(1, 8, 8), random_state=0, **TINY).fit_resample(X, y)
    other, _ = StyleGANSampler(image_shape=(1, 8, 8), random_state=1, **TINY).fit_resample(X, y)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first[len(X) :], other[len(X) :])
    assert len(first) == 200 and 0 <= first.min() and first.max() <= 1


def test_lazy_r1_runs_every_r1_every_discriminator_steps(images, monkeypatch):
    from synthbalance.generators import _stylegan

    calls = []
    penalty = _stylegan.r1_penalty

    def counting(*args):
        calls.append(1)
        return penalty(*args)

    monkeypatch.setattr(_stylegan, "r1_penalty", counting)
    X, y = images
    sampler = StyleGANSampler(image_shape=(1, 8, 8), random_state=0, r1_every=2, **TINY)
    sampler.fit_resample(X, y)
    assert len(calls) == TINY["steps"] // 2


def test_minibatch_std_reaches_the_discriminator(images):
    X, y = images
    sampler = StyleGANSampler(random_state=0, image_shape=(1, 8, 8), minibatch_std=4, **TINY)
    sampler.fit_resample(X, y)
    assert sampler.discriminator_.minibatch_std == 4
    assert StyleGANSampler().minibatch_std == 0  # not the default: see its docstring


def test_tables_are_refused(images):
    X, y = images
    with pytest.raises(ValueError, match="needs image_shape"):
        StyleGANSampler(**TINY).fit_resample(X, y)
