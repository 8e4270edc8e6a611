from collections import Counter

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from synthbalance.generators import (
    CGANSampler,
    ConvDiscriminator,
    ConvGenerator,
    MSGGANSampler,
    WGANGPSampler,
)
from synthbalance.generators._gan import activate_output, resolutions
from synthbalance.generators.training import CheckpointSelector

TABULAR = [CGANSampler, WGANGPSampler]
ALL = [CGANSampler, WGANGPSampler, MSGGANSampler]
TINY = dict(latent_dim=4, hidden_dims=(16,), steps=6, batch_size=64, device="cpu")
TINY_IMAGES = dict(TINY, hidden_dims=(8, 8))

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def images():
    from synthbalance.pipelines.images import digits

    data = digits(n_minority=30)
    return data.X.to_numpy(), data.y, data.image_shape


@pytest.mark.parametrize("Sampler", TABULAR)
@pytest.mark.parametrize("strategy", ["auto", 0.5, {1: 100}])
def test_class_counts_follow_sampling_strategy(Sampler, strategy, imbalanced_table):
    X, y = imbalanced_table
    counts = Counter(y)
    X_res, y_res = Sampler(sampling_strategy=strategy, random_state=0, **TINY).fit_resample(X, y)
    expected = {"auto": counts[0], 0.5: int(0.5 * counts[0]), "dict": 100}
    key = "dict" if isinstance(strategy, dict) else strategy
    assert Counter(y_res) == {0: counts[0], 1: expected[key]}
    assert X_res.shape == (len(y_res), X.shape[1]) and np.isfinite(X_res).all()
    np.testing.assert_array_equal(X_res[: len(X)], X)


@pytest.mark.parametrize("Sampler", ALL)
def test_images_keep_pixels_in_range_and_classes_balanced(Sampler, images):
    X, y, shape = images
    sampler = Sampler(image_shape=shape, random_state=0, **TINY_IMAGES)
    X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.architecture_ == "conv"
    assert Counter(y_res)["digit_3"] == Counter(y_res)["other"]
    new = X_res[len(X) :]
    assert new.min() >= X.min() and new.max() <= X.max() and np.isfinite(new).all()
    assert len(np.unique(new, axis=0)) > len(new) // 2


@pytest.mark.parametrize("Sampler", TABULAR)
def test_mlp_on_images_gives_sigmoid_pixels(Sampler, images):
    X, y, shape = images
    sampler = Sampler(image_shape=shape, architecture="mlp", random_state=0, **TINY)
    sampler.fit_resample(X, y)
    rows = sampler._generate("digit_3", 50, np.random.RandomState(0))
    assert sampler.architecture_ == "mlp" and rows.min() > 0 and rows.max() < 1


@pytest.mark.parametrize(
    "Sampler, kind", [(CGANSampler, "tables"), (WGANGPSampler, "tables"), (MSGGANSampler, "images")]
)
def test_same_seed_same_output_different_seed_different_output(
    Sampler, kind, imbalanced_table, images
):
    X, y, *shape = imbalanced_table if kind == "tables" else images
    params = dict(TINY, image_shape=shape[0]) if shape else TINY
    a, _ = Sampler(random_state=1, **params).fit_resample(X, y)
    b, _ = Sampler(random_state=1, **params).fit_resample(X, y)
    c, _ = Sampler(random_state=2, **params).fit_resample(X, y)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[len(X) :], c[len(X) :])


def test_global_torch_rng_is_left_alone(imbalanced_table):
    X, y = imbalanced_table
    state = torch.random.get_rng_state()
    WGANGPSampler(random_state=0, **TINY).fit_resample(X, y)
    assert torch.equal(state, torch.random.get_rng_state())


def test_wgan_takes_a_generator_step_every_n_critic_batches(imbalanced_table):
    X, y = imbalanced_table  # 400 rows in batches of 64: 7 batches per epoch
    generator_losses = {}
    for n_critic in (1, 7, 100):
        sampler = WGANGPSampler(n_critic=n_critic, random_state=0, **dict(TINY, steps=21))
        sampler.fit_resample(X, y)
        generator_losses[n_critic] = [g for _, g in sampler.loss_history_]
    assert all(g != 0 for g in generator_losses[1])
    assert generator_losses[7][0] != 0 and len(set(generator_losses[7])) == 3
    assert generator_losses[100] == [0.0, 0.0, 0.0]  # no generator step in 21 batches


def test_wgan_auto_n_critic_is_five_for_tables_and_one_for_images(imbalanced_table, images):
    X, y = imbalanced_table
    sampler = WGANGPSampler(random_state=0, **TINY)
    sampler.fit_resample(X, y)
    assert sampler.n_critic_ == 5
    X, y, shape = images
    sampler = WGANGPSampler(image_shape=shape, random_state=0, **TINY_IMAGES)
    sampler.fit_resample(X, y)
    assert sampler.n_critic_ == 1
    sampler.set_params(n_critic=3).fit_resample(X, y)
    assert sampler.n_critic_ == 3


@pytest.mark.parametrize("Sampler", [CGANSampler, WGANGPSampler])
def test_selection_restores_the_best_checkpoint(Sampler, imbalanced_table, monkeypatch):
    X, y = imbalanced_table
    planted, states = iter([3.0, 1.0, 2.0, 4.0, 5.0]), []

    def score(self, validation, generate, seed):  # a planted metric: step 2 is the best
        network = self._ema.averaged if self._ema is not None else self.generator_
        states.append({k: v.clone() for k, v in network.state_dict().items()})
        return next(planted)

    monkeypatch.setattr(Sampler, "_sample_score", score)
    sampler = Sampler(selection="c2st", random_state=0, **dict(TINY, steps=5, eval_every=1))
    sampler.fit_resample(X, y)
    assert sampler.selection_["best_step"] == 2
    assert [value for _, value, _ in sampler.selection_["history"]] == [3.0, 1.0, 2.0, 4.0, 5.0]
    restored = sampler.generator_.state_dict()
    assert all(torch.equal(restored[k], states[1][k]) for k in restored)
    assert not all(torch.equal(restored[k], states[-1][k]) for k in restored)


@pytest.mark.parametrize("selection", ["c2st", "coverage", "fd"])
def test_selection_by_a_sample_metric_keeps_its_best_step(selection, imbalanced_table, monkeypatch):
    X, y = imbalanced_table
    selectors = []
    make_selector = CheckpointSelector.__init__

    def keep(self, *args, **kwargs):
        make_selector(self, *args, **kwargs)
        selectors.append(self)

    monkeypatch.setattr(CheckpointSelector, "__init__", keep)
    sampler = CGANSampler(selection=selection, random_state=0, **dict(TINY, steps=4, eval_every=1))
    sampler.fit_resample(X, y)
    record = sampler.selection_
    steps, values, losses = zip(*record["history"], strict=True)
    assert record["metric"] == selection and steps == (1, 2, 3, 4)
    assert record["best_step"] == steps[int(np.argmin(values))]
    assert all(len(loss) == 2 for loss in losses)  # the discriminator's and generator's
    assert len(record["loss_rank_correlation"]) == 2
    # the restored generator, rated again on the same held-out rows and noise, is the best
    assert selectors[0].score() == min(values)


@pytest.mark.parametrize("Sampler", ALL)
def test_selection_by_adversarial_loss_is_rejected(Sampler, images):
    X, y, shape = images
    with pytest.raises(ValueError, match="'selection' parameter .* Got 'loss'"):
        Sampler(selection="loss", image_shape=shape, **TINY_IMAGES).fit_resample(X, y)


@pytest.mark.parametrize("architecture", ["auto", "conv"])
def test_msggan_on_a_table_asks_for_image_shape(architecture, imbalanced_table):
    X, y = imbalanced_table
    with pytest.raises(ValueError, match="MSGGANSampler .* needs image_shape"):
        MSGGANSampler(architecture=architecture, **TINY).fit_resample(X, y)
    with pytest.raises(ValueError, match="'architecture' parameter"):
        MSGGANSampler(architecture="mlp", **TINY).fit_resample(X, y)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"n_critic": 0}, "n_critic"),
        ({"n_critic": "fast"}, "n_critic"),
        ({"balanced_batches": "yes"}, "balanced_batches"),
        ({"gp_weight": -1.0}, "gp_weight"),
        ({"lr_discriminator": 0.0}, "lr_discriminator"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"steps": 0}, "steps"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them(change, message, imbalanced_table):
    X, y = imbalanced_table
    with pytest.raises(ValueError, match=message):
        WGANGPSampler(**{**TINY, **change}).fit_resample(X, y)
    with pytest.raises(ValueError, match="'loss' parameter"):
        CGANSampler(**{**TINY, "loss": "wasserstein"}).fit_resample(X, y)


def test_resolutions_halve_rounding_up():
    assert resolutions((1, 8, 8), 2) == [(2, 2), (4, 4), (8, 8)]
    assert resolutions((3, 7, 5), 3) == [(1, 1), (2, 2), (4, 3), (7, 5)]


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 7, 5)])
def test_msg_discriminator_takes_one_image_per_resolution(shape):
    channels, n, n_classes = (8, 6, 4), 5, 3
    generator = ConvGenerator(shape, 4, channels, n_classes, multiscale=True)
    discriminator = ConvDiscriminator(shape, channels, n_classes, multiscale=True)
    z, c = torch.randn(n, 4), torch.tensor([0, 1, 2, 1, 0])
    fakes = generator(z, c)
    expected = [(n, shape[0], *size) for size in resolutions(shape, len(channels))]
    assert [tuple(f.shape) for f in fakes] == expected
    assert generator.rows(fakes).shape == (n, int(np.prod(shape)))
    # real rows become the same pyramid, the full image last
    real = torch.rand(n, int(np.prod(shape)))
    pyramid = discriminator.real_inputs(real)
    assert [tuple(p.shape) for p in pyramid] == expected
    torch.testing.assert_close(pyramid[-1].flatten(1), real)
    torch.testing.assert_close(pyramid[-2].mean(), real.mean(), atol=0.05, rtol=0)
    # one logit per image, and every resolution reaches it
    inputs = [f.detach().requires_grad_(True) for f in fakes]
    logits = discriminator(inputs, c)
    assert logits.shape == (n,)
    logits.sum().backward()
    assert all(i.grad is not None and i.grad.abs().sum() > 0 for i in inputs)
    # so does every generator block, through its own image
    generator.zero_grad()
    discriminator(generator(z, c), c).sum().backward()
    assert all(layer.weight.grad.abs().sum() > 0 for layer in generator.to_image)
    with pytest.raises(ValueError, match="one image per resolution"):
        discriminator(fakes[1:], c)
    with pytest.raises(ValueError, match="one image per resolution"):
        discriminator(generator.rows(fakes), c)


def test_single_scale_conv_networks_work_on_odd_image_sizes():
    shape = (3, 7, 5)
    generator = ConvGenerator(shape, 4, (8, 6), 2)
    discriminator = ConvDiscriminator(shape, (8, 6), 2)
    c = torch.tensor([0, 1, 1])
    rows = generator(torch.randn(3, 4), c)
    assert rows.shape == (3, 105) and 0 < rows.min() and rows.max() < 1
    assert discriminator(discriminator.real_inputs(rows), c).shape == (3,)


def test_activate_output_softmaxes_each_categorical_block():
    x = torch.randn(6, 8)
    out = activate_output(x, [slice(5, 8), slice(1, 3)])
    torch.testing.assert_close(out[:, [0, 3, 4]], x[:, [0, 3, 4]])
    for block in (slice(1, 3), slice(5, 8)):
        torch.testing.assert_close(out[:, block], torch.softmax(x[:, block], dim=1))
    assert activate_output(x, []) is x


@pytest.mark.parametrize("Sampler", TABULAR)
def test_categorical_features_get_a_softmax_block_and_seen_categories(Sampler, imbalanced_table):
    X, y = imbalanced_table
    X = np.column_stack([X, np.random.RandomState(0).choice([3.0, 5.0, 9.0], len(X))])
    sampler = Sampler(categorical_features=[X.shape[1] - 1], random_state=0, **TINY)
    X_res, _ = sampler.fit_resample(X, y)
    assert sampler.preprocessor_.categorical_slices_ == [slice(6, 9)]
    rows = sampler._generate(1, 40, np.random.RandomState(0))  # network space
    np.testing.assert_allclose(rows[:, 6:9].sum(axis=1), 1, rtol=1e-5)
    assert (rows[:, 6:9] > 0).all() and (rows[:, :6] < 0).any()
    assert set(X_res[len(X) :, -1]) <= {3.0, 5.0, 9.0}


def test_sample_for_export_any_fitted_class(imbalanced_table):
    X, y = imbalanced_table
    sampler = CGANSampler(random_state=0, **TINY)
    with pytest.raises(NotFittedError):
        sampler.sample(3, y=1)
    sampler.fit_resample(X, y)
    for label in (0, 1):
        assert sampler.sample(7, y=label).shape == (7, X.shape[1])
    np.testing.assert_array_equal(sampler.sample(5, y=1), sampler.sample(5, y=1))
    with pytest.raises(ValueError, match="cannot generate class 3"):
        sampler.sample(5, y=3)


@pytest.mark.parametrize("name", ["cgan", "wgan_gp", "msggan"])
def test_generator_configs_instantiate_and_resample(name, imbalanced_table, images):
    from hydra import compose, initialize_config_module
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
        cfg = compose("config", overrides=[f"generator={name}"]).generator
    node = OmegaConf.to_container(cfg)
    assert node.pop("name") == name
    node.update(steps=1, hidden_dims=[8])
    X, y, *shape = images if name == "msggan" else imbalanced_table
    sampler = instantiate(node, random_state=0, **({"image_shape": shape[0]} if shape else {}))
    X_res, y_res = sampler.fit_resample(X, y)
    majority = max(Counter(y).values())
    assert len(X_res) == len(y_res) and set(Counter(y_res).values()) == {majority}


@pytest.mark.parametrize(
    "overrides",
    [
        ("generator=cgan",),
        ("dataset=digits", "generator=msggan"),
        ("dataset=keel", "dataset.name=abalone19", "generator=wgan_gp"),  # a categorical column
    ],
)
def test_app_runs_a_gan_end_to_end(overrides, make_config, tmp_path):
    from synthbalance.pipelines.app import run

    report = run(make_config(*overrides, "evaluation.methods=[baseline,augmented]"))
    name = overrides[-1].split("=")[1]
    assert report["generator"]["name"] == name
    augmented = [r for r in report["folds"] if r["method"] == "augmented"]
    assert len(augmented) == 2 and all(r["n_synthetic"] > 0 for r in augmented)
    assert (tmp_path / "report.json").exists()
    if "dataset=keel" in overrides:
        assert report["generator"]["params"]["categorical_features"] == [0]


def test_the_weight_average_forgets_the_initial_weights_in_a_short_run():
    # 400 updates (a WGAN-GP with 5 critic steps each in 2,000): a fixed decay of 0.999
    # would keep 67 % of the weight on the untrained network; the warm-up keeps almost none.
    from synthbalance.generators.training import ExponentialAverage

    network = torch.nn.Linear(2, 1)
    with torch.no_grad():
        network.weight.zero_()
    average = ExponentialAverage(network, 0.999)
    average.update()  # the first update copies the (untrained) weights
    with torch.no_grad():
        network.weight.fill_(1.0)
    for _ in range(399):
        average.update()
    assert average.averaged.weight.min().item() > 0.99
    assert network.weight.min().item() == 1.0  # the trained network is left alone
