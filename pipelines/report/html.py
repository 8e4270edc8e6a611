"""report.html: one self-contained page (inline CSS, figures embedded as base64 PNG) rendered
from the Jinja2 templates in ``templates/``. The answer comes first, then the forest plot,
the scores, every comparison (folded), the generator's quality with its diagnosis, the
samples, checkpoint selection, calibration and the provenance. Like report.md it only reads
what ``build`` wrote."""

import base64
import datetime
import io
import json
from functools import cache
from pathlib import Path

from synthbalance.pipelines.io import plain_text, pyplot
from synthbalance.pipelines.methods import REGISTRY
from synthbalance.pipelines.metrics import CALIBRATION, HEADLINE, LABELS, METRICS, sign
from synthbalance.pipelines.report import figures
from synthbalance.pipelines.report.diagnosis import diagnose, diagnosis_text
from synthbalance.pipelines.report.schema import MACRO, primary_class
from synthbalance.pipelines.report.text import (
    QUALITY_LABELS,
    VERDICT_RULES,
    answer_lines,
    crowding_note,
    few_rows_note,
    held_out_rows,
    interval,
    mean_sd,
    method_label,
    protocol_text,
    question,
    scatter_caption,
    seeds_note,
    selection_summary,
    undetected,
)

HTML_FILE = "report.html"
# The forest plot is drawn anew for the page, one panel per headline metric side by side,
# each this wide and at most this tall (inches at 100 dpi), so that the answer and the whole
# plot fit a 1280 x 800 screen.
FOREST_SIZE = (6.4, 5.2)


@cache
def environment():
    """The Jinja2 environment of synthbalance's templates (report and comparison pages)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("synthbalance.pipelines.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template, **context):
    return environment().get_template(template).render(**context)


def png_uri(data):
    """``data`` (PNG bytes) as a ``data:`` URI for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


@plain_text
def figure_uri(fig, dpi=100, *, whole=False):
    """A matplotlib figure as a PNG ``data:`` URI (the figure is freed). ``whole``: grow the
    image to hold whatever is drawn outside the axes (as ``io.save_figure``)."""
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight" if whole else None)
    pyplot().close(fig)
    return png_uri(buffer.getvalue())


def forest_uris(report):
    """``figures.forest_figure`` of each headline metric, sized for the page's first screen
    and untitled: the page's heading names the generator and dataset."""
    uris = []
    for metric in HEADLINE:
        fig = figures.forest_figure(report, metrics=(metric,), title=False)
        height = fig.get_size_inches()[1]
        fig.set_size_inches(FOREST_SIZE[0], min(height, FOREST_SIZE[1]))
        uris.append(figure_uri(fig, whole=True))  # the verdicts right of the axes
    return uris


def images(report, directory=None, samples=None):
    """``{file name: data URI}`` of the report's figures besides the forest plot: read from
    ``directory`` where ``Report.save`` wrote them, else drawn here (the sample grid or
    scatter from ``samples``, the ``(real, synthetic)`` minority rows)."""
    drawn = {}
    if found := figures.selections(report):
        drawn[figures.SELECTION] = lambda: figures.selection_figure(found)
    if report.get("calibration"):
        drawn[figures.RELIABILITY] = lambda: figures.reliability_figure(report)
    drawn.update(figures.sample_figures(report, samples))
    result = {}
    for name, draw in drawn.items():
        path = Path(directory) / name if directory is not None else None
        if path is not None and path.is_file():
            result[name] = png_uri(path.read_bytes())
        elif draw is not None:
            result[name] = figure_uri(draw())
    return result


def _scores(report, summary, metrics=METRICS):
    """A table of ``summary``: one row per metric, the best method's cell marked."""
    methods = list(summary)
    rows = []
    for metric in metrics:
        best = max(methods, key=lambda m: sign(metric) * summary[m][metric]["mean"])
        rows.append(
            [LABELS[metric]]
            + [{"text": mean_sd(summary[m][metric]), "best": m == best} for m in methods]
        )
    return {"header": ["metric", *(method_label(report, m) for m in methods)], "rows": rows}


def _comparisons(report):
    several = primary_class(report) == MACRO
    header = ["method", "versus", "metric", *(["class"] if several else []), "\u0394 [95 % CI]",
              "p", "verdict", "P(better / rope / worse)"]  # fmt: skip
    rows = [
        {
            "cells": [
                method_label(report, c["method"]),
                method_label(report, c["versus"]),
                LABELS[c["metric"]],
                *([c.get("class")] if several else []),
                interval(c),
                f"{c['p_value']:.3g}",
            ],
            "verdict": c["verdict"],
            "probabilities": " / ".join(
                f"{100 * c[k]:.0f} %" for k in ("p_better", "p_rope", "p_worse") if k in c
            ),
        }
        for c in report["comparisons"]
    ]
    return {"header": header, "rows": rows}


def _quality(report):
    quality = report.get("quality")
    if not quality:
        return None
    n_held_out = held_out_rows(report)
    return {
        "n_held_out": n_held_out,
        "rows": [
            [label, mean_sd(stat), reading]
            for name, stat in quality.items()
            for label, reading in [QUALITY_LABELS.get(name, (name, ""))]
        ],
        "notes": few_rows_note(n_held_out) + crowding_note(quality),
        "findings": diagnose(report),
        "diagnosis": diagnosis_text(report),
    }


def _calibration(report):
    if not report.get("calibration"):
        return None
    summary = report["summary"]
    return {
        "header": ["method", *(LABELS[k] for k in CALIBRATION)],
        "rows": [
            [method_label(report, m), *(f"{summary[m][k]['mean']:.3f}" for k in CALIBRATION)]
            for m in summary
            if not REGISTRY[m].tunes_threshold  # a threshold changes no probability
        ],
    }


def _selection(report):
    found = figures.selections(report)
    if not found:
        return None
    return selection_summary(found)


def _provenance(report):
    from synthbalance import __version__

    return {
        "generator": report["generator"],
        "classifier": report["classifier"],
        "protocol": json.dumps(report["protocol"], indent=1, default=str),
        "config": json.dumps(report["config"], indent=1, default=str),
        "config_sha256": report.get("config_sha256"),
        "version": __version__,
        "rendered": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def context(report, figure_uris):
    """Everything the report templates show, read from ``report``."""
    ds, generator = report["dataset"], report["generator"]
    by_class = report.get("summary_by_class") or {}
    headline = [c for m in HEADLINE for c in figures.headline_comparisons(report, m)]
    return {
        "title": f"synthbalance: {generator['name']} on {ds['name']}",
        "question": question(report),
        "answer": answer_lines(report),
        "undetected": undetected(report, headline),
        "protocol_text": protocol_text(report["protocol"]),
        "forest": forest_uris(report),
        "images": figure_uris,
        "files": {
            "selection": figures.SELECTION,
            "reliability": figures.RELIABILITY,
            "grid": report.get("sample_grid"),
            "scatter": report.get("sample_scatter"),
        },
        "dataset": ds,
        "protocol": report["protocol"],
        "several": primary_class(report) == MACRO,
        "scores": _scores(report, report["summary"]),
        "seeds_note": seeds_note(report),
        "by_class": {c: _scores(report, s, HEADLINE) for c, s in by_class.items()},
        "comparisons": _comparisons(report),
        "verdict_rules": VERDICT_RULES.replace("**", ""),
        "quality": _quality(report),
        "sampling": generator.get("params", {}).get("sampling"),
        "scatter_caption": scatter_caption(report) if report.get("sample_scatter") else None,
        "selection": _selection(report),
        "calibration": _calibration(report),
        "provenance": _provenance(report),
    }


def render_fragment(report, directory=None, samples=None):
    """The report as an HTML fragment with its own scoped style (the notebook view)."""
    uris = images(report, directory, samples)
    return render("report_body.html.j2", **context(report, uris))


def render_html(report, directory=None, samples=None):
    """The whole of report.html; figures are read from ``directory`` where they are, the
    sample figures otherwise drawn from ``samples``."""
    return render("report.html.j2", **context(report, images(report, directory, samples)))
