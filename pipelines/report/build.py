"""The one builder of report.json's content: summaries and paired comparisons of the fold
records, with the verdicts of ``synthbalance.pipelines.stats``. Everything that renders a
report (markdown, HTML, figures, ``Report``, the comparison across runs) only reads what this
module writes."""

from collections import defaultdict

import numpy as np

from synthbalance.pipelines.methods import (
    AUGMENTATION,
    AUGMENTED,
    BASELINE,
    METHODS,
    PLAIN,
    THRESHOLD_ONLY,
)
from synthbalance.pipelines.metrics import HEADLINE, METRICS, THRESHOLD_FREE, sign
from synthbalance.pipelines.openset import (
    BY_UNKNOWN_METRICS,
    LOWER_IS_BETTER,
    MSP,
    OPEN_SET_METRICS,
)
from synthbalance.pipelines.protocol import Protocol
from synthbalance.pipelines.report.schema import MACRO, SCHEMA, primary_class
from synthbalance.pipelines.stats import (
    bayesian_correlated_ttest,
    corrected_ttest,
    projected_effect,
)


def by_method(folds):
    """``{method: {(repeat, fold): record}}``."""
    table = defaultdict(dict)
    for record in folds:
        table[record["method"]][(record["repeat"], record["fold"])] = record
    return table


def fold_metrics(record, class_=None):
    """A fold record's metrics: the averaged ones, or those of minority class ``class_``."""
    return record["metrics"] if class_ is None else record["metrics_by_class"][class_]


def minority_classes(folds):
    """The minority classes with their own scores (several minority classes), else []."""
    return list(folds[0].get("metrics_by_class", {})) if folds else []


def summarise(folds, class_=None):
    """``{method: {metric: {"mean", "std"[, "generator_std"]}}}`` over folds.

    ``std`` is the spread over folds; ``generator_std``, for augmented methods fitted with
    several generator seeds, the spread between seeds within a fold (root mean variance).
    With ``class_``, the scores of that minority class against the base class.
    """
    summary = {}
    for method, records in by_method(folds).items():
        records = list(records.values())
        summary[method] = {}
        for m in METRICS:
            values = [fold_metrics(r, class_)[m] for r in records]
            stats = {
                "mean": float(np.mean(values)),
                "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            }
            if "metrics_by_seed" in records[0] and class_ is None:
                variances = [np.var([s[m] for s in r["metrics_by_seed"]], ddof=1) for r in records]
                stats["generator_std"] = float(np.sqrt(np.mean(variances)))
            summary[method][m] = stats
    return summary


def paired_deltas(folds, method, versus, metric, class_=None):
    """Per-fold ``metric(method) - metric(versus)``, paired by (repeat, fold)."""
    table = by_method(folds)
    keys = sorted(table[versus])
    return np.array(
        [
            fold_metrics(table[method][k], class_)[metric]
            - fold_metrics(table[versus][k], class_)[metric]
            for k in keys
        ]
    )


def compare_methods(folds, method, versus, metric, protocol, class_=None, label=None):
    """``method`` against ``versus`` on one metric, on the same folds: the corrected t-test
    verdict with the smallest effect the run could detect, and the Bayesian correlated
    t-test's probabilities. ``protocol`` is report.json's block (``rope``, ``n_repeats``,
    an adaptive run's critical value); ``class_`` picks a minority class's own scores;
    ``label`` is the comparison's ``class`` field."""
    reference = by_method(folds)[versus].values()
    n_train = np.mean([r["n_train"] for r in reference])
    n_test = np.mean([r["n_test"] for r in reference])
    shape = len({r["fold"] for r in reference}), len({r["repeat"] for r in reference})
    deltas = paired_deltas(folds, method, versus, metric, class_)
    critical = protocol.get("adaptive", {}).get("critical")
    return {
        "method": method,
        "versus": versus,
        "metric": metric,
        "class": label if label is not None else class_,
        **corrected_ttest(
            deltas, n_train, n_test, protocol["rope"], sign=sign(metric), critical=critical
        ),
        **_projections(
            deltas, shape, protocol.get("max_repeats", Protocol.max_repeats), n_train, n_test
        ),
        **bayesian_correlated_ttest(
            deltas, protocol["rope"], n_repeats=protocol["n_repeats"], sign=sign(metric)
        ),
    }


def _projections(deltas, shape, most, n_train, n_test):
    """What more folds would detect at the same per-fold spread, for deltas of ``shape``
    (n_splits, repeats): ``mde_max_repeats``, the minimum detectable effect of a fixed run
    of ``most`` repeats (None when the run had as many), and ``mde_floor``, the limit no
    number of repeats of this split passes."""
    sd = float(np.std(deltas, ddof=1)) if len(deltas) > 1 else float("inf")
    k, ran = shape
    more = None
    if ran < most:
        more = {
            "n_splits": k,
            "n_repeats": most,
            "mde": projected_effect(sd, k, most, n_train, n_test),
        }
    return {"mde_max_repeats": more, "mde_floor": projected_effect(sd, k, None, n_train, n_test)}


def best_methods(summary, candidates):
    """For every metric, the candidate with the best mean (the highest, or the lowest where
    lower is better; earlier in METHODS on ties)."""
    ordered = [m for m in METHODS if m in candidates and m in summary]
    return {
        metric: max(
            ordered, key=lambda m: (sign(metric) * summary[m][metric]["mean"], -ordered.index(m))
        )
        for metric in METRICS
    }


def best_pair(summary, metric):
    """``(best augmented method, best method without augmentation)`` for ``metric``: the
    comparison a report's headline opens with; None without augmented methods."""
    augmented = [m for m in AUGMENTED if m in summary]
    if not augmented:
        return None
    plain = [m for m in summary if m in PLAIN]
    return best_methods(summary, augmented)[metric], best_methods(summary, plain)[metric]


def headline_comparisons(folds, protocol):
    """The comparisons the headline speaks about, for the headline class (the minority,
    or the macro average): augmentation against the baseline and the best augmented
    method against the best without augmentation, on each headline metric. An adaptive
    run adds repeats until none of them is inconclusive."""
    summary = summarise(folds)
    found = {}
    for metric in HEADLINE:
        pairs = [AUGMENTATION] if AUGMENTATION[0] in summary else []
        pairs += [best] if (best := best_pair(summary, metric)) else []
        for method, versus in pairs:
            compared = method != versus and not (
                metric in THRESHOLD_FREE and (method, versus) in THRESHOLD_ONLY
            )
            if compared and (method, versus, metric) not in found:
                found[method, versus, metric] = compare_methods(
                    folds, method, versus, metric, protocol
                )
    return list(found.values())


def comparisons(folds, summary, protocol, label=None, class_=None):
    """Every method against the baseline, and every augmented method against the best
    method without augmentation (where that is not the baseline); each names the minority
    class (or ``MACRO``) it is about as ``class`` = ``label``. Pairs that differ only by a
    tuned threshold are not compared on the metrics a threshold cannot change."""
    methods = [m for m in METHODS if m in summary]
    best_plain = best_methods(summary, [m for m in methods if m in PLAIN])
    result = []
    for metric in METRICS:
        pairs = [(m, BASELINE) for m in methods if m != BASELINE]
        if best_plain[metric] != BASELINE:
            pairs += [(m, best_plain[metric]) for m in methods if m in AUGMENTED]
        for method, versus in pairs:
            if metric in THRESHOLD_FREE and (method, versus) in THRESHOLD_ONLY:
                continue
            result.append(compare_methods(folds, method, versus, metric, protocol, class_, label))
    return result


def all_comparisons(folds, summary, protocol, minority, summary_by_class):
    """The comparisons of the minority class, or, with several minority classes (the keys
    of ``summary_by_class``, that class's summary), those of the macro average (``class`` =
    ``MACRO``) and then each class against the base class."""
    if not summary_by_class:
        return comparisons(folds, summary, protocol, str(minority))
    result = comparisons(folds, summary, protocol, MACRO)
    for class_, class_summary in summary_by_class.items():
        result += comparisons(folds, class_summary, protocol, class_, class_)
    return result


def summarise_quality(folds):
    """Mean and sd over folds of each quality metric of the augmented method, or None."""
    measured = [r["quality"] for r in folds if r["method"] == AUGMENTATION[0] and "quality" in r]
    if not measured:
        return None
    return {
        name: {
            "mean": float(np.mean([q[name] for q in measured])),
            "std": float(np.std([q[name] for q in measured], ddof=1)) if len(measured) > 1 else 0.0,
        }
        for name in measured[0]
    }


def summarise_diagnostics(folds):
    """What the generator said of its fits, averaged over the augmented method's folds:
    ``{"active_units", "latent_dim", "kl_per_dim"}`` (the VAEs), per generated class for a
    sampler with one model per class; None when it said nothing."""
    found = []
    for r in folds:
        if r["method"] == AUGMENTATION[0] and r.get("diagnostics"):
            found += r["diagnostics"] if isinstance(r["diagnostics"], list) else [r["diagnostics"]]
    if not found:
        return None
    per_class = "active_units" not in found[0]
    by_class = [d for f in found for d in f.values()] if per_class else found
    return {
        "active_units": float(np.mean([d["active_units"] for d in by_class])),
        "latent_dim": by_class[0]["latent_dim"],
        "kl_per_dim": np.mean([d["kl_per_dim"] for d in by_class], axis=0).round(4).tolist(),
        "fits": len(by_class),
    }


def summarise_reliability(folds):
    """``{method: {"count", "predicted", "observed"}}``: every method's reliability-diagram
    bins pooled over the folds (the first minority class against the base class): rows per
    probability bin, their mean predicted probability and their observed rate (None where a
    bin is empty). None when no record has bins."""
    pooled = {}
    for record in folds:
        if "reliability" not in record:
            continue
        bins = pooled.setdefault(record["method"], {k: 0 for k in record["reliability"]})
        for key, values in record["reliability"].items():
            bins[key] = np.add(bins[key], values)
    if not pooled:
        return None
    result = {}
    for method, bins in pooled.items():
        count = np.asarray(bins["count"], dtype=int)
        result[method] = {
            "count": count.tolist(),
            **{key: _per_row(bins[key], count) for key in ("predicted", "observed")},
        }
    return result


def _per_row(totals, count):
    """Bin totals divided by the bins' row counts; None for an empty bin."""
    return [float(t / n) if n else None for t, n in zip(totals, count, strict=True)]


def build_report(
    dataset, generator, classifier, protocol, folds, config, *, config_sha256=None,
    sample_grid=None, sample_scatter=None, open_set=None,
):  # fmt: skip
    """report.json's content.

    ``dataset`` is the ``Dataset`` evaluated, ``generator`` and ``classifier`` the
    ``{"name", "class", "params"}`` blocks describing them, ``protocol`` report.json's
    protocol block, ``folds`` the records of ``evaluation.run_folds`` and ``config`` what
    the run was asked (the resolved Hydra config, or the API call's arguments);
    ``config_sha256``, ``sample_grid`` (the grid's file name) and ``sample_scatter`` (the
    scatter's block, ``scatter.informative_features``) when there are any;
    ``open_set``: the records of ``openset.run_open_set`` (datasets with unknown classes).
    """
    if BASELINE not in {r["method"] for r in folds}:
        raise ValueError(f"the methods must include {BASELINE!r}: every verdict is against it")
    summary = summarise(folds)
    description = dataset.describe()
    by_class = {str(c): summarise(folds, c) for c in minority_classes(folds)}
    report = {
        "schema": SCHEMA,
        "dataset": description,
        "generator": generator,
        "classifier": classifier,
        "protocol": protocol,
        "folds": folds,
        "summary": summary,
        **({"summary_by_class": by_class} if by_class else {}),
        "comparisons": all_comparisons(folds, summary, protocol, description["minority"], by_class),
        "quality": summarise_quality(folds),
        "config": config,
    }
    if (reliability := summarise_reliability(folds)) is not None:
        report["calibration"] = reliability
    if (diagnostics := summarise_diagnostics(folds)) is not None:
        report["diagnostics"] = diagnostics
    if config_sha256 is not None:
        report["config_sha256"] = config_sha256
    if sample_grid is not None:
        report["sample_grid"] = sample_grid
    if sample_scatter is not None:
        report["sample_scatter"] = sample_scatter
    if open_set is not None:
        report["open_set"] = open_set_report(open_set, protocol, description["unknown"])
    return report


def open_set_report(records, protocol, unknown):
    """report.json's ``open_set``: the settings, the fold records, per method and metric the
    mean, sd and 95 % CI over folds (corrected resampled t-test), the same for each unknown
    class alone (``summary_by_unknown``, several unknown classes), and every method against
    maximum softmax on AUROC and FPR@95 (a lower FPR is the improvement)."""
    table = by_method(records)
    n_train = np.mean([r["n_train"] for r in records])
    n_test = np.mean([r["n_test"] for r in records])

    def summarise(metrics_of, metrics):
        """``{method: {metric: {"mean", "std", "ci_low", "ci_high"}}}`` over folds."""
        summary = {}
        for method, rows in table.items():
            summary[method] = {}
            for metric in metrics:
                values = np.array([metrics_of(r)[metric] for r in rows.values()])
                ci = corrected_ttest(values, n_train, n_test, protocol["rope"])
                summary[method][metric] = {
                    "mean": float(values.mean()),
                    "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                    "ci_low": ci["ci_low"],
                    "ci_high": ci["ci_high"],
                }
        return summary

    summary = summarise(lambda r: r["metrics"], OPEN_SET_METRICS)
    by_unknown = {
        str(class_): summarise(
            lambda r, c=str(class_): r["metrics_by_unknown"][c], BY_UNKNOWN_METRICS
        )
        for class_ in unknown
        if "metrics_by_unknown" in records[0]
    }
    comparisons = []
    for method in (m for m in table if m != MSP):
        keys = sorted(table[MSP])
        for metric in ("auroc", "fpr95"):
            deltas = np.array(
                [table[method][k]["metrics"][metric] - table[MSP][k]["metrics"][metric]
                 for k in keys]
            )  # fmt: skip
            direction = -1 if metric in LOWER_IS_BETTER else 1
            comparisons.append({
                "method": method, "versus": MSP, "metric": metric,
                **corrected_ttest(deltas, n_train, n_test, protocol["rope"], sign=direction),
            })  # fmt: skip
    return {
        "unknown": unknown,
        **protocol.get("open_set", {}),
        "folds": records,
        "summary": summary,
        **({"summary_by_unknown": by_unknown} if by_unknown else {}),
        "comparisons": comparisons,
    }


def find_comparison(report, method, versus, metric, class_=None):
    """The comparison of ``method`` against ``versus`` for ``class_`` (default: the
    headline's: the minority class, or the macro average over several), or None."""
    class_ = primary_class(report) if class_ is None else class_
    for c in report["comparisons"]:
        if (c["method"], c["versus"], c["metric"], c.get("class", class_)) == (
            method, versus, metric, class_,
        ):  # fmt: skip
            return c
    return None
