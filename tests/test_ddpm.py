"""DDPMSampler: counts, categories, images, seeds, the schedule, and that it learns."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch

from synthbalance.generators import DDPMSampler, TabularPreprocessor
from synthbalance.generators._ddpm import Schedule, cosine_alphas_bar

TINY = dict(hidden_dims=(16,), embedding_dim=8, steps=6, batch_size=64, n_timesteps=50,
            sampling_steps=10, device="cpu")  # fmt: skip

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def mixed():
    """Three numeric columns, a string category and an integer-coded one; three classes."""
    rng = np.random.RandomState(0)
    n = 300
    y = np.repeat([0, 1, 2], [200, 60, 40])
    frame = pd.DataFrame(rng.randn(n, 3) + y[:, None], columns=["a", "b", "c"])
    frame["colour"] = rng.choice(["red", "green", "blue"], n)
    frame["code"] = np.where(y == 2, 7, rng.choice([1, 3], n))
    return frame.to_numpy(dtype=object), y


@pytest.mark.parametrize("strategy", ["auto", 0.5, {1: 100}])
def test_class_counts_follow_sampling_strategy(strategy, imbalanced_table):
    X, y = imbalanced_table
    counts = Counter(y)
    X_res, y_res = DDPMSampler(sampling_strategy=strategy, random_state=0, **TINY).fit_resample(
        X, y
    )
    expected = {"auto": counts[0], 0.5: int(0.5 * counts[0]), "dict": 100}
    key = "dict" if isinstance(strategy, dict) else strategy
    assert Counter(y_res) == {0: counts[0], 1: expected[key]}
    assert X_res.shape == (len(y_res), X.shape[1]) and np.isfinite(X_res).all()
    np.testing.assert_array_equal(X_res[: len(X)], X)


def test_several_minority_classes_and_mixed_columns_keep_valid_categories(mixed):
    X, y = mixed
    sampler = DDPMSampler(categorical_features=[3, 4], random_state=0, **TINY)
    X_res, y_res = sampler.fit_resample(X, y)
    assert Counter(y_res) == {0: 200, 1: 200, 2: 200}
    new = X_res[len(X) :]
    assert set(new[:, 3]) <= {"red", "green", "blue"} and set(new[:, 4]) <= {1, 3, 7}
    assert np.isfinite(new[:, :3].astype(float)).all()
    np.testing.assert_array_equal(X_res[: len(X)], X)
    assert sampler.sample(5, y=2).shape == (5, 5)


def test_same_seed_same_output_different_seed_different_output(imbalanced_table):
    X, y = imbalanced_table
    a, _ = DDPMSampler(random_state=1, **TINY).fit_resample(X, y)
    b, _ = DDPMSampler(random_state=1, **TINY).fit_resample(X, y)
    c, _ = DDPMSampler(random_state=2, **TINY).fit_resample(X, y)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[len(X) :], c[len(X) :])


def test_global_torch_rng_is_left_alone(imbalanced_table):
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    DDPMSampler(random_state=0, **TINY).fit_resample(*imbalanced_table)
    torch.testing.assert_close(torch.rand(3), expected)


def test_images_as_flat_rows_stay_in_pixel_range():
    from synthbalance.pipelines.images import digits

    data = digits(n_minority=30)
    X, y = data.X.to_numpy(), data.y
    sampler = DDPMSampler(image_shape=data.image_shape, random_state=0, **TINY)
    X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.architecture_ == "mlp"
    assert Counter(y_res)["digit_3"] == Counter(y_res)["other"]
    new = X_res[len(X) :]
    assert new.min() >= X.min() and new.max() <= X.max() and np.isfinite(new).all()
    assert len(np.unique(new, axis=0)) > len(new) // 2


def test_integer_features_come_back_as_integers_in_their_range(imbalanced_table):
    X, y = imbalanced_table
    X_int = np.rint(X * 10).astype(np.int64)
    X_res, _ = DDPMSampler(random_state=0, **TINY).fit_resample(X_int, y)
    assert X_res.dtype == np.int64
    # the inverse quantile transform cannot leave the range seen in fit
    assert (X_res.min(axis=0) >= X_int.min(axis=0)).all()
    assert (X_res.max(axis=0) <= X_int.max(axis=0)).all()


def test_learns_a_two_cluster_minority_better_than_noise():
    """After a short fit, samples of the minority (two tight clusters) lie near a cluster
    far more often than the untrained model's and the majority's rows do."""
    rng = np.random.RandomState(0)
    centres = np.array([[3.0, 3.0], [-3.0, 3.0]])
    minority = centres[rng.randint(2, size=100)] + 0.3 * rng.randn(100, 2)
    majority = rng.randn(400, 2) * 2 + np.array([0.0, -3.0])
    X, y = np.vstack([majority, minority]), np.repeat([0, 1], [400, 100])
    near = {}
    for steps in (1, 800):
        sampler = DDPMSampler(hidden_dims=(64, 64), embedding_dim=32, steps=steps,
                              sampling_steps=50, device="cpu", random_state=0)  # fmt: skip
        new = sampler.fit_resample(X, y)[0][len(X) :]
        distance = np.linalg.norm(new[:, None] - centres[None], axis=2).min(axis=1)
        near[steps] = np.mean(distance < 1.0)
    assert near[800] > 0.6 and near[800] > near[1] + 0.3
    assert 0.25 < (new[:, 0] > 0).mean() < 0.75  # the trained model's: both clusters


def test_strided_schedule_keeps_the_training_noise_levels():
    alphas_bar = cosine_alphas_bar(1000)
    assert np.all(np.diff(alphas_bar) < 0) and 0 < alphas_bar[-1] < 1e-3 < alphas_bar[0] < 1
    full = Schedule.strided(alphas_bar, 1000, "cpu")
    np.testing.assert_allclose(full.betas.numpy()[1:], (1 - alphas_bar[1:] / alphas_bar[:-1]),
                               rtol=1e-4)  # fmt: skip
    short = Schedule.strided(alphas_bar, 10, "cpu")
    assert len(short.timesteps) == 10 and int(short.timesteps[-1]) == 999
    np.testing.assert_allclose(
        short.alphas_bar.numpy(), alphas_bar[short.timesteps.numpy()], rtol=1e-6
    )
    # each strided step carries the noise of all the training steps it skips
    assert torch.all(short.betas > 0) and torch.all(short.betas <= 1)


def test_quantile_preprocessing_round_trips():
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.exponential(size=500), rng.randn(500)])
    pre = TabularPreprocessor(numeric="quantile").fit(X)
    Z = pre.transform(X)
    assert abs(Z[:, 0].mean()) < 0.1 and abs(Z[:, 0].std() - 1) < 0.1
    np.testing.assert_allclose(pre.inverse_transform(Z), X, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"sampling_steps": 60}, "sampling_steps=60 exceeds n_timesteps=50"),
        ({"n_timesteps": 0}, "n_timesteps"),
        ({"architecture": "conv"}, "architecture"),
        ({"steps": 0}, "steps"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them(change, message, imbalanced_table):
    with pytest.raises(ValueError, match=message):
        DDPMSampler(**{**TINY, **change}).fit_resample(*imbalanced_table)


def test_checkpoint_selection_records_sample_metric(imbalanced_table):
    X, y = imbalanced_table
    sampler = DDPMSampler(selection="c2st", eval_every=3, random_state=0, **TINY)
    sampler.fit_resample(X, y)
    record = sampler.selection_
    assert record["metric"] == "c2st" and record["best_step"] in {3, 6}
    assert [s for s, _, _ in record["history"]] == [3, 6]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_trains_and_samples_on_cuda(mixed):
    X, y = mixed
    params = dict(TINY, device="cuda", categorical_features=[3, 4], random_state=0)
    a, y_res = DDPMSampler(**params).fit_resample(X, y)
    b, _ = DDPMSampler(**params).fit_resample(X, y)
    assert Counter(y_res) == {0: 200, 1: 200, 2: 200}
    np.testing.assert_array_equal(a, b)
    assert set(a[len(X) :, 3]) <= {"red", "green", "blue"}
