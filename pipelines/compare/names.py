"""What to call each run in a comparison: its generator (and classifier), plus the parameters
that a sweep varied among runs of the same generator (``vae(latent_dim=4)``, ``smote@0.5``)."""

import json
from collections import defaultdict


def _amount(report):
    """``sampling_strategy`` of the run's generator, when it is a number (else None)."""
    value = report["generator"].get("params", {}).get("sampling_strategy")
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


# A parameter some runs' reports do not have (written before it existed): shown as "?".
_MISSING = "?"


def _canonical(value):
    """``value`` with equal numbers spelled alike: ``1``, ``1.0`` and ``1.00`` are all ``1``
    (Hydra reads ``=1`` as an int and ``=1.0`` as a float), also inside lists and dicts."""
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) if float(value).is_integer() else float(value)
    return value


def _shown(params, key):
    """How ``key``'s value reads in a method name."""
    if key not in params:
        return _MISSING
    value = _canonical(params[key])
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


# Parameters that name no setting: filled in from each dataset, or only about where and how
# verbosely a run executes.
UNNAMED_PARAMS = frozenset({"categorical_features", "image_shape", "device", "n_jobs", "verbose"})


def _swept_names(runs, amount=None):
    """Names for ``runs``, ``[(group, name, params)]``, in order: ``name`` plus the
    parameters whose values differ among the group's runs (a sweep over them), e.g.
    ``vae(latent_dim=4)``, on every dataset alike so that one setting pairs up across
    datasets; a swept ``amount`` parameter goes after an ``@``: ``smote@0.5``. Equal numbers
    are equal however they are spelled (``1`` and ``1.0``); ``UNNAMED_PARAMS`` name
    nothing."""
    keys = defaultdict(set)  # every parameter any run of the group has
    for group, _, params in runs:
        keys[group] |= set(params) - UNNAMED_PARAMS
    values = defaultdict(set)  # (group, parameter) -> values, "?" where a run lacks it
    for group, _, params in runs:
        for key in keys[group]:
            values[group, key].add(_shown(params, key))
    names = []
    for group, name, params in runs:
        keys_ = sorted(k for k in keys[group] if len(values[group, k]) > 1)
        shown = [f"{k}={_shown(params, k)}" for k in keys_ if k != amount]
        label = f"{name}({', '.join(shown)})" if shown else name
        if amount in keys_:
            label += f"@{_shown(params, amount)}"
        names.append(label)
    return names


def run_names(reports):
    """``{run: (classifier, method)}`` for ``reports``, ``[(run, report)]``: each the name of
    the run's classifier or generator plus the parameters swept over (``_swept_names``):
    ``logreg(C=0.1)``, ``vae(latent_dim=4)``, and a swept ``sampling_strategy`` (the amount
    of synthetic data) as ``smote@0.5``."""
    # report.json records a classifier's ``scale`` only when it is on
    classifiers = _swept_names(
        [
            (r["classifier"]["name"], r["classifier"]["name"],
             {"scale": False, **r["classifier"].get("params", {})})
            for _, r in reports
        ]
    )  # fmt: skip
    methods = _swept_names(
        [
            ((classifier, r["generator"]["name"]), r["generator"]["name"],
             r["generator"].get("params", {}))
            for classifier, (_, r) in zip(classifiers, reports, strict=True)
        ],
        amount="sampling_strategy",
    )  # fmt: skip
    return {
        run: names
        for (run, _), names in zip(reports, zip(classifiers, methods, strict=True), strict=True)
    }
