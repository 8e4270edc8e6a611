"""Sample generators for imbalanced data, each an imbalanced-learn over-sampler.

The SMOTE family is imbalanced-learn's own (see ``conf/generator/``); this package adds
the torch generators.
"""

from ._preprocessing import ImagePreprocessor, TabularPreprocessor
from ._vae import VAE, ConvVAE, CVAESampler, VAESampler

__all__ = [
    "CVAESampler",
    "ConvVAE",
    "ImagePreprocessor",
    "TabularPreprocessor",
    "VAE",
    "VAESampler",
]
