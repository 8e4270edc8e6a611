import numpy as np
import pytest
from imblearn.over_sampling import RandomOverSampler
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from synthbalance.generators.metrics import c2st_auc, minority_quality
from synthbalance.pipelines.quality import CNNFeatures, feature_space
from synthbalance.pipelines.report.markdown import quality_section

from .conftest import fold_records


def _gaussian(n, seed, shift=0.0):
    X = np.random.default_rng(seed).standard_normal((n, 5))
    X[:, 0] += shift
    return X


def test_same_distribution_is_indistinguishable():
    auc = c2st_auc(_gaussian(500, 0), _gaussian(500, 1), random_state=0)
    assert 0.4 <= auc <= 0.6


def test_feature_shifted_by_three_std_is_detected():
    auc = c2st_auc(_gaussian(500, 0), _gaussian(500, 1, shift=3.0), random_state=0)
    assert auc > 0.95


def test_larger_set_is_subsampled_to_the_smaller():
    # 2,000 real rows against 200 shifted ones: balanced classes keep the fakes easy to spot.
    auc = c2st_auc(_gaussian(2000, 0), _gaussian(200, 1, shift=3.0), random_state=0)
    assert auc > 0.95


def test_same_random_state_same_value_different_differs():
    real, synthetic = _gaussian(300, 0), _gaussian(200, 1, shift=0.5)
    first = c2st_auc(real, synthetic, random_state=0)
    assert c2st_auc(real, synthetic, random_state=0) == first
    assert c2st_auc(real, synthetic, random_state=1) != first


def test_mismatched_columns_raise():
    with pytest.raises(ValueError, match="same number of columns"):
        c2st_auc(np.zeros((10, 3)), np.zeros((10, 4)))


def _minority(n, seed, shift=0.0):
    return np.random.default_rng(seed).normal(shift, 1.0, size=(n, 4))


def test_random_oversampling_is_flagged_as_copies_and_looks_real():
    train, validation = _minority(300, 0), _minority(100, 1)
    copies = train[np.random.default_rng(2).integers(0, len(train), 500)]
    quality = minority_quality(train, validation, copies, random_state=0)
    assert quality["exact_copies"] == 1.0 and quality["memorised"] == 1.0
    assert 0.35 <= quality["c2st_auc"] <= 0.65
    assert quality["leaked"] < 0.2


def test_gaussian_with_the_wrong_mean_is_trivially_fake():
    train, validation = _minority(300, 0), _minority(100, 1)
    quality = minority_quality(train, validation, _minority(500, 2, shift=4.0), random_state=0)
    assert quality["c2st_auc"] > 0.95
    assert quality["precision"] < 0.05 and quality["coverage"] < 0.05
    assert quality["exact_copies"] == 0.0


def test_honest_generator_is_neither_memorising_nor_leaking():
    train, validation = _minority(300, 0), _minority(100, 1)
    quality = minority_quality(train, validation, _minority(500, 3), random_state=0)
    assert quality["memorised"] < 0.2 and quality["leaked"] < 0.2
    assert quality["precision"] > 0.5 and quality["coverage"] > 0.5


def test_generator_fitted_on_the_validation_rows_is_caught():
    train, validation = _minority(300, 0), _minority(100, 1)
    leaky = validation[np.random.default_rng(4).integers(0, len(validation), 500)]
    quality = minority_quality(train, validation, leaky, random_state=0)
    assert quality["leaked"] == 1.0
    assert quality["exact_copies"] == 0.0  # invisible to the memorisation test alone


def test_c2st_sees_a_shift_even_in_small_sets():
    # The default leaf size of 20 once made every set under ~40 rows score exactly 0.5.
    auc = c2st_auc(_gaussian(15, 0), _gaussian(15, 1, shift=3.0), random_state=0)
    assert auc > 0.8


def test_c2st_sees_one_discretised_feature():
    # A difference that k-NN tests are blind to and boosted trees find: one feature rounded.
    rounded = _gaussian(300, 1)
    rounded[:, 0] = np.round(rounded[:, 0])
    assert c2st_auc(_gaussian(300, 0), rounded, random_state=0) > 0.85


def test_tables_are_standardised_on_the_training_rows():
    X_train = _minority(200, 0, shift=3.0) * 5
    space = feature_space(X_train, np.zeros(200), random_state=0)
    assert isinstance(space, StandardScaler)
    features = space.transform(X_train)
    np.testing.assert_allclose(features.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(features.std(axis=0), 1)


@pytest.fixture(scope="module")
def digit_images():
    """100 training 3s and every 5 and 8 (labelled), 83 held-out 3s, and every 9."""
    bunch = load_digits()
    X, digit = bunch.images.reshape(len(bunch.target), -1) / 16, bunch.target
    threes = X[digit == 3][np.random.default_rng(0).permutation(int(np.sum(digit == 3)))]
    others = X[np.isin(digit, (5, 8))]
    X_train = np.vstack([threes[:100], others])
    y_train = np.array(["3"] * 100 + ["other"] * len(others))
    return X_train, y_train, threes[100:], X[digit == 9]


@pytest.mark.usefixtures("one_torch_thread")
def test_images_get_standardised_penultimate_cnn_features(digit_images):
    X_train, y_train, _, _ = digit_images
    space = feature_space(X_train, y_train, image_shape=(1, 8, 8), random_state=0)
    assert isinstance(space, CNNFeatures) and space.cnn_.image_shape_ == (1, 8, 8)
    features = space.transform(X_train)
    assert features.shape == (len(X_train), 32)  # the last block's channels
    np.testing.assert_allclose(features.mean(axis=0), 0, atol=1e-4)
    again = feature_space(X_train, y_train, image_shape=(1, 8, 8), random_state=0)
    other = feature_space(X_train, y_train, image_shape=(1, 8, 8), random_state=1)
    np.testing.assert_array_equal(again.transform(X_train), features)
    assert not np.allclose(other.transform(X_train), features)


@pytest.mark.usefixtures("one_torch_thread")
def test_cnn_features_tell_a_wrong_digit_from_unseen_real_ones(digit_images):
    X_train, y_train, held_out_threes, nines = digit_images
    embed = feature_space(X_train, y_train, image_shape=(1, 8, 8), random_state=0).transform
    train_threes = embed(X_train[y_train == "3"])
    assert c2st_auc(embed(held_out_threes), train_threes, random_state=0) < 0.65
    assert c2st_auc(embed(held_out_threes), embed(nines), random_state=0) > 0.9


def _quality_text(quality, held_out=(80, 80)):
    report = {
        "quality": {name: {"mean": value, "std": 0.0} for name, value in quality.items()},
        "protocol": {"quality": {"enabled": True}},
        "folds": [{"method": "augmented", "quality": quality, "n_held_out": n} for n in held_out],
    }
    return "\n".join(quality_section(report))


def test_few_held_out_rows_come_with_a_caveat():
    train, validation = _minority(300, 0), _minority(100, 1)
    quality = minority_quality(train, validation, _minority(500, 3), random_state=0)
    text = _quality_text(quality)
    assert "(at least 80 per fold)" in text and "rough" not in text
    few = _quality_text(quality, held_out=(5, 6))
    assert "(at least 5 per fold)" in few and "With 5 unseen minority rows in a fold" in few


def test_folds_record_the_rows_their_quality_metrics_rest_on():
    # classes 1 and 2 each against 0; class 2 has 10 rows, 2 per test part, too few to judge
    # by, so class 1's count (20 per test part) is the one recorded
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [600, 100, 10])
    X = rng.standard_normal((len(y), 3)) + y[:, None]
    records = fold_records(
        X, y, [1, 2], RandomOverSampler(), LogisticRegression(), n_splits=5, n_repeats=1, seed=0,
        methods=("baseline", "augmented"),
    )  # fmt: skip
    augmented = [r for r in records if r["method"] == "augmented"]
    assert [r["n_held_out"] for r in augmented] == [20] * 5  # class 1's rows of each test part
    assert all("quality_by_class" not in r for r in augmented)  # class 2 was not judged
    assert all("n_held_out" not in r for r in records if r["method"] == "baseline")


def test_leaked_copies_of_duplicate_rows_are_not_read_as_crowding():
    # Every row twice: copies of training rows land on their held-out twins.
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((200, 5))
    data = np.vstack([rows, rows])[rng.permutation(400)]
    train, validation = data[80:], data[:80]
    copies = train[rng.integers(0, len(train), 500)]
    quality = minority_quality(train, validation, copies, random_state=0)
    assert quality["leaked"] >= 0.2 and quality["exact_copies"] == 1.0
    text = _quality_text(quality)
    assert "duplicate rows" in text and "crowd" not in text


def test_samples_crowding_the_core_are_read_as_crowding_not_leakage():
    # A generator whose samples shrink towards the mean (as VAEs often do) never saw the
    # held-out rows, yet sits closer to them than the training rows do.
    rng = np.random.default_rng(0)
    train, validation = rng.standard_normal((320, 20)), rng.standard_normal((80, 20))
    crowded = minority_quality(train, validation, 0.3 * rng.standard_normal((500, 20)))
    assert crowded["leaked"] > 0.5 and crowded["exact_copies"] == 0.0
    assert "crowd where the real minority is densest" in _quality_text(crowded)
    honest = minority_quality(train, validation, rng.standard_normal((500, 20)))
    assert "crowd" not in _quality_text(honest)
