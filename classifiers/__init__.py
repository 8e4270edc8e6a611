"""Downstream classifiers.

The tabular classifiers are scikit-learn's own, chosen by ``conf/classifier/*.yaml``
(``_target_`` plus ``scale: true`` for those that need standardised features); any estimator
with ``fit`` and ``predict_proba`` works the same way. Torch classifiers are wrapped in the
scikit-learn API here: ``CNNClassifier``, a small CNN for images carried as flattened rows
(``conf/classifier/cnn.yaml``), and ``MultiHeadClassifier``, a shared trunk with one binary
head per minority class against the base class (``conf/classifier/multihead_mlp.yaml``,
``multihead_cnn.yaml``). ``RejectOptionClassifier`` wraps any of them with a reject
option: "none of the above" for rows unlike every known class.
"""

from synthbalance.classifiers._cnn import CNNClassifier, ConvNet, ConvTrunk
from synthbalance.classifiers._multihead import MultiHeadClassifier, MultiHeadNet, masked_bce
from synthbalance.classifiers._reject import (
    SCORES,
    TRAINED_SCORES,
    RejectOptionClassifier,
    calibration_split,
    energy_score,
    has_logits,
    knn_score,
    mahalanobis_score,
    max_logit_score,
    msp_score,
)

__all__ = [
    "CNNClassifier",
    "ConvNet",
    "ConvTrunk",
    "MultiHeadClassifier",
    "MultiHeadNet",
    "RejectOptionClassifier",
    "SCORES",
    "TRAINED_SCORES",
    "calibration_split",
    "energy_score",
    "has_logits",
    "knn_score",
    "mahalanobis_score",
    "masked_bce",
    "max_logit_score",
    "msp_score",
]
