"""imbalanced-learn's own generated checks, run on every sampler synthbalance exports: found
by walking the package (as imblearn's tests/test_common.py does with all_estimators), so a
new sampler is checked without being listed here."""

import inspect

import pytest
from imblearn.base import BaseSampler
from imblearn.utils.estimator_checks import parametrize_with_checks

import synthbalance
from synthbalance import generators

TINY = dict(latent_dim=2, hidden_dims=(8,), steps=1, batch_size=256, random_state=0, device="cpu",
            n_t=2, duplicate_K=2, n_estimators=2, max_depth=2)  # fmt: skip
# Samplers that generate images only: the checks' 20-feature data are read as 1x4x5 images.
IMAGE_SHAPE = (1, 4, 5)


def exported_samplers():
    """An instance, with tiny settings, of every sampler class that ``synthbalance`` or
    ``synthbalance.generators`` exports."""
    exported = {
        getattr(module, name) for module in (synthbalance, generators) for name in module.__all__
    }
    samplers = []
    for cls in sorted(exported, key=lambda cls: getattr(cls, "__name__", "")):
        if not (inspect.isclass(cls) and issubclass(cls, BaseSampler)):
            continue
        accepted = inspect.signature(cls).parameters
        params = {k: v for k, v in TINY.items() if k in accepted}
        if _images_only(cls):
            params["image_shape"] = IMAGE_SHAPE
        samplers.append(cls(**params))
    return samplers


def _images_only(cls):
    """Samplers whose ``architecture`` cannot be an MLP generate images only."""
    options = cls._parameter_constraints.get("architecture", [])
    return bool(options) and not any(getattr(o, "is_satisfied_by", None) and
                                     o.is_satisfied_by("mlp") for o in options)  # fmt: skip


def expected_failed_checks(estimator):
    if _images_only(type(estimator)):
        reason = f"2-feature data cannot be images of shape {IMAGE_SHAPE}"
        return {
            "check_samplers_fit": reason,
            "check_sampler_get_feature_names_out": reason,
            "check_sampler_get_feature_names_out_pandas": reason,
        }
    return {}


def test_every_exported_sampler_is_checked():
    names = {type(s).__name__ for s in exported_samplers()}
    assert names >= {"VAESampler", "CVAESampler", "CGANSampler", "WGANGPSampler",
                     "MSGGANSampler", "DDPMSampler"}  # fmt: skip


def _listed(mark):
    """imblearn's ``parametrize_with_checks`` mark with its cases as a list: it passes a
    generator, which pytest deprecates (an error from pytest 10)."""
    names, cases = mark.args
    return pytest.mark.parametrize(names, list(cases), **mark.kwargs)


@_listed(
    parametrize_with_checks(exported_samplers(), expected_failed_checks=expected_failed_checks)
)
def test_imblearn_checks(estimator, check):
    try:  # a third-party generator is checked where its optional extra is installed
        getattr(estimator, "check_installed", lambda: None)()
    except generators.MissingExtraError as missing:
        pytest.skip(str(missing))
    check(estimator)
