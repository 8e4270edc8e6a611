"""CNNClassifier: scikit-learn's generated checks, images as rows, labels, seeds, weights."""

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.estimator_checks import parametrize_with_checks

from synthbalance.classifiers import CNNClassifier
from synthbalance.pipelines.components import build
from synthbalance.pipelines.images import digits

TINY = dict(channels=(8,), epochs=2, batch_size=32, lr=0.01, device="cpu", random_state=0)
SMALL = {**TINY, "channels": (16, 32), "epochs": 10}  # enough to learn digits


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def digits_split():
    dataset = digits()
    return train_test_split(dataset.X, dataset.y, test_size=0.3, stratify=dataset.y, random_state=0)


# No check is skipped: rows whose length is no square are viewed as 1 x 1 x n images.
@parametrize_with_checks([CNNClassifier(**TINY)])
def test_sklearn_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "n_features, shape",
    [(64, (1, 8, 8)), (48, (3, 4, 4)), (10, (1, 1, 10)), (1, (1, 1, 1)), (4096, (1, 64, 64))],
)
def test_image_shape_is_inferred_from_the_row_length(n_features, shape):
    X = np.random.default_rng(0).random((6, n_features))
    model = CNNClassifier(**{**TINY, "epochs": 1}).fit(X, [0, 1] * 3)
    assert model.image_shape_ == shape


def test_given_image_shape_views_rows_as_that_shape():
    X = np.random.default_rng(0).random((6, 64))
    model = CNNClassifier(image_shape=[1, 4, 16], **{**TINY, "epochs": 1}).fit(X, [0, 1] * 3)
    assert model.image_shape_ == (1, 4, 16)
    with pytest.raises(ValueError, match=r"image_shape=\(3, 8, 8\) does not fit rows of 64"):
        CNNClassifier(image_shape=(3, 8, 8), **TINY).fit(X, [0, 1] * 3)


def test_channels_must_be_positive():
    with pytest.raises(ValueError, match="channels must be positive integers"):
        CNNClassifier(**{**TINY, "channels": ()}).fit(np.eye(4), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="channels must be positive integers"):
        CNNClassifier(**{**TINY, "channels": (4, 0)}).fit(np.eye(4), [0, 1, 0, 1])


def test_large_rgb_images_with_three_blocks():
    X = np.random.default_rng(0).random((8, 3 * 64 * 64), dtype=np.float32)
    model = CNNClassifier(**{**TINY, "channels": (4, 8, 16), "epochs": 1}).fit(X, list("aabbaabb"))
    assert model.image_shape_ == (3, 64, 64)
    assert model.predict_proba(X).shape == (8, 2)


def test_binary_digits_from_a_dataframe_with_string_labels(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    model = CNNClassifier(**SMALL).fit(X_train, y_train)
    assert list(model.classes_) == ["digit_3", "other"]
    assert model.n_features_in_ == 64 and model.image_shape_ == (1, 8, 8)
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(y_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert set(model.predict(X_test)) <= {"digit_3", "other"}
    assert roc_auc_score(y_test == "digit_3", proba[:, 0]) > 0.9


def test_embed_is_the_layer_the_head_reads(digits_split):
    X_train, X_test, y_train, _ = digits_split
    model = CNNClassifier(**{**TINY, "channels": (4, 6)}).fit(X_train, y_train)
    features = model.embed(X_test)
    assert features.shape == (len(X_test), 6) and features.dtype == np.float32
    assert (features >= 0).all()  # pooled ReLU activations
    with torch.no_grad():
        logits = model.module_.head(torch.from_numpy(features)).double()
    np.testing.assert_allclose(torch.softmax(logits, dim=1).numpy(), model.predict_proba(X_test))
    with pytest.raises(NotFittedError):
        CNNClassifier(**TINY).embed(X_test)


def test_multiclass_digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y.astype(str), stratify=y, random_state=0
    )
    model = CNNClassifier(**{**SMALL, "epochs": 4}).fit(X_train, y_train)
    assert model.predict_proba(X_test).shape == (len(y_test), 10)
    assert accuracy_score(y_test, model.predict(X_test)) > 0.6  # chance: 0.1


def test_same_seed_same_model_different_seed_different_model(digits_split):
    X_train, X_test, y_train, _ = digits_split

    def fit(seed):
        return CNNClassifier(**{**TINY, "random_state": seed}).fit(X_train, y_train)

    first, again, other = fit(1), fit(1), fit(2)
    np.testing.assert_array_equal(first.predict_proba(X_test), again.predict_proba(X_test))
    assert not np.allclose(first.predict_proba(X_test), other.predict_proba(X_test))
    assert first.loss_history_ == again.loss_history_


def test_global_torch_rng_is_left_alone(digits_split):
    X_train, _, y_train, _ = digits_split
    state = torch.random.get_rng_state()
    CNNClassifier(**{**TINY, "random_state": None}).fit(X_train, y_train)
    assert torch.equal(state, torch.random.get_rng_state())


def test_sample_weight_weighs_the_loss(digits_split):
    X_train, _, y_train, _ = digits_split
    model = CNNClassifier(**{**TINY, "epochs": 5})
    plain = model.fit(X_train, y_train).predict_proba(X_train)
    ones = model.fit(X_train, y_train, sample_weight=np.ones(len(y_train))).predict_proba(X_train)
    np.testing.assert_array_equal(plain, ones)
    balanced = compute_sample_weight("balanced", y_train)
    weighted = model.fit(X_train, y_train, sample_weight=balanced).predict_proba(X_train)
    # Minority rows weigh about 12 times more: every row looks more like the minority.
    assert weighted[:, 0].mean() > plain[:, 0].mean() + 0.1


def test_config_composes_builds_and_fits_on_digits(make_config):
    cfg = make_config("dataset=digits", "classifier=cnn", "classifier.epochs=2")
    model, info = build(cfg.classifier)
    assert isinstance(model, CNNClassifier)
    assert info["name"] == "cnn" and info["class"] == "synthbalance.classifiers.CNNClassifier"
    assert info["params"]["channels"] == [16, 32] and info["params"]["image_shape"] is None
    dataset = instantiate(cfg.dataset)
    model.set_params(device="cpu", random_state=0).fit(dataset.X, dataset.y)
    assert model.predict_proba(dataset.X).shape == (len(dataset.y), 2)
    assert model.image_shape_ == dataset.image_shape


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fits_and_predicts_on_cuda(digits_split):
    X_train, X_test, y_train, _ = digits_split
    model = CNNClassifier(**{**TINY, "device": "cuda"}).fit(X_train, y_train)
    assert model.device_.type == "cuda"
    assert np.isfinite(model.predict_proba(X_test)).all()


def test_shifted_moves_each_image_by_its_own_offset_within_the_bound():
    from synthbalance.classifiers._cnn import shifted

    images = torch.zeros(200, 1, 9, 9)
    images[:, 0, 4, 4] = 1.0  # one lit pixel in the centre of every image
    moved = shifted(images, 2, torch.Generator().manual_seed(0))
    assert moved.shape == images.shape and moved.sum() == 200  # nothing falls off at 2
    rows, columns = (moved[:, 0] == 1).nonzero()[:, 1:].T
    offsets = set(zip((rows - 4).tolist(), (columns - 4).tolist(), strict=True))
    assert offsets == {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)}  # all 25 drawn
    edge = torch.zeros(1, 1, 3, 3)
    edge[0, 0, 0, 0] = 1.0
    out = [shifted(edge, 1, torch.Generator().manual_seed(s)) for s in range(40)]
    assert {float(o.sum()) for o in out} == {0.0, 1.0}  # moved out of the image: zero-filled


def test_shift_trains_on_moved_digits_and_keeps_the_seed_contract():
    bunch = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        bunch.data / 16.0, bunch.target, test_size=0.3, stratify=bunch.target, random_state=0
    )
    plain = CNNClassifier(**SMALL).fit(X_train, y_train)
    moving = CNNClassifier(**SMALL, shift=1).fit(X_train, y_train)
    again = CNNClassifier(**SMALL, shift=1).fit(X_train, y_train)
    np.testing.assert_array_equal(moving.predict_proba(X_test), again.predict_proba(X_test))
    assert moving.loss_history_ != plain.loss_history_
    # the test digits moved by one pixel: the network trained on moved digits knows them
    images = np.asarray(X_test, dtype=np.float32).reshape(-1, 8, 8)
    moved = np.roll(images, 1, axis=2).reshape(len(images), -1)
    assert accuracy_score(y_test, moving.predict(moved)) > accuracy_score(
        y_test, plain.predict(moved)
    )
    with pytest.raises(ValueError, match="'shift' parameter"):
        CNNClassifier(**TINY, shift=-1).fit(X_train, y_train)
