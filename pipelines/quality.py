"""Quality metrics of generators, computed on the class being generated.

All compare synthetic minority rows with the real minority rows of the fold's test part,
which neither the generator nor the classifier ever sees, in the feature space that
``feature_space`` fits on the training part (the generator's rows):
standardised features for tables; for images, the standardised penultimate-layer features
of a small CNN (``synthbalance.classifiers.CNNClassifier``) trained on those rows to tell the
classes apart. Distances between raw pixels say little about what an image shows; the usual fix,
features of a network pretrained on ImageNet (as in FID or the PRDC paper), is not open
to us: no pretrained weights can be downloaded here, and they would not fit 8 x 8 grey
digits anyway. A CNN trained per fold costs a second or so on small image sets and sees
neither the test rows nor any synthetic one, so both sets are embedded alike.

The metrics themselves are in ``synthbalance.generators.metrics``.
"""

from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted

from synthbalance.classifiers import CNNClassifier
from synthbalance.pipelines.dataset import one_hot_columns

# The feature CNN: small and briefly trained; the features describe, they need not classify.
FEATURE_CNN = dict(channels=(16, 32), epochs=10, batch_size=64, lr=3e-3)


class CNNFeatures(TransformerMixin, BaseEstimator):
    """Standardised penultimate-layer features of a small CNN trained on labelled images.

    The CNN (``synthbalance.classifiers.CNNClassifier``) learns to tell the classes of ``y``
    apart, with
    balanced class weights so that the minority shapes the features as much as the
    majority; ``transform`` returns its pooled last-block activations, standardised on the
    training rows. A few epochs suffice: the features need to describe the images, not
    to classify them at their best.

    Parameters
    ----------
    cnn : CNNClassifier or None, default=None
        The network to train (cloned); None: ``CNNClassifier(**FEATURE_CNN)``, the image
        shape inferred from the rows.
    random_state : int, RandomState instance or None
        Seeds the CNN when its own ``random_state`` is None.

    Attributes
    ----------
    cnn_ : CNNClassifier
    scaler_ : StandardScaler
        Fitted on the embedded training rows.
    """

    def __init__(self, cnn=None, random_state=None):
        self.cnn = cnn
        self.random_state = random_state

    def fit(self, X, y):
        cnn = clone(self.cnn or CNNClassifier(**FEATURE_CNN))
        if cnn.random_state is None:
            cnn.set_params(random_state=self.random_state)
        self.cnn_ = cnn.fit(X, y, sample_weight=compute_sample_weight("balanced", y))
        self.scaler_ = StandardScaler().fit(self.cnn_.embed(X))
        return self

    def transform(self, X):
        check_is_fitted(self)
        return self.scaler_.transform(self.cnn_.embed(X))


def feature_space(
    X_train, y_train, *, image_shape=None, categorical=(), categories=None, random_state=None
):
    """The fitted transformer whose ``transform`` maps rows into the space the quality
    metrics are computed in.

    Tables (``image_shape`` None): a ``StandardScaler`` fitted on ``X_train``, after a
    one-hot encoding of the ``categorical`` columns (category codes; ``categories``, their
    possible codes, default to those in ``X_train``). Images: a
    ``CNNFeatures`` trained on ``X_train`` and its labels ``y_train`` (no pretrained weights
    can be downloaded; see the module docstring). Fit it on the rows the generator is
    fitted on, so that test and synthetic rows are both unseen by it.
    """
    if image_shape is None:
        if not len(categorical):
            return StandardScaler().fit(X_train)
        one_hot = one_hot_columns(categorical, categories)
        return Pipeline([("one_hot", one_hot), ("scale", StandardScaler())]).fit(X_train)
    cnn = CNNClassifier(image_shape=tuple(image_shape), **FEATURE_CNN)
    return CNNFeatures(cnn, random_state=random_state).fit(X_train, y_train)
