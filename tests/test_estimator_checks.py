"""imbalanced-learn's own generated checks, run on every sampler synthbalance defines."""

from imblearn.utils.estimator_checks import parametrize_with_checks

from generators import CVAESampler, VAESampler

TINY = dict(latent_dim=2, hidden_dims=(8,), epochs=1, batch_size=256, random_state=0, device="cpu")


@parametrize_with_checks([VAESampler(**TINY), CVAESampler(**TINY)])
def test_imblearn_checks(estimator, check):
    check(estimator)
