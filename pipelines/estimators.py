"""scikit-learn helpers for the estimators a run is given: checks, seeds, class weights."""

import math
from collections import Counter
from numbers import Integral, Real

import numpy as np
from imblearn.utils import check_sampling_strategy
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import has_fit_parameter

from synthbalance.pipelines.dataset import DataError, one_hot_columns

# Parameters that components.for_dataset sets from the data when they are None.
FILLED_FROM_DATA = ("categorical_features", "image_shape")


def check_sampler(sampler, name="generator"):
    """Refuse an object that is not an imbalanced-learn sampler (``fit_resample`` and
    ``get_params``), naming it, one that removes real rows (an under-sampler, a cleaning or
    combined sampler), one whose optional library is missing (its ``check_installed``), and
    parameters its declared constraints do not allow."""
    _refuse_a_class(sampler, name)
    if not (hasattr(sampler, "fit_resample") and hasattr(sampler, "get_params")):
        raise TypeError(
            f"{name} must be an imbalanced-learn sampler (with fit_resample and get_params), "
            f"got {type(sampler).__name__}"
        )
    step = final_step(sampler)
    removes = {"under-sampling": "under-samples", "clean-sampling": "cleans"}.get(
        getattr(step, "_sampling_type", None)
    )
    if type(step).__module__.startswith("imblearn.combine"):  # SMOTEENN, SMOTETomek
        removes = "over-samples and then cleans"
    if removes:
        raise TypeError(
            f"{name} must be an over-sampler, got {type(step).__name__}, which {removes}: "
            "it removes real rows, and synthbalance adds synthetic rows to all of them (its "
            "under-sampling method, balanced_ensemble, runs beside every generator)"
        )
    check_params(sampler)
    installed = getattr(step, "check_installed", None)
    if callable(installed):  # a third-party generator: its optional library is there
        installed()
    return sampler


def added_rows(sampler, X, y, X_res, y_res):
    """``(X_new, y_new)``: the rows ``sampler``'s ``fit_resample(X, y)`` output ``(X_res,
    y_res)`` adds, after the real rows, which an over-sampler returns first and unchanged
    (imbalanced-learn's convention). A ValueError naming the sampler for an output that
    dropped, reordered or changed real rows (SMOTEENN's and SMOTETomek's cleaning, a
    ``FunctionSampler``) and for synthetic rows holding NaN or infinite values."""
    from synthbalance.generators.training import check_finite_samples  # imports torch

    n, y_res, name = len(y), np.asarray(y_res), type(sampler).__name__
    if len(y_res) < n or not (_same_rows(X_res, X) and np.array_equal(y_res[:n], y)):
        raise ValueError(
            f"{name} did not return the {n} real rows unchanged before its synthetic ones "
            f"(it returned {len(y_res)} rows): synthbalance adds synthetic rows to every real "
            "row, so a generator must be an over-sampler that keeps them (SMOTEENN and "
            "SMOTETomek also remove rows)"
        )
    check_finite_samples(name, X_res[n:])
    return X_res[n:], y_res[n:]


def _same_rows(X_res, X, chunk=65_536):
    """Whether the first ``len(X)`` rows of ``X_res`` equal ``X``, compared ``chunk`` rows
    at a time (no copy of the data at a fit's peak)."""
    n = len(X)
    return all(
        np.array_equal(X_res[i : min(i + chunk, n)], X[i : i + chunk]) for i in range(0, n, chunk)
    )


def _refuse_a_class(estimator, name):
    """A class given where its instance belongs (``SMOTE`` for ``SMOTE()``): a TypeError
    saying so, rather than ``get_params()`` missing ``self``."""
    if isinstance(estimator, type):
        raise TypeError(
            f"{name} must be an instance, got the class {estimator.__name__}: write "
            f"{estimator.__name__}()"
        )


def check_params(estimator):
    """Check the parameters of ``estimator`` (every step of a Pipeline) against their
    declared ``_parameter_constraints`` now, not when the first fold fits it: scikit-learn's
    InvalidParameterError names the parameter, its value and what it must be. Parameters
    still None that the dataset fills in (``FILLED_FROM_DATA``) are checked once filled."""
    for step in [s for _, s in _steps(estimator)] or [estimator]:
        constraints = getattr(step, "_parameter_constraints", None)
        if constraints is None or not hasattr(step, "get_params"):
            continue
        params = step.get_params(deep=False)
        params = {k: v for k, v in params.items() if not (v is None and k in FILLED_FROM_DATA)}
        validate_parameter_constraints(constraints, params, caller_name=type(step).__name__)
    return estimator


def check_features(estimator, n_features, name):
    """Let ``estimator`` refuse rows of ``n_features`` columns before any fold fits it, when
    it can tell (its ``check_features``: the torch samplers and classifiers check their
    image shape, architecture and device): a DataError prefixed with ``name``."""
    check = getattr(estimator, "check_features", None)
    if check is None:
        return
    try:
        check(n_features)
    except ValueError as error:
        raise DataError(f"{name}: {error}") from None


def check_fit_labels(sampler, fit_labels, name="generator", where="a training part"):
    """Refuse what ``sampler`` would refuse in a fold of ``fit_labels`` (the labels of every
    set of rows it will be fitted on: ``where``): a ``sampling_strategy`` it cannot meet by
    adding rows (a ratio not above a part's own), and a neighbour count (SMOTE's
    ``k_neighbors``, ADASYN's ``n_neighbors``) that is not below the rows of a class it
    over-samples, saying the largest count that works."""
    params = sampler.get_params(deep=False)
    if "sampling_strategy" not in params:
        return
    key = next((k for k in ("k_neighbors", "n_neighbors") if k in params), None)
    labels = [np.asarray(y) for y in fit_labels]
    _check_ratio(params["sampling_strategy"], labels, name, where)
    if not (key is not None and isinstance(params[key], Integral)):
        if labels:  # the strategy's form, once (its classes: components.check_sampling_strategy)
            _wanted(params["sampling_strategy"], labels[0], name)
        return
    smallest = None
    for y in labels:
        wanted = _wanted(params["sampling_strategy"], y, name)
        counts = Counter(y.tolist())
        for class_ in (c for c, n in wanted.items() if n > 0):
            if smallest is None or counts[class_] < smallest[0]:
                smallest = (counts[class_], class_)
    if smallest is None or smallest[0] > params[key]:
        return
    n, class_ = smallest
    fix = f"lower {key} to {n - 1} or less" if n > 1 else "use fewer folds or more data"
    raise ValueError(
        f"{name}: {key}={params[key]} needs more than {params[key]} rows of each class it "
        f"over-samples, but {where} has {n} of class {_plain(class_)!r}; {fix}"
    )


def _check_ratio(strategy, labels, name, where):
    """Refuse a ``sampling_strategy`` ratio (minority rows after / majority rows) that adds
    no row to some set of ``labels``, as imbalanced-learn does (``int(n_majority * ratio -
    n_minority)`` must be positive), saying the smallest ratio that adds rows to all."""
    if not isinstance(strategy, Real) or isinstance(strategy, bool):
        return
    needed = 0.0
    for y in labels:
        counts = np.sort(np.unique(y, return_counts=True)[1])
        if len(counts) != 2:
            return  # imblearn takes a ratio for two classes only, and says so
        if int(counts[1] * strategy - counts[0]) <= 0:
            needed = max(needed, (counts[0] + 1) / counts[1])
    if not needed:
        return
    smallest = math.ceil(needed * 1000) / 1000  # rounded up: it adds a row everywhere
    fix = (
        f"give a ratio from {smallest:.3f} to 1.0 (1.0 balances the classes)"
        if smallest <= 1
        else "the classes are balanced already"
    )
    where += " (or the inner split of one)" if len(labels) > 1 else ""
    raise ValueError(
        f"{name}: sampling_strategy={strategy} would add no minority rows to {where}, whose "
        f"minority-to-majority ratio is that high already, and over-sampling only adds rows: "
        f"{fix}"
    )


def _wanted(strategy, y, name):
    """imblearn's ``{class: rows to add}`` for ``strategy`` on labels ``y``; its ValueError
    prefixed with ``name``."""
    try:
        return check_sampling_strategy(strategy, y, "over-sampling")
    except ValueError as error:
        raise ValueError(f"{name}: sampling_strategy={strategy!r}: {error}") from None


def final_step(estimator):
    """The last step of a Pipeline, else the estimator itself."""
    steps = _steps(estimator)
    return steps[-1][1] if steps else estimator


def _steps(estimator):
    """A Pipeline's (name, step) list (imblearn's Pipeline is one too), else []: a sampler's
    own ``steps`` parameter (its training length) is not a list of steps."""
    return estimator.steps if isinstance(estimator, Pipeline) else []


def check_classifier(classifier, what="classifier"):
    """Refuse a classifier without ``fit``, ``predict`` and ``predict_proba`` (the metrics
    rank its scores), naming its class; ``what`` is the argument it was given as."""
    if isinstance(classifier, str):
        raise TypeError(
            f"{what} must be a scikit-learn classifier with predict_proba, got the text "
            f"{classifier!r} (names such as 'logreg' are the command line's: classifier=logreg)"
        )
    _refuse_a_class(classifier, what)
    final = final_step(classifier)
    wanted = ("fit", "predict", "predict_proba", "get_params")
    missing = [m for m in wanted if not hasattr(final, m)]
    if missing:
        raise TypeError(
            f"{what} {type(final).__name__} has no {', '.join(missing)}: synthbalance "
            "needs a scikit-learn classifier with predict_proba"
        )
    return check_params(classifier)


def default_ensemble():
    """The ``balanced_ensemble`` method's default: imbalanced-learn's
    BalancedRandomForestClassifier (Chen, Liaw & Breiman 2004), each tree grown on a bootstrap
    sample balanced by under-sampling every class to the minority's size."""
    from imblearn.ensemble import BalancedRandomForestClassifier

    return BalancedRandomForestClassifier(
        n_estimators=100, sampling_strategy="all", replacement=True, bootstrap=False, n_jobs=1
    )


def head_scores(classifier, X):
    """``{class: scores}`` from a classifier that decides every minority class against the
    base class with a head of its own, else None.

    Such a classifier declares it with ``heads_`` (the class of each head) and
    ``head_proba(X)`` (one column per head: the probability that a row is of the head's
    class rather than the base class), as ``MultiHeadClassifier`` does; the evaluation
    then scores class k on head k alone. In a Pipeline, the earlier steps transform ``X``.
    """
    final = final_step(classifier)
    if not hasattr(final, "head_proba"):
        return None
    if final is not classifier:
        X = classifier[:-1].transform(X)
    return dict(zip(list(final.heads_), final.head_proba(X).T, strict=True))


def with_base_class(estimator, base):
    """A clone of ``estimator`` whose unset ``base_class`` parameters (a multi-head model's)
    are the dataset's base class ``base``; one set to another class is a ValueError."""
    estimator = fill_unset(estimator, "base_class", base)
    given = {
        key: value
        for key, value in estimator.get_params().items()
        if (key == "base_class" or key.endswith("__base_class")) and str(value) != str(base)
    }
    if given:
        key, value = next(iter(given.items()))
        raise ValueError(
            f"the classifier's {key}={value!r} is not the dataset's base class {base!r}: "
            "every minority class is scored against the dataset's base class"
        )
    return estimator


def fill_unset(estimator, name, value):
    """A clone of ``estimator`` whose ``name`` parameters (nested ones included, as in a
    Pipeline) that are None are set to ``value``; the others are left as they are."""
    estimator = clone(estimator)
    unset = {
        key: value
        for key, current in estimator.get_params().items()
        if (key == name or key.endswith(f"__{name}")) and current is None
    }
    return estimator.set_params(**unset)


def fill_image_shape(estimator, image_shape, name):
    """``fill_unset`` of ``image_shape`` with the dataset's; a DataError prefixed with
    ``name`` for one already set to another shape, which would view the rows wrongly."""
    image_shape = tuple(image_shape)
    for key, current in estimator.get_params().items():
        if not (key == "image_shape" or key.endswith("__image_shape")) or current is None:
            continue
        if np.atleast_1d(np.asarray(current, dtype=object)).tolist() != list(image_shape):
            raise DataError(
                f"{name}: image_shape={current!r} is not the dataset's {image_shape}; leave it "
                "unset (None: the dataset's is used)"
            )
    return fill_unset(estimator, "image_shape", image_shape)


def with_seed(estimator, seed):
    """A clone of ``estimator`` whose unset ``random_state`` parameters are ``seed``."""
    return fill_unset(estimator, "random_state", seed)


def balanced(estimator, y):
    """``(estimator, fit_params)`` that train ``estimator`` on ``y`` with balanced class weights."""
    keys = [
        k for k in estimator.get_params() if k == "class_weight" or k.endswith("__class_weight")
    ]
    if keys:
        return estimator.set_params(**dict.fromkeys(keys, "balanced")), {}
    # No class_weight: balanced sample weights, routed to the last step of a Pipeline.
    steps = _steps(estimator)
    final = final_step(estimator)
    if not has_fit_parameter(final, "sample_weight"):
        raise ValueError(
            f"{type(final).__name__} takes neither class_weight nor sample_weight; "
            "remove class_weight from evaluation.methods"
        )
    key = f"{steps[-1][0]}__sample_weight" if steps else "sample_weight"
    return estimator, {key: compute_sample_weight("balanced", y)}


def one_hot_first(classifier, categorical, categories):
    """``classifier`` behind a one-hot encoding of the ``categorical`` columns (codes; their
    possible values ``categories`` come from the dataset, so a category missing from one
    training part still has its column). Numeric columns pass through unchanged."""
    steps = classifier.steps if isinstance(classifier, Pipeline) else [("classifier", classifier)]
    return Pipeline([("one_hot", one_hot_columns(categorical, categories)), *steps])


class PriorShifted:
    """A fitted classifier whose probabilities are moved from the class prior it was trained
    on to the real one: p'(c | x) is proportional to p(c | x) * prior_real(c) / prior_trained(c)
    (Saerens, Latinne & Decaestecker 2002); for two classes, the odds scaled by the ratio of
    real to augmented class frequencies. Over-sampling inflates the minority probability;
    this undoes the shift the synthetic rows caused, and predicts the most probable class.

    Parameters
    ----------
    classifier : fitted classifier with ``predict_proba`` and ``classes_``
    trained_on : array-like
        The labels it was trained on (real and synthetic rows).
    real : array-like
        The real training labels.
    """

    def __init__(self, classifier, trained_on, real):
        self.classifier = classifier
        self.classes_ = classifier.classes_
        trained = np.array([np.mean(np.asarray(trained_on) == c) for c in self.classes_])
        actual = np.array([np.mean(np.asarray(real) == c) for c in self.classes_])
        self.weights_ = np.divide(actual, trained, out=np.zeros_like(actual), where=trained > 0)

    def predict_proba(self, X):
        proba = self.classifier.predict_proba(X) * self.weights_
        return proba / np.maximum(proba.sum(axis=1, keepdims=True), 1e-300)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    @property
    def heads_(self):
        return final_step(self.classifier).heads_

    @available_if(lambda self: _base_of_heads(self) is not None)
    def head_proba(self, X):
        """A classifier with heads (``head_scores``): each head's odds against the base
        class scaled by the same ratio of priors, w_k / w_base."""
        index = {c: i for i, c in enumerate(self.classes_.tolist())}
        base = self.weights_[index[_base_of_heads(self)]]
        proba = np.column_stack(list(head_scores(self.classifier, X).values()))
        ratio = np.array([self.weights_[index[h]] for h in self.heads_]) / base
        return proba * ratio / (proba * ratio + 1 - proba)


def _base_of_heads(shifted):
    """The base class of a wrapped classifier with heads: its one class without a head."""
    final = final_step(shifted.classifier)
    if not hasattr(final, "head_proba"):
        return None
    rest = [c for c in shifted.classes_.tolist() if c not in set(list(final.heads_))]
    return rest[0] if len(rest) == 1 else None


def describe(estimator, name=None):
    """The ``{"name", "class", "params"}`` block of report.json for an estimator given as an
    object (the Python API): its class, and the parameters set to other values than their
    defaults (``get_params(deep=False)``, as scikit-learn's repr shows them)."""
    cls = type(estimator)
    try:
        defaults = cls().get_params(deep=False)
    except TypeError:  # an __init__ with required arguments: every parameter is shown
        defaults = {}
    params = {
        key: _jsonable(value)
        for key, value in estimator.get_params(deep=False).items()
        if key not in defaults or _differs(value, defaults[key])
    }
    return {
        "name": name or type(final_step(estimator)).__name__,
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "params": params,
    }


def _jsonable(value):
    """``value`` as JSON can hold it: containers element by element, numpy scalars and arrays
    as numbers and lists, anything else (an estimator in a Pipeline's steps) as its repr."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _differs(value, default):
    try:
        return bool(value != default)
    except (TypeError, ValueError):  # arrays and estimators compare element-wise or not at all
        return value is not default
