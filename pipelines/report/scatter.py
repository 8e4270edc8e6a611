"""The sample scatter of tabular runs: real and synthetic minority rows of the first fold's
generator fit on the two most informative features, the tables' counterpart of the image
sample grid.

"Most informative" is the mutual information of each feature with the class label on the
rows the generator was fitted on (the first fold's training part, at most ``RANKED_ROWS`` of
them, stratified): scikit-learn's ``mutual_info_classif``, a k-nearest-neighbour estimate
for continuous features (Kraskov et al. 2004; Ross 2014) and counts for categorical ones. The
two features that tell the classes apart best are those where a misplaced synthetic row
teaches the classifier most, so that is where the real and synthetic minority are drawn.
The ranking is a choice of what to draw and nothing is scored with it; report.json's
``sample_scatter`` records it (the features, their columns and mutual information).
"""

import numpy as np
from sklearn.feature_selection import mutual_info_classif
from sklearn.model_selection import train_test_split

from synthbalance.pipelines.io import plain_text, pyplot

SCATTER = "scatter.png"
# Rows the ranking reads at most: the k-NN estimate's cost grows with n log n per feature.
RANKED_ROWS = 2000
# Category codes are spread by up to this much either side, so that rows of one category
# do not all hide behind one dot.
JITTER = 0.15


def informative_features(X, y, names, *, categorical=(), random_state=0, n_features=2):
    """report.json's ``sample_scatter`` block for rows ``X`` (encoded: category codes in the
    ``categorical`` columns) with labels ``y``: the ``n_features`` columns of ``names``
    with the highest mutual information with ``y``, best first, or None with fewer columns."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if X.shape[1] < n_features:
        return None
    if len(y) > RANKED_ROWS:
        X, _, y, _ = train_test_split(
            X, y, train_size=RANKED_ROWS, stratify=y, random_state=random_state
        )
    discrete = np.isin(np.arange(X.shape[1]), list(categorical))
    scores = mutual_info_classif(X, y, discrete_features=discrete, random_state=random_state)
    top = np.argsort(-scores, kind="stable")[:n_features]
    return {
        "file": SCATTER,
        "features": [str(names[i]) for i in top],
        "columns": [int(i) for i in top],
        "mutual_information": [round(float(scores[i]), 4) for i in top],
        "ranked_on": int(len(y)),
    }


@plain_text
def scatter_figure(real, synthetic, block, generator, categorical=(), random_state=0):
    """Real minority rows (training part) and synthetic ones on the two features of
    ``block`` (report.json's ``sample_scatter``); features named in ``categorical`` have
    their category codes jittered."""
    plt = pyplot()
    rng = np.random.RandomState(random_state)
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    sets = (  # the real rows on top
        (synthetic, f"{generator} samples ({len(synthetic)})", "#d1242f", "x", 14, 0.35),
        (real, f"real minority, training part ({len(real)})", "#0969da", "o", 16, 0.8),
    )
    for rows, label, colour, marker, size, alpha in sets:
        rows = np.asarray(rows, dtype=np.float64)
        xy = [rows[:, column] for column in block["columns"]]
        for i, name in enumerate(block["features"]):
            if name in categorical:
                xy[i] = xy[i] + rng.uniform(-JITTER, JITTER, len(rows))
        ax.scatter(*xy, s=size, marker=marker, color=colour, alpha=alpha, linewidths=0.8,
                   label=label)  # fmt: skip
    labels = [f"{name} (MI {mi:.2f})" for name, mi in
              zip(block["features"], block["mutual_information"], strict=True)]  # fmt: skip
    ax.set_xlabel(labels[0], fontsize="small")
    ax.set_ylabel(labels[1], fontsize="small")
    ax.tick_params(labelsize="x-small")
    ax.set_title(
        "Minority rows on the two features most informative of the class", fontsize="small"
    )
    ax.legend(fontsize="x-small", loc="best")
    return fig
