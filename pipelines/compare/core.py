"""``Comparison``: many runs' reports side by side, with statistics across datasets; what
``synthbalance-compare`` writes and ``synthbalance.compare`` returns."""

import html
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import validate_parameter_constraints

from synthbalance.pipelines.compare.across import (
    QUALITY_RANKED,
    friedman,
    generator_tests,
    quality_correlations,
    quality_ranking,
)
from synthbalance.pipelines.compare.figures import (
    FIGURE_PATTERNS,
    _file_name,
    _quality_figure,
    plot_amounts,
    plot_critical_difference,
    plot_quality,
)
from synthbalance.pipelines.compare.html import COMPARISON_HTML, render_comparison
from synthbalance.pipelines.compare.load import find_reports
from synthbalance.pipelines.compare.markdown import render_markdown
from synthbalance.pipelines.compare.tables import (
    check_same_folds,
    comparison_table,
    other_folds,
    run_names,
    score_matrix,
    with_augmentation,
)
from synthbalance.pipelines.io import staged_files, write_text
from synthbalance.pipelines.methods import AUGMENTATION, METHODS, run_label
from synthbalance.pipelines.metrics import HEADLINE, LABELS, METRICS, sign
from synthbalance.pipelines.protocol import ROPE
from synthbalance.pipelines.report.build import by_method, compare_methods, fold_metrics
from synthbalance.pipelines.report.core import Report

# The tables a comparison may write (its figures: ``FIGURE_PATTERNS``).
TABLES = ("comparison.md", COMPARISON_HTML, "comparison.csv", "comparison_generators.csv")


def _check_rope(rope):
    validate_parameter_constraints({"rope": ROPE}, {"rope": rope}, "Comparison")


class Comparison:
    """Reports of several runs, compared.

    Parameters
    ----------
    reports : list of (str, dict)
        ``(run, report.json content)``; ``run`` names the run (its directory, or the
        generator's name for the runs of one ``synthbalance.evaluate`` call).
    rope : float
        Region of practical equivalence of the statistics across datasets.
    problems : list of str
        Reports that were found but could not be used, one line each; runs without the
        augmented method (nothing to compare) are added to them and left out, and so is the
        ranking by sample quality when its runs have other folds.
    """

    def __init__(self, reports, rope=0.01, problems=(), samples=None):
        _check_rope(rope)
        if not reports:
            raise ValueError("nothing to compare: no reports")
        self.runs, skipped = with_augmentation(list(reports))
        self.rope, self.problems = rope, [*problems, *skipped]
        self._samples = samples or {}
        self.everything = comparison_table(self.runs)
        # statistics across runs use each run's headline row (macro with several classes)
        self.table = self.everything[self.everything["primary"]].reset_index(drop=True)
        self.across = self._across()
        self.correlations = quality_correlations(self.table)
        self.quality_ranks = self._quality_ranks()

    @classmethod
    def from_directories(cls, directories, rope=0.01):
        """Every usable report.json under ``directories`` (run or sweep directories)."""
        _check_rope(rope)
        reports, problems = find_reports(directories)
        return cls(reports, rope=rope, problems=problems)

    def _across(self):
        across = {}
        for classifier, runs in self.table.groupby("classifier", sort=True):
            if runs["dataset"].nunique() < 2:
                continue  # statistics across datasets need several datasets
            for metric in HEADLINE:
                matrix, missing = score_matrix(self.runs, self.table, classifier, metric)
                across[(classifier, metric)] = {
                    "tests": generator_tests(matrix, self.rope), "friedman": friedman(matrix),
                    "figure": f"cd_{_file_name(classifier)}_{metric}.png",
                    "n_datasets": len(matrix), "missing": missing, "matrix": matrix,
                }  # fmt: skip
        return across

    def _quality_ranks(self):
        """``{quality metric: quality_ranking result}`` for runs on one dataset whose
        generators were judged: generators ranked by sample quality over folds x seeds."""
        if len({data["dataset"]["name"] for _, data in self.runs}) > 1:
            return {}
        names, options, judged = run_names(self.runs), {}, []
        for run, data in self.runs:
            records = by_method(data.get("folds", [])).get(AUGMENTATION[0])
            if records and data["generator"]["name"] != "none":
                options.setdefault(names[run][1], records)
                judged.append((run, data))
        # its blocks pair the runs fold by fold (the repeats they share: adaptive runs too)
        if judged and (shown := other_folds(judged, ("n_splits", "seed"))):
            self.problems.append(f"the ranking by sample quality: its runs have other folds "
                                 f"({shown})")  # fmt: skip
            return {}
        ranks = {}
        for metric in QUALITY_RANKED:
            result = quality_ranking(options, metric)
            if result is not None:
                ranks[metric] = {**result, "figure": f"cd_quality_{metric}.png"}
        return ranks

    @property
    def reports(self):
        """``{key: Report}`` of every run (``run_keys``): ``comparison["smote"]``, or
        ``comparison["rf", "smote"]`` with several classifiers."""
        keys = run_keys(self.runs)
        return {keys[run]: Report(data, samples=self._samples.get(run)) for run, data in self.runs}

    def __getitem__(self, key):
        return self.reports[key]

    def _frames(self, attribute):
        frames = []
        for key, report in self.reports.items():
            frame = getattr(report, attribute)
            frames.append(frame.assign(run=[key] * len(frame)))  # a key may be a tuple
        return pd.concat(frames, ignore_index=True)

    @property
    def verdicts(self):
        """Every run's comparisons (``Report.verdicts``), with a ``run`` column (its key in
        ``reports``)."""
        return self._frames("verdicts")

    @property
    def scores(self):
        """Every run's scores (``Report.scores``), with a ``run`` column."""
        return self._frames("scores")

    @property
    def folds(self):
        """Every run's fold records (``Report.folds``), with a ``run`` column."""
        return self._frames("folds")

    @property
    def generator_tests(self):
        """Each generator against the baseline across datasets, per classifier and metric."""
        rows = [
            {"classifier": classifier, "metric": metric, **row}
            | {"friedman_p": result["friedman"]["p_value"] if result["friedman"] else None}
            | {
                "mean_rank": result["friedman"]["mean_ranks"].get(row["method"])
                if result["friedman"]
                else None
            }  # fmt: skip
            for (classifier, metric), result in self.across.items()
            for row in result["tests"].to_dict("records")
        ]
        return pd.DataFrame(rows)

    def best(self, metric="f1"):
        """``(option, mean, runner-up, comparison)`` for runs on one dataset: the best of the
        plain methods and every run's augmented methods (``smote``, ``smote+threshold``),
        and its paired comparison with the runner-up on the same folds."""
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; choose from {list(METRICS)}")
        options = self._options()
        means = {name: np.mean([fold_metrics(r)[metric] for r in recs.values()])
                 for name, recs in options.items()}  # fmt: skip
        ranked = sorted(means, key=lambda name: -sign(metric) * means[name])
        best, runner_up = ranked[0], (ranked[1] if len(ranked) > 1 else None)
        comparison = None
        if runner_up is not None and options[best].keys() == options[runner_up].keys():
            folds = [{**r, "method": "a"} for r in options[best].values()]
            folds += [{**r, "method": "b"} for r in options[runner_up].values()]
            # a run with these repeats: an adaptive one's critical value is its last look's
            repeats = len({repeat for repeat, _ in options[best]})
            protocol = next(
                (data["protocol"] for _, data in self.runs
                 if data["protocol"]["n_repeats"] == repeats),
                self.runs[0][1]["protocol"],
            )  # fmt: skip
            comparison = compare_methods(folds, "a", "b", metric, protocol)
            comparison.update(method=best, versus=runner_up)
        return {"option": best, "mean": float(means[best]), "runner_up": runner_up,
                "comparison": comparison}  # fmt: skip

    def _options(self):
        """``{option: {(repeat, fold): record}}`` of every plain method (once) and every
        run's augmented methods; one dataset only."""
        datasets = {data["dataset"]["name"] for _, data in self.runs}
        if len(datasets) > 1:
            raise ValueError(f"best() compares runs on one dataset; these cover {sorted(datasets)}")
        names = run_names(self.runs)
        # the plain methods are each classifier's own: one classifier's baseline is no other's
        classifiers = sorted({classifier for classifier, _ in names.values()})
        if len(classifiers) > 1:
            raise ValueError(
                f"best() compares the methods of one classifier; these runs use {classifiers}: "
                "compare each classifier's runs apart"
            )
        # an adaptive run's repeats pair up with another's up to the fewer of them
        check_same_folds(self.runs, ("n_splits", "seed"), "best() pairs the runs fold by fold")
        options = {}
        for run, data in self.runs:
            for method, records in by_method(data["folds"]).items():
                option = run_label(method, names[run][1])
                options.setdefault(option, records)
        return {name: options[name] for name in sorted(options, key=_option_order)}

    def save(self, out):
        """Write comparison.md, comparison.html, comparison.csv, comparison_generators.csv
        and the figures into ``out``; returns comparison.md's path. A save that fails
        part-way adds none of its files; one that succeeds removes the files of an earlier
        comparison in ``out`` that it did not write (``TABLES``, ``FIGURE_PATTERNS``), and
        nothing else."""
        out = Path(out)
        with staged_files(out) as stage:
            self._write(stage, out)
            written = {path.name for path in stage.iterdir()}
        # an earlier comparison's files that this one does not write would read as its own
        for pattern in (*TABLES, *FIGURE_PATTERNS):
            for path in out.glob(pattern):
                if path.name not in written and path.is_file():
                    path.unlink(missing_ok=True)
        return out / "comparison.md"

    def _write(self, stage, out):
        """Every file of ``save`` into ``stage``; the page's links to the runs are made from
        ``out``, where the files go."""
        for (classifier, metric), result in self.across.items():
            if result["friedman"] is not None:
                plot_critical_difference(
                    result["friedman"], f"{LABELS[metric]} with {classifier}",
                    stage / result["figure"],
                )  # fmt: skip
        for metric, result in self.quality_ranks.items():
            plot_critical_difference(
                result, f"sample quality: {metric} over {result['n_blocks']} folds x seeds",
                stage / result["figure"],
            )  # fmt: skip
        for classifier in sorted(self.table["classifier"].unique()):
            if self.table.loc[self.table["classifier"] == classifier, "amount"].nunique() > 1:
                plot_amounts(self.table, classifier, stage / f"amount_{_file_name(classifier)}.png")
        n_classifiers = self.table["classifier"].nunique()
        for classifier, found in self.correlations.groupby("classifier") if len(
            self.correlations
        ) else ():  # fmt: skip
            figure = stage / _quality_figure(classifier, n_classifiers)
            plot_quality(self.table[self.table["classifier"] == classifier], found, figure)
        self.everything.to_csv(stage / "comparison.csv", index=False)
        if len(tests := self.generator_tests):
            tests.to_csv(stage / "comparison_generators.csv", index=False)
        write_text(stage / COMPARISON_HTML, render_comparison(self, out, figures=stage))
        write_text(stage / "comparison.md", self.to_markdown())

    def to_markdown(self):
        return render_markdown(self.everything, self.across, self.correlations, self.quality_ranks)

    def _repr_html_(self):
        columns = ["dataset", "classifier", "method", "class"]
        columns += [f"{m}_{f}" for m in HEADLINE for f in ("delta_mean", "ci_low", "ci_high",
                                                            "verdict")]  # fmt: skip
        return (
            f"<h3>synthbalance comparison: {len(self.table)} runs</h3>"
            + self.everything.reindex(columns=columns).to_html(index=False, float_format="%.3f")
            + "".join(f"<p>skipped: {html.escape(p)}</p>" for p in self.problems)
        )

    def __len__(self):
        return len(self.runs)


def run_keys(runs):
    """``{run: key}`` for ``runs`` (``[(run, report)]``), each run's key in
    ``Comparison.reports``: its method (``smote``, ``vae(latent_dim=4)``, as ``run_names``
    names it); with several classifiers ``(classifier, method)``, with several datasets
    the dataset in front (``(dataset, method)``, ``(dataset, classifier, method)``); runs
    alike in all of these (a seed sweep) end with their run."""
    names = run_names(runs)
    several_datasets = len({data["dataset"]["name"] for _, data in runs}) > 1
    several_classifiers = len({classifier for classifier, _ in names.values()}) > 1
    parts = {
        run: (*([data["dataset"]["name"]] if several_datasets else []),
              *([names[run][0]] if several_classifiers else []), names[run][1])
        for run, data in runs
    }  # fmt: skip
    counts = Counter(parts.values())
    keys = {run: key if counts[key] == 1 else (*key, run) for run, key in parts.items()}
    return {run: key[0] if len(key) == 1 else key for run, key in keys.items()}


def _option_order(name):
    return (METHODS.index(name) if name in METHODS else len(METHODS), name)
