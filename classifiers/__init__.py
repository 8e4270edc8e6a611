"""Downstream classifiers.

The tabular classifiers are scikit-learn's own, chosen by ``conf/classifier/*.yaml``
(``_target_`` plus ``scale: true`` for those that need standardised features); any estimator
with ``fit`` and ``predict_proba`` works the same way. Torch classifiers are wrapped in the
scikit-learn API here: ``CNNClassifier``, a small CNN for images carried as flattened rows
(``conf/classifier/cnn.yaml``).
"""

from synthbalance.classifiers._cnn import CNNClassifier, ConvNet

__all__ = ["CNNClassifier", "ConvNet"]
