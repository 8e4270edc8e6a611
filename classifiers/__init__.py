"""Downstream classifiers.

The tabular classifiers are scikit-learn's own, chosen by ``conf/classifier/*.yaml``
(``_target_`` plus ``scale: true`` for those that need standardised features); any estimator
with ``fit`` and ``predict_proba`` works the same way. Torch classifiers wrapped in the
scikit-learn API will live here.
"""
