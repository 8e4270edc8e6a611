"""One run's report: built once (``build``), read by every renderer (``markdown``,
``figures``, ``Report``)."""

from synthbalance.pipelines.report.build import build_report, find_comparison
from synthbalance.pipelines.report.core import Best, Report
from synthbalance.pipelines.report.schema import MACRO, SCHEMA, NotAReport, check_report

__all__ = [
    "MACRO",
    "SCHEMA",
    "Best",
    "NotAReport",
    "Report",
    "build_report",
    "check_report",
    "find_comparison",
]
