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

from synthbalance._lazy import lazy_exports
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

# The torch classifiers and the module of each, imported on first use (PEP 562): the reject
# option and its scores load without torch, so that a command refusing the user's data
# answers before torch has loaded (synthbalance.pipelines.app).
_TORCH_EXPORTS = {
    "CNNClassifier": "synthbalance.classifiers._cnn",
    "ConvNet": "synthbalance.classifiers._cnn",
    "ConvTrunk": "synthbalance.classifiers._cnn",
    "MultiHeadClassifier": "synthbalance.classifiers._multihead",
    "MultiHeadNet": "synthbalance.classifiers._multihead",
    "masked_bce": "synthbalance.classifiers._multihead",
}


__getattr__, __dir__ = lazy_exports(globals(), _TORCH_EXPORTS)


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
