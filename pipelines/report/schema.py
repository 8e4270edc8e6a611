"""report.json's schema: its name, the fields every report has, and the check that a loaded
JSON document is one. Fields may be added to the schema, none renamed."""

import json
from importlib.metadata import version

from synthbalance.pipelines.methods import METHODS
from synthbalance.pipelines.metrics import HEADLINE
from synthbalance.pipelines.stats import VERDICTS

SCHEMA = "synthbalance/report-v1"
# The fields of every report-v1 (DESIGN.md), in the order report.json writes them.
FIELDS = (
    "schema", "dataset", "generator", "classifier", "protocol", "folds", "summary",
    "comparisons", "config",
)  # fmt: skip
# What a comparison across runs reads of each report.
COMPARED_FIELDS = (
    "schema", "dataset", "generator", "classifier", "protocol", "summary", "comparisons",
)  # fmt: skip
# The fields some reports add: summary_by_class (several minority classes), quality (when
# measured), calibration (reliability-diagram bins per method), diagnostics (what the
# generator said of its fits: a VAE's active latent units), config_sha256 (runs of the
# CLI), sample_grid (image runs), sample_scatter (tabular runs: the scatter's file and the
# two features it draws), open_set (datasets with unknown classes).
OPTIONAL_FIELDS = (
    "summary_by_class", "quality", "calibration", "diagnostics", "config_sha256", "sample_grid",
    "sample_scatter", "open_set",
)  # fmt: skip
# What a sample_scatter block holds (``scatter.informative_features``): the figure's file,
# the two features drawn, best first, their columns and mutual information with the label,
# and the number of rows they were ranked on.
SCATTER_FIELDS = ("file", "features", "columns", "mutual_information", "ranked_on")
# The comparisons' "class" of the macro average over several minority classes.
MACRO = "macro"


class NotAReport(ValueError):
    """A JSON document that is not a complete synthbalance report."""


class _Damaged(ValueError):
    """A field of a report that does not hold what report-v1 says (a hand-edited file)."""


def _shown(value):
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _object(value, path):
    if not isinstance(value, dict):
        raise _Damaged(f"{path} is {_shown(value)}, not an object")
    return value


def _field(block, key, path):
    if key not in block:
        raise _Damaged(f"{path} has no {key!r}")
    return block[key]


def _string(value, path):
    if not isinstance(value, str):
        raise _Damaged(f"{path} is {_shown(value)}, not a string")


def _integer(value, path):
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Damaged(f"{path} is {_shown(value)}, not an integer")


def _number(value, path, null=False):
    """A JSON number (NaN and infinities included: json writes them), or null if ``null``."""
    if null and value is None:
        return
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _Damaged(f"{path} is {_shown(value)}, not a number")


def _one_of(value, choices, path):
    if value not in choices:
        raise _Damaged(f"{path} is {_shown(value)}, not one of {', '.join(choices)}")


def _dataset(block, path):
    _string(_field(block, "name", path), f"{path}.name")
    if "n_samples" in block:
        _integer(block["n_samples"], f"{path}.n_samples")
    for label, count in _object(block.get("classes", {}), f"{path}.classes").items():
        _integer(count, f"{path}.classes.{label}")


def _named(block, path):
    """The generator or classifier block: its name and parameters."""
    _string(_field(block, "name", path), f"{path}.name")
    _object(block.get("params", {}), f"{path}.params")


def _protocol(block, path):
    for key in ("n_splits", "n_repeats", "seed"):
        _integer(_field(block, key, path), f"{path}.{key}")
    _number(_field(block, "rope", path), f"{path}.rope")


def _summary(block, path):
    """``{method: {metric: {"mean", "std"}}}``, every method with the headline metrics."""
    if not block:
        raise _Damaged(f"{path} is empty")
    for method, metrics in block.items():
        _one_of(method, METHODS, f"a method of {path}")
        metrics = _object(metrics, f"{path}.{method}")
        for metric in HEADLINE:
            _field(metrics, metric, f"{path}.{method}")
        for metric, stat in metrics.items():
            where = f"{path}.{method}.{metric}"
            _number(_field(_object(stat, where), "mean", where), f"{where}.mean")


def _summary_by_class(block, path):
    for class_, summary in block.items():
        _summary(_object(summary, f"{path}.{class_}"), f"{path}.{class_}")


def _comparisons(block, path):
    if not isinstance(block, list):
        raise _Damaged(f"{path} is {_shown(block)}, not a list")
    for i, comparison in enumerate(block):
        where = f"{path}[{i}]"
        comparison = _object(comparison, where)
        for key in ("method", "versus"):
            _one_of(_field(comparison, key, where), METHODS, f"{where}.{key}")
        _string(_field(comparison, "metric", where), f"{where}.metric")
        for key in ("delta_mean", "ci_low", "ci_high"):
            _number(_field(comparison, key, where), f"{where}.{key}")
        _number(_field(comparison, "p_value", where), f"{where}.p_value", null=True)
        _one_of(_field(comparison, "verdict", where), VERDICTS, f"{where}.verdict")


def _folds(block, path):
    if not isinstance(block, list):
        raise _Damaged(f"{path} is {_shown(block)}, not a list")
    for i, record in enumerate(block):
        where = f"{path}[{i}]"
        record = _object(record, where)
        _one_of(_field(record, "method", where), METHODS, f"{where}.method")
        for key in ("repeat", "fold"):
            _integer(_field(record, key, where), f"{where}.{key}")
        for key in ("metrics", "seconds"):
            _object(_field(record, key, where), f"{where}.{key}")


def _quality(block, path):
    for name, stat in block.items():
        where = f"{path}.{name}"
        _number(_field(_object(stat, where), "mean", where), f"{where}.mean", null=True)


# What each field that is read holds, checked wherever it is present: a block (an object)
# unless its check says otherwise.
_CHECKS = {
    "dataset": _dataset, "generator": _named, "classifier": _named, "protocol": _protocol,
    "folds": _folds, "summary": _summary, "summary_by_class": _summary_by_class,
    "comparisons": _comparisons, "quality": _quality,
}  # fmt: skip
_LISTS = frozenset({"folds", "comparisons"})


def check_report(report, where="report", fields=FIELDS):
    """Refuse, naming ``where``, a document that is not a report-v1 with ``fields``, or
    one whose fields do not hold what report-v1 says (``_CHECKS``, naming the field: a
    hand-edited ``summary.baseline`` without ``f1``); return it."""
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        found = report.get("schema") if isinstance(report, dict) else type(report).__name__
        if isinstance(found, str) and found.startswith(SCHEMA.rsplit("-", 1)[0] + "-"):
            raise NotAReport(
                f"{where}: a synthbalance report of schema {found!r}, which this version "
                f"({version('synthbalance')}) does not read: it reads {SCHEMA!r}"
            )
        raise NotAReport(f"{where}: not a synthbalance report (schema {found!r}, not {SCHEMA!r})")
    missing = [field for field in fields if field not in report]
    if missing:
        raise NotAReport(f"{where}: an incomplete synthbalance report, without {missing}")
    if "folds" in fields and not report["folds"]:
        raise NotAReport(f"{where}: a synthbalance report without folds")
    try:
        for field, check in _CHECKS.items():
            if report.get(field) is not None or field in fields:
                value = report[field]
                check(value if field in _LISTS else _object(value, field), field)
    except _Damaged as error:
        raise NotAReport(f"{where}: a damaged synthbalance report: {error}") from None
    scatter = report.get("sample_scatter")
    if scatter is not None and not (
        isinstance(scatter, dict)
        and all(key in scatter for key in SCATTER_FIELDS)
        and len(scatter["features"]) == len(scatter["columns"]) == 2
    ):
        raise NotAReport(f"{where}: its sample_scatter is not {SCATTER_FIELDS} of two features")
    return report


def primary_class(report):
    """The ``class`` of the comparisons a report's headline speaks about: the minority
    class, or ``MACRO`` with several."""
    minority = report["dataset"].get("minority")
    return MACRO if isinstance(minority, list) else str(minority)
