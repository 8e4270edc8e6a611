"""MultiHeadClassifier: scikit-learn's generated checks, the masked loss, frozen trunks, the two
label forms, weak labels, bad input, and the evaluation scoring each class on its own head."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.multioutput import MultiOutputClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import validate_data
from torch import nn

import synthbalance as sb
from synthbalance.classifiers import MultiHeadClassifier, MultiHeadNet, _multihead, masked_bce
from synthbalance.pipelines.app import run
from synthbalance.pipelines.components import build
from synthbalance.pipelines.dataset import DataError
from synthbalance.pipelines.datasets import heads
from synthbalance.pipelines.estimators import PriorShifted, head_scores
from synthbalance.pipelines.images import digits
from synthbalance.pipelines.report.schema import MACRO

from .conftest import SMALL_DATA, SMALL_EVALUATION, fold_records

TINY = dict(hidden_dims=(16,), epochs=20, batch_size=64, lr=0.02, device="cpu", random_state=0)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def expected_failed_checks(estimator):
    return {
        "check_sample_weight_equivalence_on_dense_data": (
            "float32 training: weights and repeated rows agree to about 1e-7, not to the "
            "check's rtol=1e-7; test_sample_weight_is_repeating_rows checks it at 1e-5"
        )
    }


@parametrize_with_checks(
    [MultiHeadClassifier(**TINY), MultiHeadClassifier(**TINY, standardize=True)],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def blobs():
    """Four classes: 0 is the base class (200 rows), 1-3 are rarer."""
    X, y = make_blobs(n_samples=[200, 60, 40, 30], n_features=4, random_state=0)
    return X, y


def label_matrix(y, missing=np.nan):
    """Heads 1-3 from class labels, each head labelled only on the base rows and its own
    class's rows, as ``MultiHeadClassifier`` reads a multi-class ``y``."""
    Y = np.full((len(y), 3), missing, dtype=float)
    for k in range(3):
        Y[y == 0, k] = 0
        Y[y == k + 1, k] = 1
    return Y


def test_sample_weight_is_repeating_rows():
    rng = np.random.RandomState(42)
    X, y = rng.rand(15, 30), rng.randint(0, 3, size=15)
    weights = rng.randint(0, 5, size=15)
    model = MultiHeadClassifier(**TINY)
    repeated = clone(model).fit(X.repeat(weights, axis=0), y.repeat(weights))
    weighted = clone(model).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(weighted.head_proba(X), repeated.head_proba(X), rtol=1e-5)


# -- the masked loss ---------------------------------------------------------------------


def network(n_heads=3):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return MultiHeadNet(nn.Sequential(nn.Linear(4, 8), nn.ReLU()), 8, n_heads)


def test_masked_loss_leaves_a_head_without_labels_exactly_zero_gradient():
    net = network()
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(0))
    target = torch.randint(0, 2, (16, 3), generator=torch.Generator().manual_seed(1)).float()
    count = torch.ones(16, 3)
    count[:, 1] = 0  # no row of the batch has a label for head 1
    count[:5, 2] = 0
    masked_bce(net, x, target, count, count, generator=None).backward()
    head = net.heads[1]
    assert all(torch.count_nonzero(p.grad) == 0 for p in head.parameters())
    for other in (net.heads[0], net.heads[2], net.trunk):
        assert any(torch.count_nonzero(p.grad) > 0 for p in other.parameters())


def test_each_head_is_averaged_over_its_own_labelled_rows():
    net = network()
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(0))
    target = torch.randint(0, 2, (16, 3), generator=torch.Generator().manual_seed(1)).float()
    labelled = torch.rand(16, 3, generator=torch.Generator().manual_seed(2)) < 0.5
    count = labelled.float()
    with torch.no_grad():
        logits = net(x)
        loss = masked_bce(net, x, target, count, count, generator=None)
    expected = sum(
        nn.functional.binary_cross_entropy_with_logits(
            logits[labelled[:, k], k], target[labelled[:, k], k]
        )
        for k in range(3)
    )
    torch.testing.assert_close(loss, expected)


def test_rows_without_a_label_for_a_head_do_not_move_it(blobs):
    """With the trunk frozen, head 1 learns from its labelled rows only: the rows of
    classes 2 and 3 may hold anything, head 1 comes out bit for bit the same."""
    X, y = blobs
    model = MultiHeadClassifier(trunk=nn.Sequential(nn.Linear(4, 8), nn.Tanh()), trainable_layers=0,
                                **TINY)  # fmt: skip
    first = clone(model).fit(X, y)
    noise = X.copy()
    unlabelled = (y == 2) | (y == 3)
    noise[unlabelled] = np.random.default_rng(0).normal(size=(unlabelled.sum(), 4))
    second = clone(model).fit(noise, y)
    np.testing.assert_array_equal(first.head_proba(X)[:, 0], second.head_proba(X)[:, 0])
    assert not np.allclose(first.head_proba(X)[:, 1], second.head_proba(X)[:, 1])


# -- trunks ----------------------------------------------------------------------------------


def user_trunk():
    with torch.random.fork_rng():
        torch.manual_seed(3)
        return nn.Sequential(
            nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU()
        )


def same_state(a, b):
    a, b = a.state_dict(), b.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_frozen_trunk_is_bit_identical_after_fit(blobs):
    X, y = blobs
    trunk = user_trunk()
    before = {k: v.clone() for k, v in trunk.state_dict().items()}
    model = MultiHeadClassifier(trunk=trunk, trainable_layers=0, **TINY).fit(X, y)
    assert model.module_.trunk is not trunk  # a copy trains; the given module is untouched
    assert same_state(model.module_.trunk, trunk)  # batch-norm statistics included
    assert all(torch.equal(before[k], v) for k, v in trunk.state_dict().items())
    assert roc_auc_score(y[y <= 1] == 1, model.head_proba(X[y <= 1])[:, 0]) > 0.9


def test_trainable_layers_trains_only_the_top_of_the_trunk(blobs):
    X, y = blobs
    trunk = user_trunk()
    model = MultiHeadClassifier(trunk=trunk, trainable_layers=1, **TINY).fit(X, y)
    fitted = model.module_.trunk
    assert same_state(fitted[0], trunk[0]) and same_state(fitted[1], trunk[1])
    assert not torch.equal(fitted[3].weight, trunk[3].weight)
    everything = MultiHeadClassifier(trunk=trunk, **TINY).fit(X, y).module_.trunk
    assert not torch.equal(everything[0].weight, trunk[0].weight)
    with pytest.raises(ValueError, match="trainable_layers=4, but the trunk has 3 layers"):
        MultiHeadClassifier(trunk=trunk, trainable_layers=4, **TINY).fit(X, y)


def test_pretrained_trunk_weights_are_loaded(blobs, tmp_path):
    X, y = blobs
    two_layers = {**TINY, "hidden_dims": (16, 16)}
    pretrained = MultiHeadClassifier(**two_layers).fit(X, y)
    path = tmp_path / "trunk.pt"
    torch.save(pretrained.module_.trunk.state_dict(), path)
    frozen = MultiHeadClassifier(trunk_weights=path, trainable_layers=0, **two_layers)
    model = frozen.fit(X, y == 1)  # another task on the same trunk
    assert same_state(model.module_.trunk, pretrained.module_.trunk)
    tuned = MultiHeadClassifier(trunk_weights=str(path), trainable_layers=1, **two_layers)
    trunk = tuned.fit(X, y).module_.trunk
    assert torch.equal(trunk[0].weight, pretrained.module_.trunk[0].weight)
    assert not torch.equal(trunk[2].weight, pretrained.module_.trunk[2].weight)


def test_cnn_trunk_on_digits():
    data = digits(minority_digit=[1, 2, 3], majority_digits=[0], n_minority=[40, 30, 20])
    model = MultiHeadClassifier(trunk="cnn", channels=(8,), **{**TINY, "batch_size": 32})
    model.fit(data.X, data.y)
    assert model.image_shape_ == (1, 8, 8) and list(model.heads_) == [
        "digit_1",
        "digit_2",
        "digit_3",
    ]
    assert model.base_class_ == "other" and model.head_proba(data.X).shape == (len(data.y), 3)
    assert model.loss_history_[-1] < model.loss_history_[0]


# -- label forms -----------------------------------------------------------------------


def test_class_labels_give_one_head_per_class_against_the_base(blobs):
    X, y = blobs
    model = MultiHeadClassifier(**TINY).fit(X, y)
    assert list(model.classes_) == [0, 1, 2, 3] and list(model.heads_) == [1, 2, 3]
    assert model.base_class_ == 0
    heads, proba = model.head_proba(X), model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    # P(k | k or base) from the class probabilities is head k's own probability
    np.testing.assert_allclose(proba[:, 1:] / (proba[:, 1:] + proba[:, :1]), heads, rtol=1e-6)
    for k in (1, 2, 3):
        rows = (y == 0) | (y == k)
        assert roc_auc_score(y[rows] == k, heads[rows, k - 1]) > 0.9
    other = MultiHeadClassifier(base_class=3, **TINY).fit(X, y)
    assert other.base_class_ == 3 and list(other.heads_) == [0, 1, 2]
    with pytest.raises(ValueError, match="base_class=7 is not a class of y"):
        MultiHeadClassifier(base_class=7, **TINY).fit(X, y)


def test_label_matrix_follows_multioutput_conventions(blobs):
    X, y = blobs
    Y = label_matrix(y)
    model = MultiHeadClassifier(**TINY).fit(X, Y)
    reference = MultiOutputClassifier(LogisticRegression()).fit(X, np.nan_to_num(Y).astype(int))
    assert model.predict(X).shape == reference.predict(X).shape == (len(X), 3)
    assert model.predict(X).dtype == reference.predict(X).dtype
    proba, expected = model.predict_proba(X), reference.predict_proba(X)
    assert isinstance(proba, list) and [p.shape for p in proba] == [p.shape for p in expected]
    assert [list(c) for c in model.classes_] == [list(c) for c in reference.classes_]
    np.testing.assert_allclose(np.column_stack([p[:, 1] for p in proba]), model.head_proba(X))
    assert model.base_class_ is None and list(model.heads_) == [0, 1, 2]


def test_label_matrix_missing_as_nan_or_missing_label_and_named_columns(blobs):
    X, y = blobs
    nan = MultiHeadClassifier(**TINY).fit(X, label_matrix(y))
    minus_one = MultiHeadClassifier(**TINY).fit(X, label_matrix(y, missing=-1))
    np.testing.assert_array_equal(nan.head_proba(X), minus_one.head_proba(X))
    frame = pd.DataFrame(label_matrix(y, missing=9), columns=["a", "b", "c"])
    named = MultiHeadClassifier(missing_label=9, **TINY).fit(X, frame)
    assert list(named.heads_) == ["a", "b", "c"]
    np.testing.assert_array_equal(named.head_proba(X), nan.head_proba(X))
    # the same labels from class labels and from the matrix: the same heads
    classes = MultiHeadClassifier(**TINY).fit(X, y)
    np.testing.assert_allclose(classes.head_proba(X), nan.head_proba(X), rtol=1e-5)


@pytest.mark.parametrize("column", [slice(0, 1), 0])
def test_missing_labels_in_one_column_ask_for_a_label_matrix(blobs, column):
    X, y = blobs
    with pytest.raises(
        ValueError,
        match=r"has missing labels \(NaN or None\), which only a "
        "label matrix may hold: one column per head, two columns at least",
    ):
        MultiHeadClassifier(**TINY).fit(X, label_matrix(y)[:, column])  # fmt: skip


def test_weak_labels_fill_missing_entries_with_confidence_weights(blobs, monkeypatch):
    X, y = blobs
    seen = []
    train = _multihead.train

    def recording_train(module, loss, tensors, **kwargs):
        seen.append([t.cpu().numpy() for t in tensors])
        return train(module, loss, tensors, **kwargs)

    monkeypatch.setattr(_multihead, "train", recording_train)
    model = MultiHeadClassifier(weak_labels="separate", **TINY).fit(X, y)
    assert len(seen) == 4  # one separate binary model per head, then the multi-head model
    _, target, weight, count = seen[-1]
    missing = np.column_stack([(y != 0) & (y != k) for k in (1, 2, 3)])
    assert ((target[missing] >= 0) & (target[missing] <= 1)).all()  # soft targets: scores
    assert not np.isin(target[missing], [0, 1]).all()
    expected = 4 * (target[missing].astype(float) - 0.5) ** 2
    np.testing.assert_allclose(weight[missing], expected, rtol=1e-5, atol=1e-6)
    assert (count[missing] == 1).all() and (weight[~missing] == 1).all()
    # each separate model saw its head's labelled rows only
    assert [len(s[0]) for s in seen[:3]] == [((y == 0) | (y == k)).sum() for k in (1, 2, 3)]
    plain = MultiHeadClassifier(**TINY).fit(X, y)
    assert not np.allclose(model.head_proba(X), plain.head_proba(X))
    complete = np.nan_to_num(label_matrix(y))  # nothing missing: nothing to fill
    np.testing.assert_array_equal(
        MultiHeadClassifier(weak_labels="separate", **TINY).fit(X, complete).head_proba(X),
        MultiHeadClassifier(**TINY).fit(X, complete).head_proba(X),
    )


def test_class_weight_per_head():
    X, y = make_blobs(n_samples=[200, 60, 40, 30], n_features=4, cluster_std=6, random_state=0)
    fits = {
        name: MultiHeadClassifier(class_weight=weight, **TINY).fit(X, y).head_proba(X)
        for name, weight in {
            "none": None,
            "balanced": "balanced",
            "list": ["balanced", "balanced", "balanced"],
            "dict": {1: "balanced", 2: {0: 1, 1: 3}},
            "sklearn": {0: 1.0, 1: 5.0},
        }.items()
    }
    np.testing.assert_array_equal(fits["balanced"], fits["list"])
    assert fits["balanced"].mean() > fits["none"].mean()  # rare positives weigh more
    assert fits["dict"][:, 0].mean() > fits["none"][:, 0].mean()  # head 1 balanced
    assert fits["sklearn"][:, 0].mean() > fits["none"][:, 0].mean()  # class 1 weighs 5
    with pytest.raises(ValueError, match=r"class_weight names \['z'\], which are not heads"):
        MultiHeadClassifier(class_weight={"z": "balanced"}, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="class_weight has 2 entries; give one per head"):
        MultiHeadClassifier(class_weight=[None, None], **TINY).fit(X, y)


def test_same_seed_same_model_and_global_rng_left_alone(blobs):
    X, y = blobs
    state = torch.random.get_rng_state()
    first = MultiHeadClassifier(**TINY).fit(X, y)
    assert torch.equal(state, torch.random.get_rng_state())
    again = MultiHeadClassifier(**TINY).fit(X, y)
    other = MultiHeadClassifier(**{**TINY, "random_state": 1}).fit(X, y)
    np.testing.assert_array_equal(first.head_proba(X), again.head_proba(X))
    assert not np.allclose(first.head_proba(X), other.head_proba(X))


# -- bad input: one-line errors ------------------------------------------------------------


def one_line_error(match, fit):
    with pytest.raises(ValueError, match=match) as error:
        fit()
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_standardize_is_a_scaler_in_front_to_the_last_bit(blobs, dtype):
    X, y = blobs
    X = (X * [1.0, 10.0, 100.0, 1000.0] + 50.0).astype(dtype)
    inside = MultiHeadClassifier(**TINY, standardize=True).fit(X, y)
    piped = make_pipeline(StandardScaler(), MultiHeadClassifier(**TINY)).fit(X, y)
    np.testing.assert_array_equal(inside.mean_, piped[0].mean_)
    np.testing.assert_array_equal(inside.scale_, piped[0].scale_)
    weights, piped_weights = inside.module_.state_dict(), piped[-1].module_.state_dict()
    assert all(torch.equal(weights[key], piped_weights[key]) for key in weights)
    np.testing.assert_array_equal(inside.predict_proba(X), piped.predict_proba(X))
    scores, piped_scores = head_scores(inside, X), head_scores(piped, X)
    assert scores.keys() == piped_scores.keys()
    for class_ in scores:
        np.testing.assert_array_equal(scores[class_], piped_scores[class_])
    plain = MultiHeadClassifier(**TINY).fit(X, y)
    assert plain.mean_ is None and plain.scale_ is None


def test_eval_mode_runs_the_linear_heads_as_one_product():
    torch.manual_seed(0)
    net = MultiHeadNet(nn.Linear(5, 8), 8, 3)
    x = torch.randn(50, 5)
    per_head = torch.cat([head(net.trunk(x)) for head in net.heads], dim=1)
    assert torch.equal(net.train()(x), per_head)
    torch.testing.assert_close(net.eval()(x), per_head, rtol=0, atol=1e-6)
    deep = MultiHeadNet(nn.Linear(5, 8), 8, 3, head_dims=(4,)).eval()  # heads of two layers
    assert torch.equal(deep(x), torch.cat([head(deep.trunk(x)) for head in deep.heads], dim=1))


def test_bad_label_matrices(blobs):
    X, y = blobs
    Y = label_matrix(y)
    no_positive = Y.copy()
    no_positive[no_positive[:, 1] == 1, 1] = np.nan
    no_negative = Y.copy()
    no_negative[no_negative[:, 2] == 0, 2] = -1
    model = MultiHeadClassifier(**TINY)
    one_line_error(r"head 1 has no positive \(1\) row", lambda: model.fit(X, no_positive))
    one_line_error(r"head 2 has no negative \(0\) row", lambda: model.fit(X, no_negative))
    two = Y.copy()
    two[0, 0] = 2
    one_line_error("Y holds values other than 0, 1 and missing .*: 2", lambda: model.fit(X, two))
    text = pd.DataFrame(Y).astype(object)
    text.iloc[0, 0] = "yes"
    one_line_error("Y holds values other than 0, 1 and missing .*: yes", lambda: model.fit(X, text))


@pytest.mark.parametrize(
    "trunk, message",
    [
        (nn.Linear(3, 8), "the trunk does not take rows of 4 features: mat1 and mat2"),
        (
            nn.Unflatten(1, (2, 2)),
            r"trunk's output size does not fit the heads: two rows gave \(2, 2, 2\)",
        ),
    ],
)
def test_trunk_that_does_not_fit(blobs, trunk, message):
    X, y = blobs
    one_line_error(message, lambda: MultiHeadClassifier(trunk=trunk, **TINY).fit(X, y))


def test_trunk_weights_that_do_not_fit(blobs, tmp_path):
    X, y = blobs
    path = tmp_path / "other.pt"
    torch.save(nn.Sequential(nn.Linear(5, 16), nn.ReLU()).state_dict(), path)
    model = MultiHeadClassifier(trunk_weights=path, **TINY)
    one_line_error(
        "trunk_weights=.* does not fit the trunk: .*size mismatch", lambda: model.fit(X, y)
    )
    model.set_params(trunk_weights=tmp_path / "nope.pt")
    one_line_error("trunk_weights=.*nope.pt': no such file", lambda: model.fit(X, y))


# -- in the evaluation ---------------------------------------------------------------------


class HeadsOnly(ClassifierMixin, BaseEstimator):
    """Its heads know the class (feature 0 holds it); its ``predict`` always says base."""

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        self.classes_ = np.unique(y)
        self.heads_ = self.classes_[1:]
        return self

    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def head_proba(self, X):
        return np.column_stack([(X[:, 0] == k).astype(float) for k in self.heads_])


def test_evaluation_scores_each_class_on_its_own_head(blobs):
    X, y = blobs
    X = np.column_stack([y, X])
    records = fold_records(
        X, y, [1, 2, 3], sb.CVAESampler(), HeadsOnly(), base=0, n_splits=2, n_repeats=1,
        methods=["baseline"], quality=False,
    )  # fmt: skip
    for record in records:
        assert {c: m["f1"] for c, m in record["metrics_by_class"].items()} == dict.fromkeys(
            ["1", "2", "3"], 1.0
        )
        assert record["metrics"]["roc_auc"] == 1.0


def test_prior_shift_moves_each_heads_odds(blobs):
    """augmented+recalibrated: each head's odds against the base class are scaled by the
    ratio of priors, the same as the pairwise probability of the shifted class probabilities."""
    X, y = blobs
    model = MultiHeadClassifier(**TINY).fit(X, y)
    augmented = np.concatenate([y, [1] * 100, [3] * 50])  # what the model was trained on
    shifted = PriorShifted(model, trained_on=augmented, real=y)
    heads, proba = shifted.head_proba(X), shifted.predict_proba(X)
    assert list(shifted.heads_) == [1, 2, 3] and head_scores(shifted, X).keys() == {1, 2, 3}
    np.testing.assert_allclose(heads, proba[:, 1:] / (proba[:, 1:] + proba[:, :1]), rtol=1e-6)
    assert (heads[:, 0] < model.head_proba(X)[:, 0] + 1e-12).all()  # class 1 was inflated
    unchanged = PriorShifted(model, trained_on=y, real=y)
    np.testing.assert_allclose(unchanged.head_proba(X), model.head_proba(X), rtol=1e-9)
    assert not hasattr(PriorShifted(LogisticRegression().fit(X, y), y, y), "head_proba")


def test_api_refuses_a_base_class_other_than_the_datasets(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="base_class=3 is not the dataset's base class 0"):
        sb.evaluate(X, y, generator=sb.CVAESampler(), classifier=MultiHeadClassifier(base_class=3))


def test_multihead_run_with_cvae_reports_per_class_verdicts(make_config, tmp_path):
    cfg = make_config(
        "dataset=seed_multiclass", "generator=cvae", "classifier=multihead_mlp",
        "classifier.epochs=3", "classifier.hidden_dims=[16]", "classifier.device=cpu",
    )  # fmt: skip
    model, info = build(cfg.classifier)
    assert isinstance(model, MultiHeadClassifier) and model.standardize
    assert info["name"] == "multihead_mlp"
    report = run(cfg)
    assert report["classifier"]["name"] == "multihead_mlp"
    verdicts = {}
    for c in report["comparisons"]:
        if c["versus"] == "baseline" and c["metric"] == "f1":
            verdicts.setdefault(c["class"], {})[c["method"]] = c["verdict"]
    assert set(verdicts) == {MACRO, "1", "2", "3"}
    # every class gets each method's verdict against the baseline, as the macro average does
    assert {"class_weight", "augmented", "augmented+recalibrated"} <= set(verdicts[MACRO])
    assert all(v.keys() == verdicts[MACRO].keys() for v in verdicts.values())
    assert set(report["summary_by_class"]) == {"1", "2", "3"}
    markdown = (tmp_path / "report.md").read_text()
    assert "## Scores by minority class (each against 0 alone)" in markdown


def test_multihead_cnn_config_builds_and_fits(make_config):
    cfg = make_config("dataset=digits", "classifier=multihead_cnn", "classifier.epochs=1")
    model, info = build(cfg.classifier)
    assert isinstance(model, MultiHeadClassifier) and model.trunk == "cnn"
    data = digits(minority_digit=[1, 2], majority_digits=[0], n_minority=[30, 20])
    model.set_params(device="cpu", random_state=0, channels=[4]).fit(data.X, data.y)
    assert model.head_proba(data.X).shape == (len(data.y), 2)


# -- dataset=heads: one file per class ------------------------------------------------------


@pytest.fixture
def head_files(tmp_path):
    """a.csv and b.csv: rows of class a (b) labelled true, base rows labelled false."""
    rng = np.random.default_rng(0)
    paths = []
    for name, n_true, shift in (("a", 30, 3.0), ("b", 20, -3.0)):
        X = rng.normal(size=(90, 3))
        X[:n_true, 0] += shift
        frame = pd.DataFrame(X, columns=["u", "v", "w"])
        frame["label"] = ["true"] * n_true + ["false"] * (90 - n_true)
        paths.append(tmp_path / f"{name}.csv")
        frame.to_csv(paths[-1], index=False)
    return paths


def test_heads_dataset_joins_the_files_with_one_label_column_per_class(head_files):
    data = heads(head_files)
    assert data.class_counts == {"base": 130, "a": 30, "b": 20}
    assert data.minority == ["a", "b"] and data.base_class == "base"
    assert list(data.X.columns) == ["u", "v", "w"] and len(data.X) == 180
    matrix = data.label_matrix
    assert list(matrix.columns) == ["a", "b"]
    assert matrix["a"].iloc[:90].tolist() == [1.0] * 30 + [0.0] * 60
    assert matrix["a"].iloc[90:].isna().all() and matrix["b"].iloc[:90].isna().all()
    np.testing.assert_array_equal(matrix["b"].iloc[90:], (data.y[90:] == "b").astype(float))
    named = heads([str(p) for p in head_files], names=["cat", "dog"], base="neither")
    assert named.minority == ["cat", "dog"] and named.base == "neither"
    model = MultiHeadClassifier(**TINY).fit(data.X, data.label_matrix)
    assert list(model.heads_) == ["a", "b"]


def test_heads_dataset_refuses_bad_files(head_files, tmp_path):
    frame = pd.read_csv(head_files[0])
    frame.drop(columns="label").to_csv(tmp_path / "unlabelled.csv", index=False)
    frame.assign(label="maybe").to_csv(tmp_path / "maybe.csv", index=False)
    frame.drop(columns="w").to_csv(tmp_path / "fewer.csv", index=False)
    frame.assign(label="false").to_csv(tmp_path / "none.csv", index=False)
    cases = {
        "none.csv": "none.csv: no row is true in label column 'label', so class 'none' has no "
        "example",
        "unlabelled.csv": "unlabelled.csv: no label column 'label'; columns are u, v, w",
        "maybe.csv": r"maybe.csv: label column 'label' must be true or false; found \['maybe'\]",
        "fewer.csv": "fewer.csv: its feature columns differ from those of .*a.csv",
    }
    for name, message in cases.items():
        with pytest.raises(DataError, match=message):
            heads([head_files[0], tmp_path / name])
    with pytest.raises(DataError, match="dataset.names gives 1 names for 2 files"):
        heads(head_files, names=["x"])
    with pytest.raises(DataError, match=r"dataset.names repeats \['x'\]"):
        heads(head_files, names=["x", "x"])
    with pytest.raises(
        DataError,
        match=r"files \[.*a.csv', .*a.csv'\] would all be class 'a' "
        r"\(a file's class is its name\): give each its own",
    ):
        heads([head_files[0], head_files[0]])
    with pytest.raises(DataError, match="dataset.files is empty"):
        heads([])
    with pytest.raises(ValueError, match="The 'files' parameter of heads must be .*Got 3"):
        heads(3)  # declared constraints, checked before any file is read


def test_heads_dataset_runs_with_the_multihead_classifier(make_config, head_files):
    report = run(make_config(
        "dataset=heads", f"dataset.files=[{head_files[0]},{head_files[1]}]", "generator=smote",
        "classifier=multihead_mlp", "classifier.epochs=3", "classifier.device=cpu",
    ))  # fmt: skip
    assert report["dataset"]["minority"] == ["a", "b"] and report["dataset"]["base"] == "base"
    assert {c["class"] for c in report["comparisons"]} == {MACRO, "a", "b"}


def test_heads_dataset_with_an_unknown_class_runs_the_open_set(make_config, head_files):
    # the multi-head model's base_class is the dataset's 'base'; the open-set wrappers used to
    # train it on class codes 0, 1, 2, in which 'base' is no class
    third = pd.read_csv(head_files[1])
    third.loc[third["label"], "u"] += 9.0  # class c: b's rows moved far away
    third.to_csv(head_files[1].with_name("c.csv"), index=False)
    files = ",".join(map(str, [*head_files, head_files[1].with_name("c.csv")]))
    report = run(make_config(
        "dataset=heads", f"dataset.files=[{files}]",
        "+dataset.unknown=[c]", "generator=smote", "classifier=multihead_mlp",
        "classifier.epochs=1", "classifier.device=cpu", "evaluation.methods=[baseline]",
        "evaluation.open_set.scores=[msp,knn,detector]", "evaluation.open_set.outliers=[smote]",
    ))  # fmt: skip
    assert list(report["open_set"]["summary"]) == ["msp", "knn", "detector+smote"]
    assert all(np.isfinite(r["metrics"]["auroc"]) for r in report["open_set"]["folds"])


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["dataset=heads", "dataset.files=[{a},{unlabelled}]"], "no label column 'label'"),
        (
            [*SMALL_DATA, "classifier=multihead_mlp",
             "classifier.trunk={{_target_:torch.nn.Linear,in_features:3,out_features:8}}"],
            "the trunk does not take rows of 6 features",
        ),
    ],
)  # fmt: skip
def test_cli_one_line_error_and_no_report(tmp_path, head_files, overrides, message):
    pd.read_csv(head_files[0]).drop(columns="label").to_csv(tmp_path / "unlabelled.csv")
    paths = {"a": head_files[0], "unlabelled": tmp_path / "unlabelled.csv"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "synthbalance"), *(o.format(**paths) for o in overrides),
         *SMALL_EVALUATION, "generator=smote", "hydra.run.dir=run"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not list(tmp_path.rglob("report.json"))
