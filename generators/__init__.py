"""Sample generators for imbalanced data, each an imbalanced-learn over-sampler.

The SMOTE family is imbalanced-learn's own (see ``conf/generator/``); this package adds
the torch generators.
"""

from ._preprocessing import TabularPreprocessor
from ._vae import VAE, CVAESampler, VAESampler

__all__ = ["CVAESampler", "TabularPreprocessor", "VAE", "VAESampler"]
