"""report.json's schema: its name, the fields every report has, and the check that a loaded
JSON document is one. Fields may be added to the schema, none renamed."""

from importlib.metadata import version

SCHEMA = "synthbalance/report-v1"
# The fields of every report-v1 (DESIGN.md), in the order report.json writes them.
FIELDS = (
    "schema", "dataset", "generator", "classifier", "protocol", "folds", "summary",
    "comparisons", "config",
)  # fmt: skip
# What a comparison across runs reads of each report.
COMPARED_FIELDS = ("schema", "dataset", "generator", "classifier", "summary", "comparisons")
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


def check_report(report, where="report", fields=FIELDS):
    """Refuse, naming ``where``, a document that is not a report-v1 with ``fields``; return
    it."""
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
