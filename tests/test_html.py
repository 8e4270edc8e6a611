"""report.html and comparison.html: written by every run, self-contained, the answer first,
and rendered by a real browser (headless Chromium) without errors or missing images."""

import base64
import json
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser

import pytest
from imblearn.over_sampling import SMOTE
from markupsafe import escape
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import synthbalance as sb
from synthbalance.pipelines.compare import write_comparison
from synthbalance.pipelines.compare.html import NEUTRAL
from synthbalance.pipelines.datasets import seed_case
from synthbalance.pipelines.metrics import HEADLINE, LABELS
from synthbalance.pipelines.report.text import answer_lines, method_label, question

from .test_compare import write_fake_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
METHODS = ("baseline", "class_weight", "threshold", "augmented", "augmented+threshold")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One small run saved with ``Report.save``: (report, its directory)."""
    ds = seed_case(n_majority=600, n_minority=45, n_features=5, n_informative=3, n_redundant=1)
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    report = sb.evaluate(ds.X, ds.y, generator=SMOTE(), classifier=classifier, methods=METHODS,
                         n_splits=3, n_repeats=1, seed=0)  # fmt: skip
    directory = tmp_path_factory.mktemp("run")
    report.save(directory)
    return report, directory


class Resources(HTMLParser):
    """Every tag, and every src and href attribute, of a page."""

    def __init__(self):
        super().__init__()
        self.tags, self.src, self.href = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href"):
                getattr(self, name).append(value)


def resources(page):
    parser = Resources()
    parser.feed(page)
    return parser


def assert_self_contained(page):
    """Nothing the page shows comes from outside it: every image is an embedded PNG, no
    script, stylesheet link or CSS url()."""
    found = resources(page)
    assert found.src, "no image"
    for src in found.src:
        assert src.startswith("data:image/png;base64,"), src[:80]
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not {"script", "link", "iframe"} & set(found.tags)
    assert "url(" not in page and "@import" not in page
    return found


def test_save_writes_a_self_contained_report_html_with_the_answer_first(saved):
    report, directory = saved
    page = (directory / "report.html").read_text(encoding="utf-8")
    found = assert_self_contained(page)
    assert not found.href  # no links out of a single run's page
    lines = answer_lines(report.data)
    assert len(lines) == len(HEADLINE)
    for line, metric in zip(lines, HEADLINE, strict=True):
        assert line.startswith(f"{LABELS[metric]}: ") and escape(line) in page
    # the question, then the answer, then the forest plot, then the rest
    marks = [escape(question(report.data)), escape(lines[0]), 'id="forest"', "<h2>Scores",
             "<details"]  # fmt: skip
    order = [page.index(str(mark)) for mark in marks]
    assert order == sorted(order)
    # every comparison is in the folded table, every method in the scores table
    assert page.count('<td class="verdict ') == len(report.data["comparisons"])
    for method in report.data["summary"]:
        assert escape(method_label(report.data, method)) in page


def test_answer_names_the_best_method_and_what_augmentation_adds(saved):
    report, _ = saved
    summary = report.data["summary"]
    for line, metric in zip(answer_lines(report.data), HEADLINE, strict=True):
        if "no method changes it" in line:
            assert all(c["verdict"] == "equivalent" for c in report.data["comparisons"]
                       if c["metric"] == metric and c["versus"] == "baseline")  # fmt: skip
            continue
        best = max(summary, key=lambda m: summary[m][metric]["mean"])
        assert line.startswith(
            f"{LABELS[metric]}: {method_label(report.data, best)} "
            f"({summary[best][metric]['mean']:.3f})."
        )


def test_the_notebook_shows_the_report_with_its_figures(saved):
    report, _ = saved
    fragment = report._repr_html_()
    assert "<html" not in fragment and 'class="sb"' in fragment
    assert all(escape(line) in fragment for line in answer_lines(report.data))
    assert_self_contained(fragment)
    loaded = sb.Report.load(saved[1])
    assert loaded.to_html().count("<img") == report.to_html().count("<img")


def test_a_run_writes_report_html_next_to_report_json(make_config, tmp_path):
    from synthbalance.pipelines.app import run

    data = run(make_config("generator=smote", "evaluation.methods=[baseline,augmented]"))
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert_self_contained(page)
    assert json.loads((tmp_path / "report.json").read_text())["summary"] == data["summary"]
    assert all(escape(line) in page for line in answer_lines(data))
    assert 'id="diagnosis"' in page


@pytest.fixture
def compared(tmp_path):
    for dataset, baseline in {"d1": 0.5, "d2": 0.6, "d3": 0.7}.items():
        for generator, delta in (("winner", 0.1), ("loser", -0.1), ("twin", 0.0)):
            quality = {"c2st_auc": 0.6 - delta, "recall": 0.5 + delta}
            write_fake_report(tmp_path / "runs", dataset, generator, delta, baseline,
                              quality=quality)  # fmt: skip
    (tmp_path / "runs" / "d1" / "winner" / "report.html").write_text("<p>the run's page</p>")
    write_comparison([tmp_path / "runs"], tmp_path / "out")
    return tmp_path / "out"


def test_compare_writes_a_self_contained_comparison_html(compared):
    page = (compared / "comparison.html").read_text(encoding="utf-8")
    found = assert_self_contained(page)
    assert found.href == ["../runs/d1/winner/report.html"] * 3  # 2 heatmap cells, 1 run list
    assert page.count('<td class="heat"') == 2 * 9  # F1 and ROC AUC, 3 datasets x 3 methods
    assert "+0.100" in page and "-0.100" in page
    assert page.count("Friedman test over all methods") == 2


def test_a_delta_of_zero_is_neither_a_gain_nor_a_loss(compared):
    # the twin's delta is 0 on every dataset: grey, where it was red like a loss
    page = (compared / "comparison.html").read_text(encoding="utf-8")
    cells = re.findall(r'<td class="heat" style="background: ([^"]+)" title="([^"]+)"', page)
    zero = {colour for colour, title in cells if ": +0.000 [" in title}
    assert len([1 for _, title in cells if ": +0.000 [" in title]) == 2 * 3
    assert zero == {NEUTRAL}
    assert {colour.rsplit(",", 1)[0] for colour, title in cells if "-0.100" in title} == {
        "rgba(207,34,46"
    }


def _png_size(path):
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


PROBE = """<script>
window.addEventListener("load", () => {
  const bottom = id => document.getElementById(id) ?
    document.getElementById(id).getBoundingClientRect().bottom : null;
  const images = [...document.images];
  const found = {height: innerHeight, answer: bottom("answer"), forest: bottom("forest"),
    images: images.length, broken: images.filter(i => !(i.complete && i.naturalWidth)).length};
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(found);
  document.body.appendChild(pre);
});
</script>"""


def chromium(*arguments):
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--window-size=1280,800", "--enable-logging=stderr", "--v=0"]  # fmt: skip
    command += arguments
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian: "
                    "apt-get install chromium; .ci/run installs it)")  # fmt: skip
@pytest.mark.parametrize("page", ["report", "comparison"])
def test_chromium_renders_the_page_with_the_answer_in_the_first_screen(
    saved, compared, tmp_path, page
):
    path = saved[1] / "report.html" if page == "report" else compared / "comparison.html"
    screenshot = tmp_path / f"{page}.png"
    shot = chromium(f"--screenshot={screenshot}", path.as_uri())
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert _png_size(screenshot) == (1280, 800)
    assert ":CONSOLE" not in shot.stderr, shot.stderr  # no console message: no error
    probed = tmp_path / "probed.html"
    probed.write_text(path.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"))
    dom = chromium("--dump-dom", probed.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = json.loads(dom.stdout.split('<pre id="probe">', 1)[1].split("</pre>", 1)[0])
    assert found["images"] > 0 and found["broken"] == 0
    if page == "report":  # the answer and the whole forest plot without scrolling
        assert 0 < found["answer"] < found["forest"] <= found["height"], found
