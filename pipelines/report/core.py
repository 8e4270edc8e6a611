"""``Report``: one run's report.json content as an object, with DataFrames, the best method,
figures, a notebook view, and the files the CLI writes."""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from synthbalance.pipelines.io import staged_files, write_text
from synthbalance.pipelines.methods import METHODS
from synthbalance.pipelines.metrics import METRICS, sign
from synthbalance.pipelines.report import figures
from synthbalance.pipelines.report.build import compare_methods
from synthbalance.pipelines.report.html import HTML_FILE, render_fragment, render_html
from synthbalance.pipelines.report.markdown import render_markdown
from synthbalance.pipelines.report.schema import check_report, primary_class
from synthbalance.pipelines.report.text import headline, method_label

REPORT_FILE = "report.json"


@dataclass(frozen=True)
class Best:
    """The best method for a metric, and how it compares with the runner-up.

    ``comparison`` is the paired comparison of ``method`` against ``runner_up`` on the same
    folds (``delta_mean``, ``ci_low``, ``ci_high``, ``p_value``, ``verdict``, …): "improves"
    means the best is better beyond doubt, "equivalent" that the two are interchangeable.
    """

    metric: str
    method: str
    label: str
    mean: float
    runner_up: str | None
    comparison: dict | None

    def __str__(self):
        text = f"{self.metric}: {self.label} ({self.mean:.3f})"
        if self.comparison is not None:
            c = self.comparison
            text += (
                f"; against the runner-up ({self.runner_up}): {c['verdict']} "
                f"({c['delta_mean']:+.3f}, CI {c['ci_low']:+.3f} to {c['ci_high']:+.3f})"
            )
        return text


class Report:
    """One evaluation run: what report.json holds, as ``data``.

    Parameters
    ----------
    data : dict
        report.json's content (schema ``synthbalance/report-v1``).
    samples : (real, synthetic) arrays, optional
        Minority rows of the first fold's generator fit, for the sample grid of image runs
        and the sample scatter of tabular ones.
    """

    def __init__(self, data, samples=None, source=None):
        self.data = check_report(data, where=str(source or "report"))
        self.samples = samples
        self._source = Path(source) if source is not None else None

    @classmethod
    def load(cls, path):
        """The report in ``path`` (a report.json, or a run directory holding one)."""
        path = Path(path)
        if path.is_dir():
            path = path / REPORT_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ValueError(f"{path}: cannot read the report ({error.strerror})") from None
        except ValueError as error:
            raise ValueError(f"{path}: not valid JSON ({error})") from None
        return cls(data, source=path)

    @property
    def name(self):
        return self.data["generator"]["name"]

    @property
    def headline(self):
        """The answer in plain sentences (report.md's opening)."""
        return headline(self.data)

    @property
    def verdicts(self):
        """One row per comparison: method, versus, metric, class, the mean delta with its
        95 % CI, the corrected t-test's p, the verdict, the minimum detectable effect (80 %
        power) and the Bayesian probabilities."""
        columns = ["method", "versus", "metric", "class", "delta_mean", "ci_low", "ci_high",
                   "p_value", "verdict", "mde", "p_better", "p_rope", "p_worse"]  # fmt: skip
        frame = pd.DataFrame(self.data["comparisons"]).reindex(columns=columns)
        return frame.rename(columns={"delta_mean": "delta", "p_value": "p"})

    @property
    def scores(self):
        """Mean and sd over folds of every metric of every method (and minority class)."""
        rows = []
        summaries = {primary_class(self.data): self.data["summary"]}
        summaries.update(self.data.get("summary_by_class", {}))
        for class_, summary in summaries.items():
            for method, metrics in summary.items():
                for metric, stat in metrics.items():
                    rows.append({"class": class_, "method": method, "metric": metric, **stat})
        return pd.DataFrame(rows)

    @property
    def folds(self):
        """One row per fold and method: its sizes, metrics, timings and quality metrics."""
        rows = []
        for r in self.data["folds"]:
            row = {k: r.get(k) for k in ("repeat", "fold", "method", "n_train", "n_test",
                                         "n_synthetic", "threshold")}  # fmt: skip
            row.update(r["metrics"])
            row.update({f"seconds_{k}": v for k, v in r["seconds"].items()})
            row.update({f"quality_{k}": v for k, v in (r.get("quality") or {}).items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def best(self, metric="f1"):
        """The method with the best mean ``metric`` (the lowest for the calibration
        metrics), with its comparison against the runner-up on the same folds (``Best``)."""
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; choose from {list(METRICS)}")
        summary = self.data["summary"]
        ranked = sorted(
            (m for m in METHODS if m in summary),
            key=lambda m: (-sign(metric) * summary[m][metric]["mean"], METHODS.index(m)),
        )
        best, runner_up = ranked[0], (ranked[1] if len(ranked) > 1 else None)
        comparison = None
        if runner_up is not None:
            comparison = compare_methods(
                self.data["folds"], best, runner_up, metric, self.data["protocol"]
            )
        return Best(metric, best, method_label(self.data, best), summary[best][metric]["mean"],
                    runner_up, comparison)  # fmt: skip

    def plot(self):
        """The forest plot of the comparisons (matplotlib figure)."""
        return figures.forest_figure(self.data)

    def to_markdown(self):
        return render_markdown(self.data)

    def to_html(self):
        """report.html's content: one self-contained page."""
        return render_html(self.data, self._source_directory(), self.samples)

    def _repr_html_(self):
        return render_fragment(self.data, self._source_directory(), self.samples)

    def _source_directory(self):
        """The directory the report was loaded from, where its figures are."""
        return self._source.parent if self._source is not None else None

    def __repr__(self):
        return f"<Report {self.name} on {self.data['dataset']['name']}: {self.headline}>"

    def save(self, directory):
        """Write the figures, report.md, report.html and, last, report.json into
        ``directory``; returns report.json's path. A reader never sees half a file, a run
        directory without report.json is a run that did not finish, and a save that fails
        part-way adds none of its files."""
        directory = Path(directory)
        with staged_files(directory, last=REPORT_FILE) as stage:
            figures.write(figures.forest_figure(self.data), stage / figures.FOREST)
            if found := figures.selections(self.data):
                figures.write(figures.selection_figure(found), stage / figures.SELECTION)
            if self.data.get("calibration"):
                figures.write(figures.reliability_figure(self.data), stage / figures.RELIABILITY)
            for name, draw in figures.sample_figures(self.data, self.samples).items():
                self._write_samples(stage / name, draw)
            write_text(stage / "report.md", render_markdown(self.data))
            write_text(stage / HTML_FILE, render_html(self.data, stage))
            write_text(stage / REPORT_FILE, json.dumps(self.data, indent=1, default=str) + "\n")
        return directory / REPORT_FILE

    def _write_samples(self, path, draw):
        """Draw a sample figure from ``samples``, or copy the one of the run loaded."""
        if draw is not None:
            figures.write(draw(), path)
        elif self._source is not None and (self._source.parent / path.name).is_file():
            shutil.copyfile(self._source.parent / path.name, path)
