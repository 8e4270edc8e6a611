import numpy as np
import pytest

from pipelines.quality import c2st_auc


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
