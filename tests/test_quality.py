import numpy as np
import pytest

from pipelines.quality import c2st_auc, minority_quality


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
