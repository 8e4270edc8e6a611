"""RejectOptionClassifier and the synthetic outlier samplers."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import LinearSVC

import synthbalance as sb
from synthbalance.classifiers import (
    SCORES,
    calibration_split,
    energy_score,
    mahalanobis_score,
    max_logit_score,
    msp_score,
)


@pytest.fixture(scope="module")
def blobs():
    """Three known classes, rows of an unknown cluster far away, and of one between the
    classes (on the boundary of classes 1 and 2)."""
    centers = [[0, 0], [4, 0], [0, 4], [30, 30], [2, 2]]
    X, y = make_blobs(
        n_samples=[200, 200, 200, 60, 60], centers=centers, random_state=0,
        cluster_std=[1, 1, 1, 1, 0.2],
    )  # fmt: skip
    return X[y < 3], y[y < 3], X[y == 3], X[y == 4]


# What each score is known to catch with a linear model: a softmax grows more confident far
# from the data (Hein et al. 2019), so the logit scores and the options trained on rows
# between the classes catch rows between them; the Mahalanobis distance catches far rows.
CAUGHT = {"mahalanobis": 2, "knn": 2, "msp": 3, "max_logit": 3, "energy": 3,
          "other_class": 3, "detector": 3}  # fmt: skip


def wrapper(score, **params):
    params = {"random_state": 0, **params}
    if score == "detector":  # the outliers surround the middle: a linear detector cannot tell
        params.setdefault("detector", KNeighborsClassifier(15))
    return sb.RejectOptionClassifier(LogisticRegression(max_iter=1000), score=score, **params)


@pytest.mark.parametrize("score", SCORES)
def test_every_score_rejects_far_rows_and_accepts_the_coverage(blobs, score):
    X, y = blobs[:2]
    clf = wrapper(score).fit(X, y)
    known, unknown = clf.score_samples(X), clf.score_samples(blobs[CAUGHT[score]])
    assert known.shape == (len(X),) and np.isfinite(known).all()
    labels = np.r_[np.ones(len(known)), np.zeros(len(unknown))]
    assert roc_auc_score(labels, np.r_[known, unknown]) > 0.8
    accepted = clf.decision_function(X) >= 0
    assert 0.85 <= accepted.mean() <= 1.0
    predicted = clf.predict(X)
    assert set(predicted[~accepted]) <= {-1}
    assert set(predicted[accepted]) <= set(clf.classes_)
    assert clf.predict_proba(X).shape == (len(X), 3)
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


def test_same_seed_same_threshold_and_scores(blobs):
    X, y, X_far, _ = blobs
    first, second = wrapper("other_class").fit(X, y), wrapper("other_class").fit(X, y)
    assert first.threshold_ == second.threshold_
    np.testing.assert_array_equal(first.score_samples(X_far), second.score_samples(X_far))
    other = wrapper("other_class", random_state=1).fit(X, y)
    assert other.threshold_ != first.threshold_


def test_the_threshold_accepts_the_coverage_of_held_out_known_rows(blobs):
    X, y = blobs[:2]
    for coverage in (0.5, 0.8):
        clf = wrapper("mahalanobis", coverage=coverage).fit(X, y)
        assert abs((clf.decision_function(X) >= 0).mean() - coverage) < 0.08


def test_string_classes_and_a_string_unknown_label(blobs):
    X, y, X_far, _ = blobs
    labels = np.array(["a", "b", "c"], dtype=object)[y]
    clf = wrapper("mahalanobis").fit(X, labels)
    assert clf.predict(X_far).dtype == object and set(clf.predict(X_far)) == {-1}
    clf = wrapper("msp", unknown_label="none").fit(X, labels)
    assert set(clf.predict(X)) <= {"a", "b", "c", "none"}
    with pytest.raises(ValueError, match="unknown_label='a' is one of the classes"):
        wrapper("msp", unknown_label="a").fit(X, labels)


def test_outliers_given_as_rows(blobs):
    X, y, X_far, _ = blobs
    clf = wrapper("detector", outliers=X_far[:30]).fit(X, y)
    assert clf.n_outliers_ == 30 and clf.outlier_sampler_ is None
    assert clf.score_samples(X_far[30:]).max() < clf.threshold_
    with pytest.raises(ValueError, match="outliers have 3 features"):
        wrapper("detector", outliers=np.zeros((5, 3))).fit(X, y)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(coverage=1.0), "'coverage' parameter"),
        (dict(coverage=0), "'coverage' parameter"),
        (dict(score="odin"), "'score' parameter"),
        (dict(outliers="gan"), "'outliers' parameter"),
    ],
)
def test_bad_parameters_are_one_line_errors(blobs, params, message):
    X, y = blobs[:2]
    with pytest.raises(ValueError, match=message) as error:
        wrapper(params.pop("score", "msp"), **params).fit(X, y)
    assert "\n" not in str(error.value)


def test_an_estimator_without_predict_proba_or_logits_is_refused(blobs):
    X, y = blobs[:2]
    with pytest.raises(ValueError, match="'estimator' parameter.*predict_proba") as error:
        sb.RejectOptionClassifier(LinearSVC()).fit(X, y)
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="score='energy' needs logits"):
        sb.RejectOptionClassifier(KNeighborsClassifier(), score="energy").fit(X, y)


def test_cnn_logits_give_its_probabilities(one_torch_thread):
    rng = np.random.RandomState(0)
    X, y = rng.uniform(size=(60, 16)), np.repeat([0, 1, 2], 20)
    cnn = sb.CNNClassifier(channels=(4,), epochs=1, device="cpu", random_state=0).fit(X, y)
    logits = cnn.logits(X)
    assert logits.shape == (60, 3)
    np.testing.assert_allclose(torch.softmax(torch.tensor(logits), 1).numpy(),
                               cnn.predict_proba(X), atol=1e-6)  # fmt: skip
    clf = sb.RejectOptionClassifier(cnn, score="mahalanobis", random_state=0).fit(X, y)
    assert clf.means_.shape == (3, 4)  # the penultimate features, not the 16 pixels


def test_smote_outliers_lie_between_different_classes():
    X = np.r_[np.zeros((20, 1)), np.full((20, 1), 10.0)]
    y = np.repeat([0, 1], 20)
    sampler = sb.SMOTEOutliers(blend=(0.3, 0.7), random_state=0).fit(X, y)
    rows = sampler.sample(50)
    assert rows.shape == (50, 1) and (rows >= 3).all() and (rows <= 7).all()
    np.testing.assert_array_equal(rows, sampler.sample(50))
    assert not np.array_equal(rows, sampler.sample(50, random_state=1))
    with pytest.raises(ValueError, match="blend"):
        sb.SMOTEOutliers(blend=(0.5, 1.0)).fit(X, y)


def test_cvae_outliers_decode_blended_conditions(one_torch_thread):
    rng = np.random.RandomState(0)
    X, y = rng.uniform(size=(60, 16)), np.repeat([0, 1, 2], 20)
    cvae = sb.CVAESampler(image_shape=(1, 4, 4), steps=4, hidden_dims=(8,), device="cpu")
    sampler = sb.CVAEOutliers(sampler=cvae, random_state=0).fit(X, y)
    rows = sampler.sample(25)
    assert rows.shape == (25, 16) and np.isfinite(rows).all()
    assert rows.min() >= 0 and rows.max() <= 1  # images stay in the pixel range
    np.testing.assert_array_equal(rows, sampler.sample(25))


def test_scores_match_pytorch_ood():
    """pytorch-ood's detectors on the same logits and features (an optional reference: the
    ``ood`` extra). Its outlier scores are ours negated; its Mahalanobis covariance is the
    sum of the centred outer products, not their mean, so its distances are ours / n."""
    detector = pytest.importorskip("pytorch_ood.detector")
    rng = np.random.RandomState(0)
    logits = rng.normal(scale=3.0, size=(200, 5))
    tensor = torch.tensor(logits, dtype=torch.float64)
    for t in (1.0, 2.5):
        theirs = detector.MaxSoftmax(None, t=t).predict_logits(tensor)
        np.testing.assert_allclose(msp_score(logits, t), -theirs.numpy(), atol=1e-5)
        theirs = detector.EnergyBased(None, t=t).predict_logits(tensor)
        np.testing.assert_allclose(energy_score(logits, t), -theirs.numpy(), atol=1e-5)
    theirs = detector.MaxLogit(None).predict_logits(tensor)
    np.testing.assert_allclose(max_logit_score(logits), -theirs.numpy(), atol=1e-5)

    # pytorch-ood fits its centres and covariance in torch's default dtype: double here
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        _mahalanobis_matches(detector, rng)
    finally:
        torch.set_default_dtype(default)


def _mahalanobis_matches(detector, rng):
    from sklearn.covariance import EmpiricalCovariance

    features, labels = rng.normal(size=(300, 6)), np.repeat(np.arange(3), 100)
    features += labels[:, None]
    reference = detector.Mahalanobis(None)
    X, y = features, labels  # a classifier without embed: the input features are used
    clf = sb.RejectOptionClassifier(
        LogisticRegression(), score="mahalanobis", covariance_estimator=EmpiricalCovariance(),
        validation_fraction=1 / 3, random_state=0,
    )  # fmt: skip
    clf.fit(X, y)
    rows = np.flatnonzero(~_calibration_rows(clf, y))  # the rows the wrapper fitted on
    reference.fit_features(torch.tensor(X[rows]), torch.tensor(y[rows]))
    np.testing.assert_allclose(clf.means_, reference.mu.numpy(), atol=1e-5)
    ours = clf.score_samples(X)
    theirs = reference.predict_features(torch.tensor(X)).numpy()
    np.testing.assert_allclose(ours, -theirs * len(rows), rtol=1e-5)
    # and on pytorch-ood's own centres and precision, our formula gives its scores exactly
    same = mahalanobis_score(X, reference.mu.numpy(), reference.precision.numpy())
    np.testing.assert_allclose(same, -theirs, atol=1e-5)


def _calibration_rows(clf, y):
    """Mask of the rows ``clf`` held out to calibrate (its split is the public one)."""
    from synthbalance.classifiers import calibration_split

    _, calibration = calibration_split(y, clf.validation_fraction, np.random.RandomState(0))
    mask = np.zeros(len(y), dtype=bool)
    mask[calibration] = True
    return mask


def test_knn_is_the_distance_to_the_kth_nearest_fit_row():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(100, 3)), np.repeat([0, 1], 50)
    clf = sb.RejectOptionClassifier(
        LogisticRegression(), score="knn", n_neighbors=3, random_state=0
    ).fit(X, y)
    fit_rows = X[calibration_split(y, 0.2, np.random.RandomState(0))[0]]  # as fit splits
    queries = rng.normal(size=(7, 3))
    distances = np.linalg.norm(queries[:, None] - fit_rows[None], axis=2)
    np.testing.assert_allclose(clf.score_samples(queries), -np.sort(distances, axis=1)[:, 2])
    with pytest.raises(ValueError, match="n_neighbors=500 needs at least that many fit rows"):
        sb.RejectOptionClassifier(LogisticRegression(), score="knn", n_neighbors=500).fit(X, y)


def test_a_threshold_split_with_a_part_short_of_a_class_is_refused_naming_the_sizes():
    X, y = np.random.RandomState(0).normal(size=(120, 3)), np.repeat([0, 1, 2], 40)
    message = (
        r"validation_fraction=0.01 splits 120 known rows into 118 to fit and 2 to choose the "
        r"threshold; each part needs a row of each of the 3 classes"
    )
    with pytest.raises(ValueError, match=message):
        sb.RejectOptionClassifier(LogisticRegression(), validation_fraction=0.01).fit(X, y)
    sb.RejectOptionClassifier(LogisticRegression(), validation_fraction=0.025).fit(X, y)  # 3


def test_predict_before_fit_is_not_fitted_error():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        sb.RejectOptionClassifier(LogisticRegression()).predict([[0.0, 1.0]])


def test_knn_on_cnn_features_is_on_the_unit_sphere(one_torch_thread):
    rng = np.random.RandomState(0)
    X, y = rng.uniform(size=(60, 16)), np.repeat([0, 1, 2], 20)
    cnn = sb.CNNClassifier(channels=(4,), epochs=1, device="cpu", random_state=0).fit(X, y)
    clf = sb.RejectOptionClassifier(cnn, score="knn", random_state=0).fit(X, y)
    assert clf.neighbors_.n_features_in_ == 4  # the penultimate features, not the pixels
    scores = clf.score_samples(rng.uniform(0, 50, size=(30, 16)))  # far from every pixel row
    assert (scores >= -2.0).all()  # unit vectors: no two are further apart than 2


def test_the_estimator_learns_the_labels_as_given_so_label_keyed_settings_hold(blobs):
    X, y = blobs[:2]
    labels = y + 1  # classes 1, 2, 3: codes 0, 1, 2 would name other classes
    weighted = LogisticRegression(class_weight={1: 100.0}, max_iter=1000)
    clf = sb.RejectOptionClassifier(weighted, coverage=0.99, random_state=0).fit(X, labels)
    fit_rows, _ = calibration_split(labels, 0.2, np.random.RandomState(0))
    alone = clone(weighted).fit(X[fit_rows], labels[fit_rows])
    assert list(clf.estimator_.classes_) == [1, 2, 3]
    np.testing.assert_allclose(clf.predict_proba(X), alone.predict_proba(X))


@pytest.mark.parametrize("labels", [[1, 2, 3], ["other", "b", "c"]])
def test_other_class_trains_the_outliers_as_a_new_label(blobs, labels):
    X, y, X_far, _ = blobs
    named = np.array(labels, dtype=object if isinstance(labels[0], str) else None)[y]
    clf = wrapper("other_class").fit(X, named)
    assert clf.other_label_ not in labels
    assert list(clf.estimator_.classes_) == sorted([*labels, clf.other_label_])
    other = list(clf.estimator_.classes_).index(clf.other_label_)
    np.testing.assert_allclose(
        clf.score_samples(X_far), 1 - clf.estimator_.predict_proba(X_far)[:, other]
    )
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= {*labels, -1}


def test_a_multihead_base_class_names_a_real_class(blobs, one_torch_thread):
    X, y = blobs[:2]
    tiny = dict(hidden_dims=(8,), epochs=2, device="cpu", random_state=0)
    model = sb.MultiHeadClassifier(base_class=1, **tiny)
    clf = sb.RejectOptionClassifier(model, random_state=0).fit(X, y + 1)  # classes 1, 2, 3
    assert clf.estimator_.base_class_ == 1 and list(clf.estimator_.heads_) == [2, 3]
    detector = sb.RejectOptionClassifier(model, score="detector", random_state=0).fit(X, y + 1)
    assert detector.detector_.base_class_ == 1.0  # the known rows; the outliers its head
    assert np.isfinite(detector.score_samples(X)).all()
