"""Sample generators for imbalanced data, each an imbalanced-learn over-sampler.

The SMOTE family is imbalanced-learn's own (see ``conf/generator/``); this package adds
the torch generators (VAEs, GANs, a diffusion model), adapters of third-party generators
(smote-variants, ForestDiffusion; optional extras), and synthetic outliers (rows between
the known classes) for training a rejecting classifier.
"""

from synthbalance.generators._ddpm import DDPMSampler, Denoiser
from synthbalance.generators._extras import MissingExtraError
from synthbalance.generators._gan import (
    CGANSampler,
    ConvDiscriminator,
    ConvGenerator,
    MLPDiscriminator,
    MLPGenerator,
    MSGGANSampler,
    WGANGPSampler,
)
from synthbalance.generators._outliers import CVAEOutliers, SMOTEOutliers
from synthbalance.generators._preprocessing import ImagePreprocessor, TabularPreprocessor
from synthbalance.generators._stylegan import StyleGANSampler, StyleGenerator
from synthbalance.generators._third_party import ForestDiffusionSampler, SmoteVariantsSampler
from synthbalance.generators._vae import VAE, ConvVAE, CVAESampler, VAESampler

__all__ = [
    "CGANSampler",
    "CVAEOutliers",
    "CVAESampler",
    "ConvDiscriminator",
    "ConvGenerator",
    "ConvVAE",
    "DDPMSampler",
    "Denoiser",
    "ForestDiffusionSampler",
    "ImagePreprocessor",
    "MLPDiscriminator",
    "MLPGenerator",
    "MSGGANSampler",
    "MissingExtraError",
    "SMOTEOutliers",
    "SmoteVariantsSampler",
    "StyleGANSampler",
    "StyleGenerator",
    "TabularPreprocessor",
    "VAE",
    "VAESampler",
    "WGANGPSampler",
]
