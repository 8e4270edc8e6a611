"""report.md: the default job's report in at most about 60 lines, the answer first, nothing the
issue asks for lost; the sample scatter of tabular runs."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_module
from imblearn.over_sampling import SMOTE
from sklearn.linear_model import LogisticRegression

import synthbalance as sb
from synthbalance.pipelines.app import run
from synthbalance.pipelines.methods import BASELINE
from synthbalance.pipelines.metrics import HEADLINE, LABELS
from synthbalance.pipelines.report.build import best_pair
from synthbalance.pipelines.report.diagnosis import diagnosis_text
from synthbalance.pipelines.report.markdown import key_comparisons
from synthbalance.pipelines.report.scatter import SCATTER, informative_features
from synthbalance.pipelines.report.schema import SCATTER_FIELDS, NotAReport
from synthbalance.pipelines.report.text import QUALITY_LABELS, answer_lines, method_label

from .conftest import shrink

# The budget for the default job's report.md.
MAX_LINES = 60
MAX_COMPARISON_ROWS = 15


@pytest.fixture(scope="module")
def default_job(tmp_path_factory):
    """The default job (every default method, cvae on seed_case), shrunk: (report, text)."""
    directory = tmp_path_factory.mktemp("default")
    with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
        config = compose(config_name="config", overrides=[*shrink([]), f"output_dir={directory}"])
    report = run(config)
    return report, (directory / "report.md").read_text(encoding="utf-8"), directory


def table_rows(text, first_header):
    """The body rows of the markdown table whose header starts with ``first_header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_default_report_md_fits_the_line_budget_answer_first(default_job):
    report, text, _ = default_job
    lines = text.splitlines()
    # the shrunk run's few unseen rows per fold add a note the default job does not have
    budget = MAX_LINES + (2 if "unseen minority rows in a fold" in text else 0)
    assert len(lines) <= budget, f"{len(lines)} lines"
    assert lines[0] == "# synthbalance report: cvae on seed_case"
    assert lines[1].startswith("Does cvae augmentation improve logreg's F1 and ROC AUC")
    assert lines[3 : 3 + len(HEADLINE)] == [f"- **{line}**" for line in answer_lines(report)]
    # report.html's order: the forest plot, scores, comparisons, quality, samples, ...
    marks = ["](deltas.png)", "## Scores", "## Comparisons", "## Generator quality",
             "## Samples", "## Calibration", "## Setting"]  # fmt: skip
    positions = [text.index(mark) for mark in marks]
    assert positions == sorted(positions)


def test_the_default_report_md_keeps_the_key_comparisons_and_points_to_the_rest(default_job):
    report, text, _ = default_job
    rows = table_rows(text, "method | versus")
    assert 0 < len(rows) <= MAX_COMPARISON_ROWS
    shown = key_comparisons(report)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (method_label(report, c["method"]), method_label(report, c["versus"]), LABELS[c["metric"]])
        for c in shown
    ]
    # every method against the baseline on both headline metrics, and the answer's pair
    for metric in HEADLINE:

        def against(found, metric=metric):
            return {c["method"] for c in found if (c["metric"], c["versus"]) == (metric, BASELINE)}

        assert against(shown) == against(report["comparisons"])
        best = best_pair(report["summary"], metric)
        assert any((c["method"], c["versus"], c["metric"]) == (*best, metric) for c in shown)
    rest = len(report["comparisons"]) - len(shown)
    assert f"The other {rest} comparisons are in report.html and report.json." in text
    for row in rows:  # the verdicts as report.json has them
        c = shown[rows.index(row)]
        assert row[4] == f"**{c['verdict']}**"


def test_the_default_report_md_has_scores_quality_diagnosis_and_figures(default_job):
    report, text, directory = default_job
    scores = table_rows(text, "method | F1")
    assert [row[0] for row in scores] == [method_label(report, m) for m in report["summary"]]
    assert diagnosis_text(report) in text
    quality = dict(table_rows(text, "question"))
    assert len(quality) <= 5  # one short table: a row per question
    for name, stat in report["quality"].items():  # every metric, none lost
        assert f"{QUALITY_LABELS[name][0]} {stat['mean']:.3f}" in " ".join(quality.values())
    for figure in re.findall(r"\]\(([^)]+\.png)\)", text):
        assert (directory / figure).is_file(), figure
    assert f"]({SCATTER})" in text and "calibration.png" in text


def informative_data(n=700, seed=0):
    """Eight noise features, and x3 and x6, which carry the label."""
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < 0.1).astype(int)
    X = rng.standard_normal((n, 8))
    X[:, 3] += 2.5 * y
    X[:, 6] -= 2.0 * y
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(8)]), y


def test_the_scatter_draws_the_two_features_that_carry_the_label(tmp_path):
    X, y = informative_data()
    report = sb.evaluate(
        X, y, generator=SMOTE(), classifier=LogisticRegression(),
        methods=("baseline", "augmented"), n_splits=2, n_repeats=1, seed=0,
    )  # fmt: skip
    block = report.data["sample_scatter"]
    assert set(block["features"]) == {"x3", "x6"} and block["file"] == SCATTER
    assert tuple(block) == SCATTER_FIELDS
    assert [X.columns[i] for i in block["columns"]] == block["features"]
    assert block["mutual_information"] == sorted(block["mutual_information"], reverse=True)
    assert block["ranked_on"] == 350  # the first fold's training part
    report.save(tmp_path)
    assert (tmp_path / SCATTER).stat().st_size > 0
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk["sample_scatter"] == block
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'class="scatter"' in page and "x3 (mutual information" in page
    on_disk["sample_scatter"].pop("columns")
    with pytest.raises(NotAReport, match="sample_scatter is not"):
        sb.Report(on_disk)
    # a report loaded from disk, without its samples, copies the figure when saved again
    sb.Report.load(tmp_path).save(tmp_path / "again")
    assert (tmp_path / "again" / SCATTER).read_bytes() == (tmp_path / SCATTER).read_bytes()


def test_informative_features_ranks_categorical_columns_and_needs_two():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 3000)
    X = np.column_stack([rng.standard_normal(3000), y * 2 + rng.integers(0, 2, 3000),
                         rng.standard_normal(3000) + y])  # fmt: skip
    block = informative_features(X, y, ["noise", "code", "shifted"], categorical=[1])
    assert block["features"] == ["code", "shifted"] and block["ranked_on"] == 2000
    same = informative_features(X, y, ["noise", "code", "shifted"], categorical=[1])
    assert same == block  # seeded
    assert informative_features(X[:, :1], y, ["noise"]) is None


def test_names_from_the_data_keep_the_tables_columns():
    from markdown_it import MarkdownIt

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(360, 3)), columns=["a", "b", "c"])
    y = np.repeat(np.array(["base", "a|b", "<u>c</u>"], dtype=object), [300, 30, 30])
    X.loc[y != "base", "a"] += 2
    report = sb.evaluate(X, y, generator=SMOTE(), classifier=LogisticRegression(),
                         methods=["baseline", "augmented"], n_splits=2, n_repeats=1)  # fmt: skip
    tokens = MarkdownIt("commonmark").enable("table").parse(report.to_markdown())
    rows, texts = [], set()
    for token in tokens:
        if token.type == "tr_open":
            rows.append(0)
        elif token.type in ("th_open", "td_open"):
            rows[-1] += 1
        elif token.type == "thead_open":
            rows.append("table")
        elif token.type == "inline":
            assert not [c for c in token.children if c.type == "html_inline"], token.content
            texts.update(c.content for c in token.children if c.type == "text")
    tables = "-".join(map(str, rows)).split("table-")[1:]
    assert len(tables) > 2
    for table in tables:  # every row has the header's number of cells
        assert len(set(table.strip("-").split("-"))) == 1, table
    assert {"a|b", "<u>c</u>"} <= texts
