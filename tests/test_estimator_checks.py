"""imbalanced-learn's own generated checks, run on every sampler synthbalance defines."""

from imblearn.utils.estimator_checks import parametrize_with_checks

from synthbalance.generators import (
    CGANSampler,
    CVAESampler,
    MSGGANSampler,
    VAESampler,
    WGANGPSampler,
)

TINY = dict(latent_dim=2, hidden_dims=(8,), epochs=1, batch_size=256, random_state=0, device="cpu")
# MSG-GAN generates images only: the checks' 20-feature data are read as 1x4x5 images.
MSG_IMAGE_SHAPE = (1, 4, 5)


def expected_failed_checks(estimator):
    if isinstance(estimator, MSGGANSampler):
        reason = f"2-feature data cannot be images of shape {MSG_IMAGE_SHAPE}"
        return {
            "check_samplers_fit": reason,
            "check_sampler_get_feature_names_out": reason,
            "check_sampler_get_feature_names_out_pandas": reason,
        }
    return {}


@parametrize_with_checks(
    [
        VAESampler(**TINY),
        CVAESampler(**TINY),
        CGANSampler(**TINY),
        WGANGPSampler(**TINY),
        MSGGANSampler(**TINY, image_shape=MSG_IMAGE_SHAPE),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_imblearn_checks(estimator, check):
    check(estimator)
