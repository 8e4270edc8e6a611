"""A report's figures: the forest plot of its comparisons, the checkpoint-selection history,
the sample grid of image runs (the sample scatter of tabular ones is in ``scatter``). Each
``*_figure`` returns a matplotlib figure; ``write`` saves one."""

import math
import textwrap

import numpy as np

from synthbalance.pipelines.io import plain_text, pyplot, save_figure
from synthbalance.pipelines.methods import AUGMENTATION, REGISTRY
from synthbalance.pipelines.metrics import HEADLINE, LABELS
from synthbalance.pipelines.report.build import paired_deltas
from synthbalance.pipelines.report.scatter import scatter_figure
from synthbalance.pipelines.report.schema import primary_class
from synthbalance.pipelines.report.text import method_label

FOREST = "deltas.png"
SELECTION = "selection.png"
RELIABILITY = "calibration.png"
GRID = "samples.png"
GRID_IMAGES = 32  # real images, and as many synthetic ones
VERDICT_COLOURS = {
    "improves": "#1a7f37",
    "hurts": "#cf222e",
    "equivalent": "#0969da",
    "inconclusive": "#6e7781",
}


def headline_comparisons(report, metric):
    """The comparisons of the headline class for ``metric``, in report order."""
    class_ = primary_class(report)
    return [
        c
        for c in report["comparisons"]
        if c["metric"] == metric and c.get("class", class_) == class_
    ]


@plain_text
def forest_figure(report, metrics=HEADLINE, title=True):
    """Every comparison's mean delta with its 95 % CI, one panel per metric: the rope band
    shaded, each fold's delta as a dot, the interval coloured by its verdict. ``title``: the
    generator and dataset above the panels (off where the page around it already says so)."""
    plt = pyplot()
    rope = report["protocol"]["rope"]
    panels = [(m, headline_comparisons(report, m)) for m in metrics]
    rows = max(len(found) for _, found in panels) or 1
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(9, 0.9 + 0.42 * rows * len(panels) + 0.5 * len(panels)),
        squeeze=False,
    )  # fmt: skip
    for ax, (metric, found) in zip(axes[:, 0], panels, strict=True):
        ax.axvspan(-rope, rope, color="0.92", zorder=0, label=f"\u00b1rope ({rope})")
        ax.axvline(0, color="0.55", linewidth=0.8, zorder=1)
        labels = []
        for i, c in enumerate(found):
            y = len(found) - 1 - i
            deltas = paired_deltas(report["folds"], c["method"], c["versus"], metric)
            jitter = np.linspace(-0.12, 0.12, len(deltas)) if len(deltas) > 1 else [0.0]
            ax.scatter(deltas, y + np.asarray(jitter), s=9, color="0.55", alpha=0.6, zorder=2)
            colour = VERDICT_COLOURS[c["verdict"]]
            ci = (max(c["ci_low"], -1.0), min(c["ci_high"], 1.0))  # a 2-fold CI can be huge
            ax.plot(ci, [y, y], color=colour, linewidth=2.5, zorder=3)
            ax.scatter([c["delta_mean"]], [y], color=colour, s=36, zorder=4)
            ax.annotate(c["verdict"], (1.005, y), xycoords=("axes fraction", "data"),
                        va="center", fontsize="x-small", color=colour)  # fmt: skip
            label = f"{method_label(report, c['method'])} vs {method_label(report, c['versus'])}"
            labels.append((y, textwrap.fill(label, 46)))
        ax.set_yticks([y for y, _ in labels], [text for _, text in labels], fontsize="x-small")
        ax.set_ylim(-0.7, max(len(found), 1) - 0.3)
        ax.set_title(f"{LABELS[metric]}: difference with 95 % CI (dots: folds)", fontsize="small")
        ax.tick_params(axis="x", labelsize="x-small")
    axes[0, 0].legend(loc="lower right", fontsize="x-small")
    if title:
        name = f"{report['generator']['name']} on {report['dataset']['name']}"
        fig.suptitle(name, fontsize="medium")
    return fig


def selections(report):
    """``[(fold label, selection record)]`` of the augmented method's generator fits."""
    found = []
    for r in report["folds"]:
        if r["method"] != AUGMENTATION[0] or "selection" not in r:
            continue
        records = r["selection"] if isinstance(r["selection"], list) else [r["selection"]]
        for i, record in enumerate(records):
            # one-model-per-class samplers record one selection per generated class
            per_class = record if "history" not in record else {"": record}
            for label, selection in per_class.items():
                if selection:
                    name = f"r{r['repeat']}f{r['fold']}" + (f" s{i}" if i else "")
                    found.append((name + (f" {label}" if label else ""), selection))
    return found


@plain_text
def selection_figure(found):
    """For every generator fit, the selection metric (left) and the training loss (right)
    at every evaluated checkpoint; the kept checkpoints are dots."""
    plt = pyplot()
    fig, (metric_ax, loss_ax) = plt.subplots(1, 2, figsize=(9, 3.5))
    for name, selection in found:
        steps = [h[0] for h in selection["history"]]
        values = [h[1] for h in selection["history"]]
        losses = [h[2][-1] if isinstance(h[2], list) else h[2] for h in selection["history"]]
        (line,) = metric_ax.plot(steps, values, linewidth=1, label=name)
        best = steps.index(selection["best_step"])
        metric_ax.scatter([steps[best]], [values[best]], color=line.get_color(), zorder=3)
        loss_ax.plot(steps, losses, linewidth=1, color=line.get_color())
    metric = found[0][1]["metric"]
    metric_ax.set_xlabel("optimiser step")
    metric_ax.set_ylabel({"coverage": "\u2212coverage"}.get(metric, metric) + " (lower is better)")
    metric_ax.set_title("Sample metric on held-out rows; dots: kept", fontsize="small")
    loss_ax.set_xlabel("optimiser step")
    loss_ax.set_ylabel("training loss (the generator's, for a GAN)")
    loss_ax.set_title("Training loss at the same checkpoints", fontsize="small")
    if len(found) <= 12:
        metric_ax.legend(fontsize="xx-small", ncol=2)
    return fig


@plain_text
def reliability_figure(report):
    """The reliability diagram: for every method, the observed minority rate against the mean
    predicted probability per bin (pooled over folds), the diagonal a calibrated model."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.6))
    ax.plot([0, 1], [0, 1], color="0.6", linewidth=0.8, linestyle="--", label="calibrated")
    for method, bins in report["calibration"].items():
        if REGISTRY[method].tunes_threshold:  # a threshold changes no probability
            continue
        points = [(p, o) for p, o in zip(bins["predicted"], bins["observed"], strict=True)
                  if p is not None]  # fmt: skip
        if points:
            predicted, observed = zip(*points, strict=True)
            ax.plot(predicted, observed, marker="o", markersize=3, linewidth=1.2,
                    label=method_label(report, method))  # fmt: skip
    ax.set_xlabel("mean predicted minority probability", fontsize="small")
    ax.set_ylabel("observed minority rate", fontsize="small")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Reliability of the minority probability (test parts, pooled)", fontsize="small")
    ax.legend(fontsize="xx-small", loc="upper left")
    return fig


@plain_text
def grid_figure(real, synthetic, image_shape, generator, n_images=GRID_IMAGES, random_state=0):
    """Up to ``n_images`` real minority images above as many synthetic ones (flattened rows
    of ``image_shape``), each drawn at least 28 screen pixels wide, both blocks labelled.
    Pixels are scaled by the range of the real images."""
    import torch
    from torchvision.utils import make_grid

    plt = pyplot()
    rng = np.random.RandomState(random_state)
    n = min(n_images, len(real), len(synthetic))
    low, high = float(np.min(real)), float(np.max(real))
    scale = max(1, math.ceil(32 / max(image_shape[1:])))  # 8 x 8 digits drawn at 32 pixels
    blocks = []
    for rows in (real, synthetic):
        chosen = np.asarray(rows, dtype=np.float32)[rng.choice(len(rows), n, replace=False)]
        images = (torch.from_numpy(chosen).view(-1, *image_shape) - low) / max(high - low, 1e-12)
        images = torch.nn.functional.interpolate(images.clamp(0, 1), scale_factor=scale)
        grid = make_grid(images, nrow=8, padding=2, pad_value=1.0)
        # make_grid draws grey images in three equal channels
        blocks.append(grid[0].numpy() if image_shape[0] == 1 else grid.permute(1, 2, 0).numpy())
    height, width = blocks[0].shape[:2]
    dpi = 100
    fig, axes = plt.subplots(2, 1, figsize=(width / dpi + 0.4, 2 * height / dpi + 0.9), dpi=dpi)
    titles = ("real minority images (training part)", f"{generator} samples")
    for ax, block, title in zip(axes, blocks, titles, strict=True):
        ax.imshow(block, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize="small")
        ax.axis("off")
    return fig


def sample_figures(report, samples):
    """``{file name: draw}`` of the report's sample figures (the image grid, the tabular
    scatter), ``draw`` a function returning the figure drawn from ``samples`` (the
    ``(real, synthetic)`` minority rows of the first fold's fit), None without them."""
    found = {}
    name = report["generator"]["name"]
    if grid := report.get("sample_grid"):
        shape = tuple(report["dataset"]["image_shape"])
        found[grid] = lambda: grid_figure(*samples, shape, name)
    if block := report.get("sample_scatter"):
        categorical = report["dataset"].get("categorical", ())
        found[block["file"]] = lambda: scatter_figure(*samples, block, name, categorical)
    return {file: (None if samples is None else draw) for file, draw in found.items()}


def write(fig, path, dpi=100):
    """Save ``fig`` to ``path`` (atomically) and free it."""
    save_figure(fig, path, dpi=dpi)
    return path
