"""Build generators and classifiers from their config groups via ``_target_``."""

from numbers import Integral

import numpy as np
from hydra.utils import instantiate
from imblearn.over_sampling import SMOTE, SMOTEN, SMOTENC, RandomOverSampler
from omegaconf import OmegaConf
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from synthbalance.pipelines.dataset import DataError, class_list
from synthbalance.pipelines.estimators import check_features, fill_image_shape, fill_unset

# Samplers that copy rows or treat every feature as categorical: categories stay valid.
_CATEGORY_SAFE = (RandomOverSampler, SMOTEN)


def build(cfg):
    """Instantiate a ``generator`` or ``classifier`` config node.

    The node is ``_target_`` and its arguments plus two keys of ours: ``name`` (how reports
    call it) and, for classifiers, ``scale`` (put a StandardScaler in front, fitted on
    whatever training data the estimator is given).

    Returns
    -------
    estimator, description : object, dict
        ``description`` is the ``{"name", "class", "params"}`` block of report.json.
    """
    node = OmegaConf.to_container(cfg, resolve=True)
    name = node.pop("name")
    scale = node.pop("scale", False)
    # plain containers, not DictConfig: imblearn tests sampling_strategy for dict and list
    estimator = instantiate({"_convert_": "all", **node})
    if scale:
        estimator = make_pipeline(StandardScaler(), estimator)
    params = {key: value for key, value in node.items() if not key.startswith("_")}
    if scale:
        params["scale"] = True
    return estimator, {"name": name, "class": node["_target_"], "params": params}


def for_dataset(generator, description, dataset):
    """``generator`` set up for ``dataset``'s features: the image shape, the categorical
    columns (as ``categorical_features``), and imblearn's SMOTE replaced by ``SMOTENC``
    (``SMOTEN`` when every feature is categorical) for data with categorical columns.

    Returns ``(generator, description)``; the description names the class actually used.
    Raises DataError for a generator that cannot handle the features.
    """
    if dataset.image_shape is not None:  # image models learn the shape from the data
        generator = fill_image_shape(
            generator, dataset.image_shape, f"generator {description['name']!r}"
        )
    generator = check_sampling_strategy(generator, dataset)
    generator = _check_categorical_features(generator, dataset, description["name"])
    categorical, name = dataset.categorical_indices, description["name"]
    all_categorical = len(categorical) == dataset.X.shape[1]
    if type(generator) is SMOTE and categorical:
        params = generator.get_params()
        kept = {k: params[k] for k in ("sampling_strategy", "k_neighbors", "random_state")}
        generator = SMOTEN(**kept) if all_categorical else SMOTENC(categorical, **kept)
        description = {**description, "class": f"imblearn.over_sampling.{type(generator).__name__}"}
    elif isinstance(generator, SMOTENC):
        if not categorical or all_categorical:
            kind = "no categorical" if not categorical else "only categorical"
            raise DataError(
                f"generator {name!r} (SMOTENC) needs numeric and categorical features; "
                f"dataset {dataset.name!r} has {kind} features: use generator=smote"
            )
        generator = fill_unset(generator, "categorical_features", categorical)
    elif "categorical_features" in generator.get_params():
        if categorical:
            generator = fill_unset(generator, "categorical_features", categorical)
    elif categorical and not isinstance(generator, _CATEGORY_SAFE):
        raise DataError(
            f"generator {name!r} cannot handle the categorical columns "
            f"{list(dataset.categorical)} of dataset {dataset.name!r}: use smote (SMOTENC), "
            "ros or a torch generator"
        )
    check_features(generator, dataset.X.shape[1], f"generator {name!r}")
    if "categorical_features" in generator.get_params():
        used = generator.get_params()["categorical_features"]
        params = {**description.get("params", {}), "categorical_features": used}
        description = {**description, "params": params}
    return generator, description


def _check_categorical_features(generator, dataset, name):
    """``generator`` with ``categorical_features="auto"`` set to the data's categorical
    columns (folds hand samplers arrays, whose dtypes say nothing), and a DataError for
    columns given that are not the data's categorical ones: a numeric column would be read
    as categories, a categorical one left out would have its codes interpolated."""
    given = generator.get_params().get("categorical_features")
    if given is None:
        return generator
    categorical = list(dataset.categorical_indices)
    if isinstance(given, str) and given == "auto":
        return clone(generator).set_params(categorical_features=categorical or None)
    columns, values = list(dataset.X.columns), np.atleast_1d(np.asarray(given, dtype=object))
    if len(values) and all(isinstance(v, bool | np.bool_) for v in values):
        if len(values) != len(columns):
            raise DataError(
                f"generator {name!r}: categorical_features={given!r} is a mask of "
                f"{len(values)} values for the data's {len(columns)} columns"
            )
        indices = [i for i, v in enumerate(values) if v]
    else:
        positions = [v for v in values if isinstance(v, Integral)]  # as imblearn reads them
        outside = [int(v) for v in positions if not -len(columns) <= v < len(columns)]
        unknown = [v for v in values if not isinstance(v, Integral) and v not in columns]
        if outside or unknown:
            what = (
                f"positions {outside} outside the data's {len(columns)} columns"
                if outside
                else f"columns {unknown} the data does not have (its columns: "
                f"{', '.join(map(str, columns))})"
            )
            raise DataError(f"generator {name!r}: categorical_features={given!r} names {what}")
        indices = [
            int(v) % len(columns) if isinstance(v, Integral) else columns.index(v) for v in values
        ]
    if sorted(set(indices)) != categorical:
        raise DataError(
            f"generator {name!r}: categorical_features={given!r} are the columns "
            f"{[columns[i] for i in sorted(set(indices))]}, but the data's categorical columns "
            f"are {list(dataset.categorical)}; leave categorical_features unset (it is filled "
            "from the data), or declare the columns categorical (categorical=[...] in Python, "
            "dataset.categorical=[...] on the command line)"
        )
    if not categorical:  # [] for data without categorical columns
        return generator
    # as indices: the folds' arrays have no names, and a mask or -1 reads the same
    return clone(generator).set_params(categorical_features=categorical)


def check_sampling_strategy(generator, dataset):
    """``generator`` with the classes its ``sampling_strategy`` names as the dataset's
    labels (configs may give ``"1"`` for ``1``); unknown classes are a DataError."""
    strategy = generator.get_params().get("sampling_strategy")
    if not isinstance(strategy, dict | list | tuple):
        return generator
    labels = {str(label): label for label in dataset.class_counts}
    unknown = [c for c in strategy if str(c) not in labels]
    if unknown:
        raise DataError(
            f"sampling_strategy names classes {unknown} that dataset {dataset.name!r} does "
            f"not have; its classes are {class_list(dataset.class_counts)}"
        )
    if isinstance(strategy, dict):
        strategy = {labels[str(c)]: n for c, n in strategy.items()}
    else:
        strategy = [labels[str(c)] for c in strategy]
    return clone(generator).set_params(sampling_strategy=strategy)
