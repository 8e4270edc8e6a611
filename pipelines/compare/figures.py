"""The comparison's figures: critical-difference diagrams, delta against the amount of
synthetic data, and quality metrics against the utility gain."""

import hashlib
import re

from synthbalance.pipelines.io import plain_text, pyplot, save_figure
from synthbalance.pipelines.metrics import HEADLINE, LABELS

# Every figure a comparison may write, as glob patterns (``Comparison.save`` removes an
# earlier comparison's that it does not write again): the critical-difference diagrams
# (cd_<classifier>_<metric>.png, cd_quality_<quality metric>.png), the amount plots
# (amount_<classifier>.png) and quality against utility (``_quality_figure``).
FIGURE_PATTERNS = (
    *(f"cd_*_{metric}.png" for metric in HEADLINE), "cd_quality_*.png", "amount_*.png",
    "quality_vs_utility.png", "quality_vs_utility_*.png",
)  # fmt: skip


@plain_text
def plot_critical_difference(result, what, path):
    """Critical-difference diagram of a ``friedman`` result; ``what`` was ranked."""
    import scikit_posthocs as sp

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 2.5 + 0.15 * len(result["mean_ranks"])))
    sp.critical_difference_diagram(result["mean_ranks"], result["nemenyi"], ax=ax)
    ax.set_title(
        f"{what}: mean ranks (Friedman p = {result['p_value']:.3g}); "
        "bars join methods Nemenyi cannot separate",
        fontsize="small",
    )
    save_figure(fig, path, whole=True)  # scikit-posthocs writes long names beyond the axes


@plain_text
def plot_amounts(table, classifier, path):
    """Delta F1 and delta ROC AUC (95 % CI) against the amount of synthetic data."""
    plt = pyplot()

    rows = table[(table["classifier"] == classifier) & table["amount"].notna()]
    fig, axes = plt.subplots(1, len(HEADLINE), figsize=(5 * len(HEADLINE), 3.6))
    for ax, metric in zip(axes, HEADLINE, strict=True):
        # one line per dataset and generator setting: the method without its @amount
        setting = rows["method"].str.rsplit("@", n=1).str[0]
        for (dataset, generator), group in rows.groupby(["dataset", setting]):
            group = group.sort_values("amount")
            mean = group[f"{metric}_delta_mean"]
            ax.errorbar(
                group["amount"],
                mean,
                yerr=[mean - group[f"{metric}_ci_low"], group[f"{metric}_ci_high"] - mean],
                marker="o",
                capsize=3,
                label=f"{generator} on {dataset}",
            )
        ax.axhline(0, color="0.5", linewidth=0.8)
        ax.set_xlabel("sampling_strategy (minority / majority after resampling)")
        ax.set_ylabel(f"\u0394 {LABELS[metric]} vs baseline")
    axes[0].legend(fontsize="x-small")
    fig.suptitle(f"Amount of synthetic data with {classifier}")
    save_figure(fig, path)


@plain_text
def plot_quality(table, correlations, path):
    """Each quality metric against the F1 and ROC AUC deltas, one point per run."""
    plt = pyplot()

    names = list(correlations["quality_metric"])
    fig, axes = plt.subplots(
        len(HEADLINE), len(names), figsize=(2.6 * len(names), 2.4 * len(HEADLINE)), squeeze=False
    )
    for i, metric in enumerate(HEADLINE):
        for j, name in enumerate(names):
            ax = axes[i, j]
            for generator, group in table.groupby("generator"):
                ax.scatter(group[f"quality_{name}"], group[f"{metric}_delta_mean"], s=12,
                           label=generator)  # fmt: skip
            ax.axhline(0, color="0.6", linewidth=0.8)
            rho = correlations.loc[correlations.quality_metric == name, f"rho_{metric}"].item()
            ax.set_title(f"\u03c1 = {rho:+.2f}", fontsize="small")
            ax.set_xlabel(name, fontsize="small")
            if j == 0:
                ax.set_ylabel(f"\u0394 {LABELS[metric]}", fontsize="small")
    axes[0, 0].legend(fontsize="xx-small")
    fig.suptitle("Generator quality against utility gain (one point per run)")
    save_figure(fig, path, dpi=90)


def _file_name(label):
    """``label`` as a safe part of a file name: ``logreg`` as it is, ``logreg(C=0.1)`` as
    ``logreg_C=0.1_`` plus a short hash of the label, so that labels the replacement makes
    alike (``a b``, ``a_b``) keep their own files."""
    safe = re.sub(r"[^\w.=@-]+", "_", label).strip("_")
    if safe == label:
        return label
    return f"{safe}_{hashlib.sha1(label.encode()).hexdigest()[:6]}"


def _quality_figure(classifier, n_classifiers):
    if n_classifiers == 1:
        return "quality_vs_utility.png"
    return f"quality_vs_utility_{_file_name(classifier)}.png"
