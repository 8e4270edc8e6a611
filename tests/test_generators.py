from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError

from synthbalance.generators import CVAESampler, TabularPreprocessor, VAESampler
from synthbalance.generators.training import torch_generator, train_steps

SAMPLERS = [VAESampler, CVAESampler]
TINY = dict(latent_dim=3, hidden_dims=(16,), steps=6, batch_size=64, device="cpu")
AVERAGE = dict(sampling="latent_average")  # not the default (posterior)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=400, n_features=6, n_informative=3, weights=[0.9], random_state=0
    )
    return X, y


@pytest.mark.parametrize("Sampler", SAMPLERS)
@pytest.mark.parametrize("strategy", ["auto", 0.5, {1: 100}])
def test_class_counts_follow_sampling_strategy(Sampler, strategy, data):
    X, y = data
    counts = Counter(y)
    X_res, y_res = Sampler(sampling_strategy=strategy, random_state=0, **TINY).fit_resample(X, y)
    expected = {"auto": counts[0], 0.5: int(0.5 * counts[0]), "dict": 100}
    key = "dict" if isinstance(strategy, dict) else strategy
    assert Counter(y_res) == {0: counts[0], 1: expected[key]}
    assert X_res.shape == (len(y_res), X.shape[1])


@pytest.mark.parametrize("Sampler", SAMPLERS)
def test_output_finite_in_input_dtype_and_originals_unchanged(Sampler, data):
    X, y = data
    X32 = X.astype(np.float32)
    X_res, y_res = Sampler(random_state=0, **TINY).fit_resample(X32, y)
    assert X_res.dtype == np.float32
    assert np.isfinite(X_res).all()
    np.testing.assert_array_equal(X_res[: len(X)], X32)
    np.testing.assert_array_equal(y_res[: len(y)], y)


@pytest.mark.parametrize("Sampler", SAMPLERS)
def test_integer_features_come_back_as_integers(Sampler, data):
    X, y = data
    X_int = np.rint(X * 10).astype(np.int64)
    X_res, _ = Sampler(random_state=0, **TINY).fit_resample(X_int, y)
    assert X_res.dtype == np.int64


@pytest.mark.parametrize("Sampler", SAMPLERS)
def test_same_seed_same_output_different_seed_different_output(Sampler, data):
    X, y = data
    a, _ = Sampler(random_state=1, **TINY).fit_resample(X, y)
    b, _ = Sampler(random_state=1, **TINY).fit_resample(X, y)
    c, _ = Sampler(random_state=2, **TINY).fit_resample(X, y)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[len(X) :], c[len(X) :])


def test_global_torch_rng_is_left_alone(data):
    X, y = data
    state = torch.random.get_rng_state()
    CVAESampler(random_state=0, **TINY).fit_resample(X, y)
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize("Sampler", SAMPLERS)
@pytest.mark.parametrize("sampling", ["prior", "posterior", "latent_average"])
def test_every_sampling_mode_generates_distinct_rows(Sampler, sampling, data):
    X, y = data
    X_res, _ = Sampler(sampling=sampling, random_state=0, **TINY).fit_resample(X, y)
    new = X_res[len(X) :]
    assert len(np.unique(new, axis=0)) > len(new) // 2


@pytest.mark.parametrize("Sampler", SAMPLERS)
def test_latent_average_over_the_whole_class_gives_one_row(Sampler, data):
    X, y = data
    k = int((y == 1).sum())
    sampler = Sampler(**AVERAGE, k=k, noise=0.0, decoder_noise=False, random_state=0, **TINY)
    X_res, _ = sampler.fit_resample(X, y)
    new = X_res[len(X) :]
    np.testing.assert_allclose(new, np.broadcast_to(new[0], new.shape), rtol=1e-5, atol=1e-6)


def _decoded_means(sampler, X_minority, minority):
    """Decode the encoder mean of every real minority row (the k=1, noise=0 candidates)."""
    Z = torch.as_tensor(sampler.preprocessor_.transform(X_minority))
    with torch.no_grad():
        if isinstance(sampler, CVAESampler):
            c = torch.full((len(Z),), int(np.flatnonzero(sampler.classes_ == minority)[0]))
            model = sampler.model_
            decoded = model.rows(model.decode(model.encode(Z, c)[0], c))
        else:
            model = sampler.models_[minority]
            decoded = model.rows(model.decode(model.encode(Z)[0]))
    return sampler.preprocessor_.inverse_transform(decoded.numpy())


@pytest.mark.parametrize("Sampler", SAMPLERS)
def test_latent_average_with_k1_decodes_one_real_encoder_mean(Sampler, data):
    X, y = data
    sampler = Sampler(**AVERAGE, k=1, noise=0.0, decoder_noise=False, random_state=0, **TINY)
    X_res, _ = sampler.fit_resample(X, y)
    candidates = _decoded_means(sampler, X[y == 1], 1)
    new = X_res[len(X) :]
    distances = np.abs(new[:, None, :] - candidates[None, :, :]).max(axis=2).min(axis=1)
    assert distances.max() < 1e-4
    assert len(np.unique(new.round(5), axis=0)) > 1


@pytest.mark.parametrize("Sampler", SAMPLERS)
def test_k_larger_than_class_warns_and_still_resamples(Sampler):
    X, y = make_classification(n_samples=60, weights=[0.9], random_state=0)
    n_minority = int((y == 1).sum())
    with pytest.warns(UserWarning, match=f"k=50 is larger than the {n_minority}"):
        _, y_res = Sampler(**AVERAGE, k=50, random_state=0, **TINY).fit_resample(X, y)
    assert Counter(y_res)[1] == Counter(y_res)[0]


def test_sample_for_export(data):
    X, y = data
    sampler = CVAESampler(random_state=0, **TINY)
    with pytest.raises(NotFittedError, match="not trained yet: fit_resample trains it"):
        sampler.fit(X, y).sample(3, y=1)  # imblearn's fit checks the data, trains nothing
    sampler.fit_resample(X, y)
    for label in (0, 1):  # the CVAE can generate any class it saw
        rows = sampler.sample(7, y=label)
        assert rows.shape == (7, X.shape[1]) and rows.dtype == X.dtype
    np.testing.assert_array_equal(sampler.sample(5, y=1), sampler.sample(5, y=1))
    with pytest.raises(ValueError, match="cannot generate class 3"):
        sampler.sample(5, y=3)


def test_vae_sampler_only_generates_the_classes_it_modelled(data):
    X, y = data
    sampler = VAESampler(random_state=0, **TINY)
    sampler.fit_resample(X, y)
    assert set(sampler.models_) == {1}
    assert sampler.sample(4, y=1).shape == (4, X.shape[1])
    with pytest.raises(ValueError, match="cannot generate class 0"):
        sampler.sample(4, y=0)


@pytest.mark.parametrize("Sampler", SAMPLERS)
def test_dataframe_in_dataframe_out(Sampler, data):
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    X_res, y_res = Sampler(random_state=0, **TINY).fit_resample(frame, pd.Series(y, name="t"))
    assert list(X_res.columns) == list(frame.columns)
    assert y_res.name == "t"


@pytest.mark.parametrize("Sampler", SAMPLERS)
@pytest.mark.parametrize(
    "change, message",
    [
        ({"X": "nan"}, "NaN"),
        ({"X": "inf"}, "infinity"),
        ({"y": "one_class"}, "class"),
        ({"sampling_strategy": {7: 10}}, "not present"),
        ({"steps": 0}, "steps"),
        ({"k": 0}, "'k'"),
        ({"sampling": "median"}, "sampling"),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(Sampler, change, message, data):
    X, y = data[0].copy(), data[1].copy()
    params = dict(TINY, random_state=0)
    if change.get("X") == "nan":
        X[3, 2] = np.nan
    elif change.get("X") == "inf":
        X[3, 2] = np.inf
    elif change.get("y") == "one_class":
        y = np.zeros_like(y)
    else:
        params.update(change)
    with pytest.raises(ValueError, match=message):
        Sampler(**params).fit_resample(X, y)


def test_preprocessor_round_trip_and_standardisation(data):
    X, _ = data
    pre = TabularPreprocessor().fit(X)
    Z = pre.transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-4)
    np.testing.assert_allclose(pre.inverse_transform(Z), X, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "name", ["ros", "smote", "borderline_smote", "adasyn", "vae", "cvae", "ddpm"]
)
def test_generator_configs_instantiate_and_resample(name, data):
    from hydra import compose, initialize_config_module
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
        cfg = compose("config", overrides=[f"generator={name}"]).generator
    node = OmegaConf.to_container(cfg)
    assert node.pop("name") == name
    node.update({"steps": 2} if name in {"vae", "cvae", "ddpm"} else {})
    sampler = instantiate(node, random_state=0)
    X, y = data
    X_res, y_res = sampler.fit_resample(X, y)
    assert Counter(y_res)[1] > Counter(y)[1] and len(X_res) == len(y_res)


def test_checkpoint_selector_restores_the_best_state():
    from synthbalance.generators.training import CheckpointSelector

    module = torch.nn.Linear(1, 1, bias=False)
    selector = CheckpointSelector(module, lambda: abs(module.weight.item()))
    for step, weight in enumerate([3.0, -1.0, 2.0, 0.5, 4.0], start=1):
        module.weight.data.fill_(weight)
        selector(step, loss=float(step))
    selector.restore()
    assert selector.best_step == 4
    assert abs(module.weight.item()) == min(value for _, value, _ in selector.history) == 0.5


def test_checkpoint_selector_stops_after_patience():
    from synthbalance.generators.training import CheckpointSelector

    module = torch.nn.Linear(1, 1)
    values = iter([1.0, 2.0, 3.0, 0.5])
    selector = CheckpointSelector(module, lambda: next(values), patience=2)
    assert [selector(step, loss=0.0) for step in (2, 4, 6)] == [False, False, True]
    assert selector.history == [(2, 1.0, 0.0), (4, 2.0, 0.0), (6, 3.0, 0.0)]


@pytest.mark.parametrize("Sampler", SAMPLERS)
@pytest.mark.parametrize("selection", ["c2st", "coverage", "fd"])
def test_selection_by_a_sample_metric_records_its_history(Sampler, selection, data):
    X, y = data
    sampler = Sampler(selection=selection, eval_every=2, random_state=0, **{**TINY, "steps": 6})
    _, y_res = sampler.fit_resample(X, y)
    assert Counter(y_res)[1] == Counter(y_res)[0]
    record = sampler.selection_ if Sampler is CVAESampler else sampler.selection_["1"]
    steps, values, losses = zip(*record["history"], strict=True)
    assert steps == (2, 4, 6) and record["metric"] == selection
    assert record["best_step"] == steps[int(np.argmin(values))]
    assert all(isinstance(loss, float) for loss in losses)
    again = Sampler(selection=selection, eval_every=2, random_state=0, **{**TINY, "steps": 6})
    again.fit_resample(X, y)
    assert again.selection_ == sampler.selection_


def test_selection_last_keeps_every_row_and_records_nothing(data):
    X, y = data
    sampler = CVAESampler(random_state=0, **TINY)
    sampler.fit_resample(X, y)
    assert sampler.selection_ is None
    assert sum(len(mu) for mu, _ in sampler.latents_.values()) == len(X)


@pytest.fixture(scope="module")
def images():
    from synthbalance.pipelines.images import digits

    data = digits(n_minority=30)
    return data.X.to_numpy(), data.y, data.image_shape


@pytest.mark.parametrize("Sampler", SAMPLERS)
@pytest.mark.parametrize("sampling", ["prior", "posterior", "latent_average"])
def test_conv_architecture_for_images_keeps_pixels_valid(Sampler, sampling, images):
    X, y, shape = images
    sampler = Sampler(image_shape=shape, sampling=sampling, random_state=0, **TINY)
    X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.architecture_ == "conv"
    assert Counter(y_res)["digit_3"] == Counter(y_res)["other"]
    new = X_res[len(X) :]
    assert new.min() >= X.min() and new.max() <= X.max() and np.isfinite(new).all()


def test_conv_latent_average_over_the_class_gives_one_image(images):
    X, y, shape = images
    sampler = CVAESampler(image_shape=shape, **AVERAGE, k=30, noise=0.0, random_state=0, **TINY)
    new = sampler.fit_resample(X, y)[0][len(X) :]
    np.testing.assert_allclose(new, np.broadcast_to(new[0], new.shape), atol=1e-6)


def test_mlp_architecture_on_images_is_clipped_too(images):
    X, y, shape = images
    sampler = VAESampler(image_shape=shape, architecture="mlp", random_state=0, **TINY)
    new = sampler.fit_resample(X, y)[0][len(X) :]
    assert sampler.architecture_ == "mlp" and 0 <= new.min() and new.max() <= 1


def test_image_shape_must_match_the_rows(images):
    X, y, _ = images
    with pytest.raises(ValueError, match=r"image_shape=\(1, 4, 4\) does not fit rows of"):
        CVAESampler(image_shape=(1, 4, 4), random_state=0, **TINY).fit_resample(X, y)
    sampler = CVAESampler(image_shape=(1, 4, 4), random_state=0, **TINY)
    before = dict(vars(sampler))
    with pytest.raises(ValueError, match=r"image_shape=\(1, 4, 4\) does not fit rows of"):
        sampler.check_features(X.shape[1])  # the same refusal, before any fit
    assert vars(sampler) == before
    CVAESampler(image_shape=(1, 8, 8), **TINY).check_features(X.shape[1])
    with pytest.raises(ValueError, match=r"image_shape=\(64,\) does not fit"):
        CVAESampler(image_shape=(64,), random_state=0, **TINY).fit_resample(X, y)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(hidden_dims=(-1,)), "hidden_dims must be positive integers"),
        (dict(hidden_dims=(8.5,)), "hidden_dims must be positive integers"),
        (dict(device="bogus"), "device='bogus' is not a torch device"),
    ],
)
def test_bad_network_parameters_are_value_errors(change, message, data):
    X, y = data
    with pytest.raises(ValueError, match=message):
        CVAESampler(random_state=0, **{**TINY, **change}).fit_resample(X, y)


@pytest.mark.parametrize("container", ["csr_matrix", "csr_array", "csc_matrix"])
def test_sparse_input_keeps_its_type(container, data):
    from scipy import sparse

    X, y = data
    X_sparse = getattr(sparse, container)(X)
    X_res, _ = CVAESampler(random_state=0, **TINY).fit_resample(X_sparse, y)
    assert type(X_res) is type(X_sparse)
    assert (X_res[: len(X)] != X_sparse).nnz == 0
    with pytest.raises(ValueError, match="architecture='conv' needs image_shape"):
        CVAESampler(architecture="conv", random_state=0, **TINY).fit_resample(X, y)


@pytest.mark.parametrize("population, k", [(12, 10), (30, 10), (5000, 10), (100, 1)])
def test_choose_without_replacement_gives_distinct_indices(population, k):
    from synthbalance.generators._vae import _choose_without_replacement

    index = _choose_without_replacement(2000, population, k, torch.Generator().manual_seed(0))
    assert index.shape == (2000, k)
    assert ((index >= 0) & (index < population)).all()
    assert all(len(set(row.tolist())) == k for row in index)
    # every member of the population is drawn about equally often (Poisson-like spread)
    counts = torch.bincount(index.flatten(), minlength=population).float()
    assert counts.std() / counts.mean() < 2 / counts.mean().sqrt()


@pytest.mark.parametrize("Sampler", SAMPLERS)
def test_sample_zero_rows_is_an_empty_array(Sampler, data):
    X, y = data
    sampler = Sampler(random_state=0, **TINY)
    sampler.fit_resample(X, y)
    assert sampler.sample(0, y=1).shape == (0, X.shape[1])


def test_max_seconds_stops_training_early(data, one_torch_thread):
    X, y = data
    slow = dict(TINY, steps=1_000_000)
    sampler = CVAESampler(random_state=0, max_seconds=0.2, **slow)
    sampler.fit_resample(X, y)
    n_batches = -(-len(X) // TINY["batch_size"])
    assert 1 <= len(sampler.loss_history_) < 1_000_000 // n_batches


def test_weighted_training_draws_rows_by_their_weights():
    codes = torch.tensor([0] * 360 + [1] * 40)
    weights = 1.0 / torch.bincount(codes).double()[codes]
    seen = []

    def step(c, *, generator):
        seen.append(c.clone())
        return torch.zeros(())

    module = torch.nn.Linear(1, 1)
    train_steps(module, step, [codes], steps=200, batch_size=50,
                generator=torch_generator(0, "cpu"), weights=weights)  # fmt: skip
    share = torch.cat(seen).double().mean().item()
    assert 0.45 < share < 0.55  # a tenth of the rows, half of every batch on average
    seen.clear()
    train_steps(module, step, [codes], steps=8, batch_size=50,
                generator=torch_generator(0, "cpu"))  # fmt: skip
    assert torch.cat(seen).sum().item() == 40  # unweighted: each row once per epoch


def test_weighted_draws_past_multinomials_limit_follow_the_weights(monkeypatch):
    from synthbalance.generators import training

    monkeypatch.setattr(training, "MULTINOMIAL_LIMIT", 10)  # 400 rows: inverse transform
    codes = torch.tensor([0] * 360 + [1] * 40)
    weights = 1.0 / torch.bincount(codes).double()[codes]
    weights[:10] = 0.0  # never drawn
    seen = []

    def step(c, i, *, generator):
        seen.append(torch.stack([c, i]))
        return torch.zeros(())

    train_steps(torch.nn.Linear(1, 1), step, [codes, torch.arange(400)], steps=200,
                batch_size=50, generator=torch_generator(0, "cpu"), weights=weights)  # fmt: skip
    c, i = torch.cat(seen, dim=1)
    assert 0.45 < c.double().mean().item() < 0.55
    assert i.min().item() >= 10 and i.max().item() == 399


def test_weights_must_hold_one_number_per_row():
    with pytest.raises(ValueError, match=r"one number per row \(400\), got shape \(3,\)"):
        train_steps(torch.nn.Linear(1, 1), None, [torch.zeros(400)], steps=1, batch_size=50,
                    generator=torch_generator(0, "cpu"), weights=torch.ones(3))  # fmt: skip


def _three_classes():
    return make_classification(
        n_samples=400, n_features=6, n_informative=3, n_classes=3, weights=[0.8, 0.15],
        random_state=0,
    )  # fmt: skip


@pytest.mark.parametrize("name", ["CVAESampler", "CGANSampler", "WGANGPSampler", "DDPMSampler"])
@pytest.mark.parametrize("selection", ["last", "c2st"])
@pytest.mark.parametrize("balanced", [True, False])
def test_every_conditional_sampler_trains_on_class_balanced_batches(
    name, selection, balanced, monkeypatch
):
    import synthbalance.generators as generators
    from synthbalance.generators import _base

    seen = {}

    def spy(module, step, tensors, **loop):
        seen["codes"], seen["weights"] = tensors[1], loop["weights"]
        return train_steps(module, step, tensors, **loop)

    monkeypatch.setattr(_base, "train_steps", spy)
    X, y = _three_classes()
    tiny = dict(hidden_dims=(16,), steps=4, batch_size=64, device="cpu", eval_every=2)
    Sampler = getattr(generators, name)
    Sampler(selection=selection, balanced_batches=balanced, random_state=0, **tiny).fit_resample(
        X, y
    )
    if not balanced:
        assert seen["weights"] is None
        return
    codes, weights = seen["codes"], seen["weights"]
    assert weights.shape == codes.shape  # one weight per training row, held-out rows left out
    totals = [weights[codes == k].sum().item() for k in range(3)]
    assert totals == pytest.approx([1.0, 1.0, 1.0])  # each class an equal share


def test_a_one_class_model_ignores_balanced_batches(data):
    X, y = data
    on, off = (VAESampler(random_state=0, balanced_batches=b, **TINY) for b in (True, False))
    np.testing.assert_array_equal(on.fit_resample(X, y)[0], off.fit_resample(X, y)[0])
