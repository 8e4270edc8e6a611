"""Aggregate the reports of runs and sweeps into one table: comparison.md and comparison.csv."""

import json
from pathlib import Path

import pandas as pd

from .datasets import DataError
from .io import atomic_path, write_text
from .metrics import HEADLINE, LABELS, METRICS
from .report import SCHEMA, markdown_table


def find_reports(directories):
    """Every complete report.json under the given run or sweep directories."""
    paths = []
    for directory in map(Path, directories):
        if not directory.is_dir():
            raise DataError(f"{directory}: no such directory")
        paths += sorted(directory.rglob("report.json"))
    reports = []
    for path in dict.fromkeys(p.resolve() for p in paths):
        report = json.loads(path.read_text())
        if report.get("schema") == SCHEMA:
            reports.append((path, report))
    if not reports:
        raise DataError(f"no report.json under {', '.join(map(str, directories))}")
    return reports


def comparison_table(reports):
    """One row per (dataset, generator, classifier): deltas vs baseline, CI and verdict."""
    rows = []
    for path, report in reports:
        row = {
            "dataset": report["dataset"]["name"],
            "generator": report["generator"]["name"],
            "classifier": report["classifier"]["name"],
        }
        for c in report["comparisons"]:
            if c["method"] == "augmented" and c["versus"] == "baseline":
                for field in ("delta_mean", "ci_low", "ci_high", "p_value", "verdict"):
                    row[f"{c['metric']}_{field}"] = c[field]
        row["run"] = str(path.parent)
        rows.append(row)
    table = pd.DataFrame(rows)
    order = [f"{m}_delta_mean" for m in HEADLINE]
    return table.sort_values(
        ["dataset", "classifier", *order], ascending=[True, True, False, False], ignore_index=True
    )


def _cell(row, metric):
    return (
        f"{row[f'{metric}_delta_mean']:+.3f} [{row[f'{metric}_ci_low']:+.3f}, "
        f"{row[f'{metric}_ci_high']:+.3f}] {row[f'{metric}_verdict']}"
    )


def render_markdown(table):
    header = ["dataset", "classifier", "generator", *(f"\u0394 {LABELS[m]}" for m in HEADLINE)]
    rows = [
        [row["dataset"], row["classifier"], row["generator"], *(_cell(row, m) for m in HEADLINE)]
        for _, row in table.iterrows()
    ]
    return (
        "# synthbalance comparison\n\n"
        f"{len(table)} runs. Deltas are augmented \u2212 baseline with 95 % CI (corrected "
        "resampled t-test) and verdict; best generator first within each dataset. "
        f"All metrics ({', '.join(METRICS)}) are in comparison.csv.\n\n"
        + markdown_table(header, rows)
        + "\n"
    )


def write_comparison(directories, out):
    table = comparison_table(find_reports(directories))
    out = Path(out)
    with atomic_path(out / "comparison.csv") as tmp:
        table.to_csv(tmp, index=False)
    write_text(out / "comparison.md", render_markdown(table))
    return table
