"""The config keys behind a bad value: errors of the objects built from a composed config,
reworded to name the key the user typed (``evaluation.n_splits``, not ``Protocol``'s
``n_splits``)."""

import contextlib
import dataclasses
import re

from hydra.errors import InstantiationException
from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

# scikit-learn's message for a value that breaks a declared constraint
# (sklearn.utils._param_validation.validate_parameter_constraints).
_INVALID = re.compile(
    r"The '(?P<name>\w+)' parameter of (?P<caller>[\w.]+) must be (?P<rule>.+)\. "
    r"Got (?P<value>.+) instead\.",
    re.DOTALL,
)

# What builds the evaluation block of the config (``app.protocol_from_config``).
EVALUATION_SECTIONS = {
    "Protocol": "evaluation",
    "ThresholdTuning": "evaluation.threshold",
    "QualityCheck": "evaluation.quality",
    "OpenSetCheck": "evaluation.open_set",
}
# Parameters that come from a top-level key, not from their caller's section.
TOP_LEVEL = {("Protocol", "seed"): "seed", ("export_dataset", "seed"): "seed"}


class ConfigError(ValueError):
    """A config value its key does not allow; the message names the key."""


def validate_fields(instance, constraints):
    """Check a settings dataclass ``instance``'s fields against ``constraints``
    (scikit-learn's declared rules): a ValueError naming the parameter, its value and what
    it must be. ``True`` is not a count: scikit-learn's Integral admits a bool, here only a
    ``"boolean"`` field does."""
    params = {
        f.name: _NotANumber(value)
        if isinstance(value := getattr(instance, f.name), bool)
        and "boolean" not in constraints.get(f.name, ())
        else value
        for f in dataclasses.fields(instance)
    }
    validate_parameter_constraints(
        {k: v for k, v in constraints.items() if k in params}, params, type(instance).__name__
    )


class _NotANumber:
    """A bool given where a number belongs: meets no constraint, reads as the bool."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return repr(self.value)


def check_settings(given, names, key, error=ConfigError):
    """Refuse keys of ``given`` (a dict or config node) that are not ``names`` (a settings
    dataclass's fields, say), naming them and the settings ``key`` has, as ``error``."""
    if unknown := [name for name in given if name not in names]:
        raise error(f"{key} has no setting {unknown}; its settings are {', '.join(names)}")


def sections(cfg, groups=("dataset", "generator", "classifier")):
    """``{caller: config section}`` for the objects a run builds from ``cfg``: the class or
    function each ``_target_`` of ``groups`` names (and of ``evaluation.ensemble``), and the
    evaluation's dataclasses."""
    found = dict(EVALUATION_SECTIONS)
    ensemble = (cfg.get("evaluation") or {}).get("ensemble") or {}
    if ensemble.get("_target_"):  # the balanced_ensemble method's model
        found[ensemble["_target_"].rsplit(".", 1)[-1]] = "evaluation.ensemble"
    for group in groups:
        target = cfg.get(group, {}).get("_target_")
        if target:
            found[target.rsplit(".", 1)[-1]] = group
    return found


@contextlib.contextmanager
def naming_config_keys(callers):
    """Reword scikit-learn's ``InvalidParameterError`` raised in the block ("The 'n_splits'
    parameter of Protocol must be an int in the range [2, inf). Got 'abc' instead.") into a
    ``ConfigError`` naming the config key: "evaluation.n_splits must be an int in the range
    [2, inf); got 'abc'". ``callers`` maps a class or function name to its config section;
    errors of others are left as they are."""
    try:
        yield
    except (InvalidParameterError, InstantiationException) as error:
        cause = error
        while isinstance(cause, InstantiationException) and cause.__cause__ is not None:
            cause = cause.__cause__
        found = _INVALID.fullmatch(str(cause)) if isinstance(cause, InvalidParameterError) else None
        if found is None:
            raise
        name, caller = found["name"], found["caller"]
        key = TOP_LEVEL.get((caller, name))
        if key is None and caller not in callers:
            raise
        key = key or f"{callers[caller]}.{name}"
        raise ConfigError(f"{key} must be {found['rule']}; got {found['value']}") from error
