"""Downstream classifiers.

The tabular classifiers are scikit-learn's own, chosen by ``conf/classifier/*.yaml``
(``_target_`` plus ``scale: true`` for those that need standardised features); any estimator
with ``fit`` and ``predict_proba`` works the same way. Torch classifiers are wrapped in the
scikit-learn API here: ``CNNClassifier``, a small CNN for images carried as flattened rows
(``conf/classifier/cnn.yaml``). ``RejectOptionClassifier`` wraps any of them with a reject
option: "none of the above" for rows unlike every known class.
"""

from synthbalance.classifiers._cnn import CNNClassifier, ConvNet
from synthbalance.classifiers._reject import (
    SCORES,
    TRAINED_SCORES,
    RejectOptionClassifier,
    calibration_split,
    energy_score,
    has_logits,
    mahalanobis_score,
    max_logit_score,
    msp_score,
)

__all__ = [
    "CNNClassifier",
    "ConvNet",
    "RejectOptionClassifier",
    "SCORES",
    "TRAINED_SCORES",
    "calibration_split",
    "energy_score",
    "has_logits",
    "mahalanobis_score",
    "max_logit_score",
    "msp_score",
]
