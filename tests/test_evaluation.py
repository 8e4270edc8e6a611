import pytest
from imblearn import FunctionSampler
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import synthbalance as sb
from synthbalance.pipelines.datasets import seed_case
from synthbalance.pipelines.estimators import with_seed
from synthbalance.pipelines.metrics import METRICS, threshold_scorers
from synthbalance.pipelines.protocol import QualityCheck, fold_seeds

from .conftest import fold_records


@pytest.fixture(scope="module")
def data():
    ds = seed_case(n_majority=900, n_minority=60, n_features=6, n_informative=3, n_redundant=1)
    return ds.X.to_numpy(), ds.y


def classifier():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def test_fold_seeds_depend_only_on_the_seed():
    assert fold_seeds(0, 10) == fold_seeds(0, 10)
    assert fold_seeds(0, 10)[:4] == fold_seeds(0, 4)
    assert fold_seeds(0, 10) != fold_seeds(1, 10)
    assert len(set(fold_seeds(0, 10))) == 10


def test_with_seed_sets_only_unset_random_states():
    estimator = with_seed(make_pipeline(StandardScaler(), LogisticRegression()), 7)
    assert estimator.get_params()["logisticregression__random_state"] == 7
    assert with_seed(SMOTE(random_state=3), 7).random_state == 3
    assert with_seed(SMOTE(), 7).random_state == 7


def test_smote_loop_agrees_with_cross_validate_on_an_imblearn_pipeline(data):
    X, y = data
    # No rows held out for the quality metrics: SMOTE then sees what the pipeline's sees.
    records = fold_records(
        X, y, 1, SMOTE(), classifier(), n_splits=3, n_repeats=2, seed=0,
        methods=("baseline", "augmented"), quality=QualityCheck(enabled=False),
    )  # fmt: skip
    scoring = {**threshold_scorers(1), "roc_auc": "roc_auc", "pr_auc": "average_precision",
               "brier": "neg_brier_score", "log_loss": "neg_log_loss"}  # fmt: skip
    splits = RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=0).split(X, y)
    for i, (seed, split) in enumerate(zip(fold_seeds(0, 6), splits, strict=True)):
        pipelines = {
            "baseline": classifier(),
            "augmented": Pipeline([("smote", SMOTE(random_state=seed)), ("clf", classifier())]),
        }
        for method, pipeline in pipelines.items():
            expected = cross_validate(pipeline, X, y, cv=[split], scoring=scoring)
            (record,) = [
                r
                for r in records
                if r["method"] == method and (r["repeat"], r["fold"]) == divmod(i, 3)
            ]
            for metric in METRICS:
                if metric == "ece":  # scikit-learn has no scorer for it
                    continue
                value = expected[f"test_{metric}"][0]
                value = -value if metric in ("brier", "log_loss") else value  # neg_ scorers
                assert record["metrics"][metric] == pytest.approx(value)


def test_generator_sees_only_the_training_part(data):
    X, y = data
    seen = []

    def spy(X_train, y_train):
        seen.append(X_train.copy())
        return X_train, y_train

    records = fold_records(
        X, y, 1, FunctionSampler(func=spy), classifier(), n_splits=3, n_repeats=1, seed=0,
        methods=("baseline", "augmented"),
    )  # fmt: skip
    splits = RepeatedStratifiedKFold(n_splits=3, n_repeats=1, random_state=0).split(X, y)
    for X_seen, (train, test) in zip(seen, splits, strict=True):
        seen_rows = {tuple(r) for r in X_seen}
        assert seen_rows <= {tuple(r) for r in X[train]}
        assert not seen_rows & {tuple(r) for r in X[test]}
        assert len(X_seen) == len(train)  # every training row: the generator's best chance
    assert {r["n_test"] for r in records} == {len(X) // 3}


def test_the_report_keeps_the_first_fits_minority_samples(data):
    X, y = data
    report = sb.evaluate(
        X, y, generator=RandomOverSampler(), classifier=classifier(), n_splits=3, n_repeats=1,
        methods=("baseline", "augmented", "augmented+threshold"), generator_seeds=2,
    )  # fmt: skip
    real, synthetic = report.samples
    (train, _), *_ = RepeatedStratifiedKFold(n_splits=3, n_repeats=1, random_state=0).split(X, y)
    first = next(r for r in report.data["folds"] if r["method"] == "augmented")
    minority_train = {tuple(r) for r in X[train][y[train] == 1]}
    assert {tuple(r) for r in real} == minority_train  # the generator saw every one
    assert {tuple(r) for r in synthetic} <= {tuple(r) for r in real}  # copies of what it saw
    assert len(synthetic) == min(first["n_synthetic"], 500)


def test_quality_is_measured_on_rows_the_generator_never_saw(data):
    X, y = data
    records = fold_records(
        X, y, 1, RandomOverSampler(), classifier(), n_splits=2, n_repeats=1, seed=0,
        methods=("baseline", "augmented"),
    )  # fmt: skip
    for record in (r for r in records if r["method"] == "augmented"):
        # copies of the rows the generator saw: all flagged, none leaked from the test rows
        assert record["quality"]["exact_copies"] == 1.0
        assert record["quality"]["leaked"] < 0.5
        assert record["n_held_out"] == (y == 1).sum() // 2  # the test part's minority rows


def test_measuring_quality_changes_no_fold_metric(data):
    X, y = data
    runs = [
        fold_records(
            X,
            y,
            1,
            SMOTE(),
            classifier(),
            n_splits=3,
            n_repeats=1,
            seed=0,
            methods=("baseline", "augmented", "augmented+threshold"),
            quality=enabled,
        )  # fmt: skip
        for enabled in (True, False)
    ]
    with_quality, without = ([r["metrics"] for r in records] for records in runs)
    assert with_quality == without
    assert any("quality" in r for r in runs[0]) and not any("quality" in r for r in runs[1])


def test_no_augmentation_gives_identical_scores(data):
    X, y = data
    records = fold_records(
        X, y, 1, FunctionSampler(), classifier(), n_splits=2, n_repeats=1, seed=0
    )
    baseline = [r["metrics"] for r in records if r["method"] == "baseline"]
    augmented = [r["metrics"] for r in records if r["method"] == "augmented"]
    assert baseline == augmented
    assert all(r["n_synthetic"] == 0 for r in records)


def test_augmented_records_count_synthetic_rows_and_time_phases(data):
    X, y = data
    records = fold_records(
        X, y, 1, SMOTE(), classifier(), n_splits=2, n_repeats=1, seed=0,
        quality=QualityCheck(enabled=False),
    )  # fmt: skip
    augmented = [r for r in records if r["method"] == "augmented"]
    n_train = len(y) // 2
    n_minority_train = int((y == 1).sum()) // 2
    assert all(
        r["n_synthetic"] == (n_train - n_minority_train) - n_minority_train for r in augmented
    )
    assert all(r["seconds"]["generator_fit"] > 0 for r in augmented)


def test_threshold_tuning_generator_sees_only_the_inner_training_rows(data):
    X, y = data
    seen = []

    def spy(X_train, y_train):
        seen.append({tuple(row) for row in X_train})
        return X_train, y_train

    fold_records(
        X, y, 1, FunctionSampler(func=spy), classifier(), n_splits=3, n_repeats=1, seed=0,
        methods=("baseline", "augmented+threshold"), quality=QualityCheck(enabled=False),
    )  # fmt: skip
    splits = RepeatedStratifiedKFold(n_splits=3, n_repeats=1, random_state=0).split(X, y)
    for (train, _), full, inner in zip(splits, seen[0::2], seen[1::2], strict=True):
        assert full == {tuple(row) for row in X[train]}
        assert inner < full and len(inner) == pytest.approx(0.75 * len(full), abs=1)
