"""Speed and quality of the VAE generators on the user's scenario, in one table.

``seed_case`` (20,500 rows, 20 features, 500 minority rows), 20% held out (stratified);
every generator is fitted on the rest. For each one: fit time, fit time over a bare
hand-written torch loop training the same network, time to sample 20,000 minority rows,
and the C2ST AUC of its synthetic minority against the held-out real minority (mean over
``C2ST_DRAWS`` fresh synthetic draws, each with its own C2ST folds). ctgan's TVAE (the
``bench`` extra) is the reference; it is fitted once (minutes), and compared with the
slowest of the CVAE's fits, so that taking the best of several runs cannot favour ours.

Budgets are epochs, as TVAE's are: the samplers count optimiser steps, so each gets
``steps_for_epochs(epochs, training rows, BATCH_SIZE)`` steps (the CVAE trains on every
training row, the VAE on the training minority rows), which are exactly ``epochs`` full
passes; the bare loops run the same epochs, so the same steps. Both samplers get
``batch_size=BATCH_SIZE`` and ``hidden_dims=HIDDEN_DIMS`` explicitly (not "auto"), so that
the bare loops' networks are theirs, with the same decoder likelihood (the samplers'
default Gaussian with one shared, fitted variance). The CVAE keeps its default class-balanced
batches (rows drawn by weight; the bare loops permute the rows): the work per step is the
same, and its samples are the default CVAE's for the second table.

A second table sets the diffusion generator (``DDPMSampler`` at its defaults: the
``generator=ddpm`` a user gets) beside the CVAE's prior samples (the fit above), TVAE and
imbalanced-learn's SMOTE, each judged against the same unseen real minority rows (the
held-out 20 %): fit seconds; C2ST AUC, PRDC recall and coverage (Naeem et al. 2020, k = 5,
standardised by the training part) of ``C2ST_DRAWS`` synthetic sets as large as the
held-out minority; and the F1 and ROC AUC deltas of logistic regression (the default
classifier's settings, standardised) trained on the training part plus as many synthetic
minority rows as balance it, against the same classifier on the training part alone, on the
held-out part (one split: single numbers, not fold means). With the extras installed
(``pip install "synthbalance[smote_variants,forest_diffusion]"``) the table adds
smote-variants' two top-ranked oversamplers (polynom_fit_SMOTE and ProWSyn, Kovács 2019) and
ForestDiffusion (smaller than its defaults: ``FOREST``); these and SMOTE are fitted once and
their C2ST draws come from their new rows. Target: ddpm's C2ST below TVAE's and below
the CVAE prior's, by the upper end of the paired draws' 95 % CI.

A third table repeats the second on four KEEL sets (``KEEL_SETS``, split the same way),
every generator at its defaults: the CVAE (prior samples) and ddpm as a user gets them,
TVAE at ctgan's default 300 epochs.

Usage::

    python benchmarks/bench_generators.py           # full benchmark, a few minutes
    python benchmarks/bench_generators.py --quick   # smoke check, about a minute
"""

import argparse
import sys
import time

import numpy as np
import pandas as pd
import torch
from imblearn.over_sampling import SMOTE
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch.utils.flop_counter import FlopCounterMode

from synthbalance.generators import (
    VAE,
    CVAESampler,
    DDPMSampler,
    ForestDiffusionSampler,
    MissingExtraError,
    SmoteVariantsSampler,
    VAESampler,
)
from synthbalance.generators._likelihoods import make_likelihood
from synthbalance.generators._vae import vae_loss
from synthbalance.generators.metrics import c2st_auc, prdc_scores
from synthbalance.generators.training import adam, steps_for_epochs
from synthbalance.pipelines.datasets import keel, seed_case

SEED = 0
THREADS = 2
BATCH_SIZE = 500
N_SAMPLE = 20_000
LATENT_DIM, HIDDEN_DIMS, LR, BETA = 8, (128, 128), 1e-3, 1.0
OUTPUT_VARIANCE = "shared"  # the samplers' default: the Gaussian decoder's fitted variance
MODES = ("prior", "posterior", "latent_average")
LABEL = "target"

# The third table's KEEL sets: those of experiment=keel_benchmark with the most minority
# rows (the C2ST needs unseen ones: 20 % of the minority), yeast3 the most imbalanced.
KEEL_SETS = ("pima", "vehicle1", "yeast1", "yeast3")
# ForestDiffusion smaller than its defaults: bench_third_party.py's FULL forest.
FOREST = dict(n_t=10, duplicate_K=20, n_estimators=50)

# tvae_max_drawn: TVAE cannot be conditioned, so its minority rows come from sampling and
# filtering; it gets at most this many draws to find them.
FULL = dict(
    n_majority=20_000,
    cvae_epochs=30,
    vae_epochs=300,
    tvae_epochs=30,
    tvae_max_drawn=2_000_000,
    ddpm_steps="auto",
    repeats=3,
    keel_sets=KEEL_SETS,
    keel_cvae_steps="auto",
    keel_tvae_epochs=300,
)
QUICK = dict(
    n_majority=1_500,
    cvae_epochs=3,
    vae_epochs=30,
    tvae_epochs=3,
    tvae_max_drawn=200_000,
    ddpm_steps=300,
    repeats=1,
    keel_sets=KEEL_SETS[:1],
    keel_cvae_steps=100,
    keel_tvae_epochs=10,
)

TARGET_BARE_RATIO = 1.5
TARGET_SAMPLE_SECONDS = 0.2
TARGET_TVAE_RATIO = 15.0
TARGET_C2ST_MARGIN = 0.02
# C2ST draws per generator; draw i of every generator uses C2ST seed SEED + i, so the
# generators' AUCs pair up draw by draw.
C2ST_DRAWS = 30


def log(message):
    print(message, file=sys.stderr, flush=True)


def bare_fit_seconds(X, c, n_classes, *, epochs, batch_size):
    """Seconds a minimal torch loop takes to train the samplers' network on ``X``.

    Standardises once with numpy, builds the tensors once, and trains ``VAE`` (with the
    samplers' decoder likelihood) for ``epochs`` full passes with Adam, ``torch.randperm``
    shuffling and ``vae_loss``: the lower bound for a sampler's fit.
    """
    start = time.perf_counter()
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    tensors = [torch.as_tensor(Z, dtype=torch.float32)]
    if c is not None:
        tensors.append(torch.as_tensor(c, dtype=torch.long))
    generator = torch.Generator().manual_seed(SEED)
    torch.manual_seed(SEED)
    likelihood = make_likelihood("gaussian", X.shape[1], OUTPUT_VARIANCE)
    model = VAE(X.shape[1], LATENT_DIM, HIDDEN_DIMS, n_classes, likelihood=likelihood)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    for _ in range(epochs):
        order = torch.randperm(len(Z), generator=generator)
        for first in range(0, len(Z), batch_size):
            index = order[first : first + batch_size]
            loss = vae_loss(model, *(t[index] for t in tensors), beta=BETA, generator=generator)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start


def step_throughput(n_features, n_classes, steps=300, rounds=3):
    """The CVAE's training step on one thread against one core's FP32 matrix-multiply rate.

    FLOPs of one step (forward and backward, ``torch.utils.flop_counter``) of the samplers'
    network on a batch of ``BATCH_SIZE``, the best of ``rounds`` timings of ``steps`` steps
    (Adam as the samplers use it), and the best rate of a 2048 x 2048 matrix product on the
    same thread: how far the step is from what the hardware does on dense work.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    likelihood = make_likelihood("gaussian", n_features, OUTPUT_VARIANCE)
    model = VAE(n_features, LATENT_DIM, HIDDEN_DIMS, n_classes, likelihood=likelihood)
    optimizer = adam(model.parameters(), LR)
    x = torch.randn(BATCH_SIZE, n_features)
    c = torch.randint(n_classes, (BATCH_SIZE,))
    generator = torch.Generator().manual_seed(SEED)

    def step():
        loss = vae_loss(model, x, c, beta=BETA, generator=generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    step_seconds = best_seconds(lambda: [step() for _ in range(steps)], rounds) / steps
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    peak = 2 * 2048**3 / best_seconds(lambda: a @ b, 5)
    torch.set_num_threads(threads)
    achieved = flops / step_seconds
    return (
        f"CVAE training step (batch {BATCH_SIZE}, one thread): {flops / 1e6:.1f} MFLOP in "
        f"{step_seconds * 1e3:.2f} ms = {achieved / 1e9:.1f} GFLOP/s; one core's FP32 matmul "
        f"(2048 x 2048): {peak / 1e9:.1f} GFLOP/s; the step reaches {achieved / peak:.0%} of it"
    )


def best_seconds(function, repeats):
    """Wall time of the fastest of ``repeats`` calls of ``function``."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return min(seconds)


def fit_against_bare(sampler_class, X_train, y_train, bare_args, epochs, repeats):
    """Fit a sampler for ``epochs`` passes over its training rows (``bare_args[0]``, in
    optimiser steps) and its bare loop for ``epochs``, ``repeats`` times, interleaved so that
    load on the machine hits both alike; return the fitted sampler, the sampler's fit times
    and the bare loop's best."""
    steps = steps_for_epochs(epochs, len(bare_args[0]), BATCH_SIZE)
    sampler_seconds, bare_seconds = [], []
    for _ in range(repeats):
        bare_seconds.append(bare_fit_seconds(*bare_args, epochs=epochs, batch_size=BATCH_SIZE))
        sampler = sampler_class(
            steps=steps, batch_size=BATCH_SIZE, hidden_dims=HIDDEN_DIMS, latent_dim=LATENT_DIM,
            lr=LR, beta=BETA, output_variance=OUTPUT_VARIANCE, device="cpu", random_state=SEED,
        )  # fmt: skip
        sampler.fit_resample(X_train, y_train)
        sampler_seconds.append(sampler.fit_seconds_)
    return sampler, sampler_seconds, min(bare_seconds), steps


def draw_from(pool, n, i):
    """Draw ``i`` of ``C2ST_DRAWS`` sets of ``n`` rows from ``pool``: disjoint slices when
    it holds that many rows (fresh rows each draw), else a subset seeded by ``i``
    (without replacement unless the pool has fewer than ``n`` rows)."""
    if len(pool) >= C2ST_DRAWS * n:
        return pool[i * n : (i + 1) * n]
    return pool[np.random.RandomState(SEED + i).choice(len(pool), n, replace=len(pool) < n)]


def c2st_draws(held_out, draw):
    """C2ST AUCs of ``C2ST_DRAWS`` synthetic sets from ``draw(i)`` against ``held_out``."""
    return np.array([c2st_auc(held_out, draw(i), random_state=SEED + i) for i in range(C2ST_DRAWS)])


def sampler_rows(name, sampler, fit_seconds, bare_seconds, held_out, minority, repeats):
    """One table row per sampling mode: sample-20k time and C2ST AUCs."""
    rows = []
    for mode in MODES:
        sampler.set_params(sampling=mode)
        sample_seconds = best_seconds(lambda: sampler.sample(N_SAMPLE, y=minority), repeats)
        # sample() reseeds from the sampler's random_state unless given one: a seed per draw
        aucs = c2st_draws(
            held_out, lambda i: sampler.sample(len(held_out), y=minority, random_state=SEED + i)
        )
        rows.append(
            dict(
                name=f"{name} {mode}",
                fit=fit_seconds,
                ratio=fit_seconds / bare_seconds,
                sample=sample_seconds,
                auc=aucs.mean(),
                auc_sd=aucs.std(ddof=1),
                aucs=aucs,
            )
        )
    return rows


def real_row(held_out, train_minority):
    """The C2ST noise floor: real training minority rows against the held-out ones."""
    rng = np.random.RandomState(SEED)
    n = len(held_out)
    aucs = c2st_draws(
        held_out, lambda i: train_minority[rng.choice(len(train_minority), n, replace=False)]
    )
    return dict(name="real (train minority)", auc=aucs.mean(), auc_sd=aucs.std(ddof=1))


def tvae_minority(tvae, n_rows, minority, max_drawn):
    """``n_rows`` generated minority feature rows, fewer if ``max_drawn`` draws do not hold
    that many; and the number of rows drawn."""
    parts, n_found, n_drawn = [], 0, 0
    chunk = min(max(10_000, 20 * n_rows), max_drawn)
    while n_found < n_rows and n_drawn < max_drawn:
        frame = tvae.sample(chunk)
        n_drawn += chunk
        rows = frame.loc[frame[LABEL] == minority].drop(columns=LABEL).to_numpy(np.float64)
        parts.append(rows)
        n_found += len(rows)
    return np.concatenate(parts)[:n_rows], n_drawn


def tvae_row(X_train, y_train, held_out, minority, settings, notes):
    tvae, fit_seconds = fit_tvae(X_train, y_train, settings["tvae_epochs"], notes)
    if tvae is None:
        return None

    start = time.perf_counter()
    rows, n_drawn = tvae_minority(tvae, N_SAMPLE, minority, settings["tvae_max_drawn"])
    sample_seconds = time.perf_counter() - start
    notes.append(
        f"TVAE: fitted on the whole training part with `{LABEL}` as a discrete column (it "
        f"cannot be conditioned); minority rows come from sample() + filter: "
        f"{len(rows):,} of {n_drawn:,} drawn rows had label {minority}."
    )
    if len(rows) < N_SAMPLE:
        sample_seconds = float("nan")
    n = len(held_out)
    synthetic, _ = tvae_minority(tvae, C2ST_DRAWS * n, minority, settings["tvae_max_drawn"])
    row = dict(name="TVAE (ctgan)", fit=fit_seconds, ratio=None, sample=sample_seconds)
    row |= dict(rows=rows, draws=synthetic)  # for the second table
    if len(synthetic) < n:
        notes.append(f"TVAE: too few minority rows for a C2ST ({len(synthetic)}).")
        return row | dict(auc=float("nan"))
    if len(synthetic) < C2ST_DRAWS * n:
        notes.append(
            f"TVAE: {len(synthetic):,} minority rows for {C2ST_DRAWS} draws of {n}: its C2ST "
            "draws are subsets of them."
        )
    aucs = c2st_draws(held_out, lambda i: draw_from(synthetic, n, i))
    return row | dict(auc=aucs.mean(), auc_sd=aucs.std(ddof=1), aucs=aucs)


def _cell(value, spec):
    if value is None:
        return "-"
    if isinstance(value, float) and np.isnan(value):
        return "n/a"
    return format(value, spec)


def _line(cells, widths):
    """Name left-aligned, numbers right-aligned."""
    return "  ".join(
        cell.ljust(width) if i == 0 else cell.rjust(width)
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
    )


def format_table(rows):
    columns = [
        ("generator", "name", "s"),
        ("fit s", "fit", ".2f"),
        ("fit / bare", "ratio", ".2f"),
        (f"sample {N_SAMPLE // 1000}k s", "sample", ".3f"),
        ("C2ST AUC", "auc", ".3f"),
        ("sd", "auc_sd", ".3f"),
    ]
    return _table(columns, rows)


def _table(columns, rows):
    """``rows`` (dicts) as a text table of ``columns``: (header, key, format spec) each."""
    header = [head for head, _, _ in columns]
    cells = [[_cell(row.get(key), spec) for _, key, spec in columns] for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(header, *cells, strict=True)]
    lines = [_line(header, widths), "  ".join("-" * width for width in widths)]
    return "\n".join(lines + [_line(row, widths) for row in cells])


def paired_upper(a, b):
    """Mean of the paired differences ``a - b`` (draw by draw) and the upper end of its 95 %
    CI over the ``C2ST_DRAWS`` draws: a target on it is not met by a lucky draw."""
    difference = a - b
    half_width = stats.t.ppf(0.975, C2ST_DRAWS - 1) * stats.sem(difference)
    return difference.mean(), difference.mean() + half_width


def verdict(passed):
    return "PASS" if passed else "FAIL"


def targets(cvae_rows, cvae_fits, cvae_bare, tvae):
    lines = []
    ratio = min(cvae_fits) / cvae_bare
    lines.append(
        f"CVAESampler fit / bare loop = {ratio:.2f} (target <= {TARGET_BARE_RATIO}): "
        f"{verdict(ratio <= TARGET_BARE_RATIO)}"
    )
    for row in cvae_rows:
        lines.append(
            f"{row['name']} sample({N_SAMPLE}) = {row['sample']:.3f} s "
            f"(target < {TARGET_SAMPLE_SECONDS}): {verdict(row['sample'] < TARGET_SAMPLE_SECONDS)}"
        )
    if tvae is None:
        lines.append("TVAE targets: SKIPPED (ctgan not importable)")
        return lines
    ratio = tvae["fit"] / max(cvae_fits)  # TVAE fitted once: against our slowest fit
    lines.append(
        f"TVAE fit / slowest CVAESampler fit = {ratio:.1f} (target >= {TARGET_TVAE_RATIO:g}): "
        f"{verdict(ratio >= TARGET_TVAE_RATIO)}"
    )
    if np.isnan(tvae["auc"]):
        lines.append("C2ST target: SKIPPED (TVAE made too few minority rows for a C2ST)")
        return lines
    for row in cvae_rows:
        mean, high = paired_upper(row["aucs"], tvae["aucs"])
        lines.append(
            f"{row['name']} C2ST - TVAE C2ST = {mean:+.3f}, 95 % CI upper end "
            f"{high:+.3f} over {C2ST_DRAWS} paired draws (target <= {TARGET_C2ST_MARGIN}): "
            f"{verdict(high <= TARGET_C2ST_MARGIN)}"
        )
    return lines


class Judge:
    """The second table's measures of synthetic minority rows, against one split's unseen
    real minority rows (``held_out``) and its test part."""

    def __init__(self, X_train, y_train, X_test, y_test, minority):
        self.X_train, self.y_train = X_train, y_train
        self.X_test, self.is_minority = X_test, y_test == minority
        self.held_out = X_test[self.is_minority]
        self.minority = minority
        self.scaler = StandardScaler().fit(X_train)
        self.n_new = int((y_train != minority).sum() - (y_train == minority).sum())
        self.baseline = self.scores(X_train, y_train)

    def scores(self, X, y):
        """F1 and ROC AUC of the minority on the test part, logistic regression fitted on X, y."""
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
        model.fit(X, y == self.minority)
        probability = model.predict_proba(self.X_test)[:, 1]
        return f1_score(self.is_minority, probability >= 0.5), roc_auc_score(
            self.is_minority, probability
        )

    def rate(self, name, fit_seconds, draw, augmentation=None):
        """A table row: C2ST, recall and coverage of ``C2ST_DRAWS`` sets ``draw(i)`` (as many
        rows as ``held_out``; draw i against C2ST seed SEED + i, as in the first table), and
        the deltas of training on ``augmentation`` (``n_new`` synthetic minority rows) too."""
        aucs, recall, coverage = [], [], []
        real = self.scaler.transform(self.held_out)
        for i in range(C2ST_DRAWS):
            synthetic = np.asarray(draw(i), dtype=np.float64)
            aucs.append(c2st_auc(self.held_out, synthetic, random_state=SEED + i))
            prdc = prdc_scores(real, self.scaler.transform(synthetic), nearest_k=5)
            recall.append(prdc["recall"])
            coverage.append(prdc["coverage"])
        aucs = np.array(aucs)
        row = dict(name=name, fit=fit_seconds, auc=aucs.mean(), auc_sd=aucs.std(ddof=1),
                   aucs=aucs, recall=np.mean(recall), coverage=np.mean(coverage))  # fmt: skip
        if augmentation is not None:
            X = np.vstack([self.X_train, augmentation])
            y = np.concatenate([self.y_train, np.full(len(augmentation), self.minority)])
            f1, roc_auc = self.scores(X, y)
            row |= dict(d_f1=f1 - self.baseline[0], d_auc=roc_auc - self.baseline[1])
        return row


def ddpm_row(judge, steps):
    """DDPMSampler at its defaults (``steps`` "auto", or the quick run's), fitted once."""
    sampler = DDPMSampler(steps=steps, device="cpu", random_state=SEED)
    X_res, y_res = sampler.fit_resample(judge.X_train, judge.y_train)
    new = X_res[len(judge.X_train) :]
    n = len(judge.held_out)
    row = judge.rate(
        "DDPMSampler",
        sampler.fit_seconds_,
        lambda i: sampler.sample(n, y=judge.minority, random_state=SEED + i),
        new,
    )
    start = time.perf_counter()
    sampler.sample(N_SAMPLE, y=judge.minority)
    return row | dict(sample=time.perf_counter() - start, steps=sampler.steps_)


def resampled_row(judge, name, sampler):
    """An imbalanced-learn sampler fitted once (``fit_resample`` timed whole): its new rows
    are the augmentation, and its C2ST draws come from them (``draw_from``)."""
    start = time.perf_counter()
    X_res, _ = sampler.fit_resample(judge.X_train, judge.y_train)
    seconds = time.perf_counter() - start
    new = np.asarray(X_res[len(judge.X_train) :], dtype=np.float64)
    n = len(judge.held_out)
    return judge.rate(name, seconds, lambda i: draw_from(new, n, i), new)


def third_party_samplers(notes):
    """smote-variants' two top-ranked oversamplers and ForestDiffusion (``FOREST``), those
    whose extra is installed; a note for each that is not."""
    samplers = {
        "polynom_fit_SMOTE": SmoteVariantsSampler(method="polynom_fit_SMOTE", random_state=SEED),
        "ProWSyn": SmoteVariantsSampler(method="ProWSyn", random_state=SEED),
        "forest_diffusion": ForestDiffusionSampler(n_jobs=THREADS, random_state=SEED, **FOREST),
    }
    installed = {}
    for name, sampler in samplers.items():
        try:
            sampler.check_installed()
        except MissingExtraError as error:
            notes.append(f"{name} skipped: {error}")
            continue
        installed[name] = sampler
    return installed


def fit_tvae(X_train, y_train, epochs, notes):
    """ctgan's TVAE on the training part with the label as a discrete column (it cannot be
    conditioned), ``epochs`` at batch ``BATCH_SIZE``; and its fit seconds. Without the
    ``bench`` extra: None, and a note saying so."""
    try:
        from ctgan import TVAE
    except ImportError:
        notes.append("TVAE skipped: ctgan is not importable (the `bench` extra is not installed).")
        return None, None
    frame = pd.DataFrame(X_train).rename(columns=str)
    frame[LABEL] = y_train
    # enable_gpu=False is ctgan 0.12's spelling of the deprecated cuda=False.
    tvae = TVAE(epochs=epochs, batch_size=BATCH_SIZE, enable_gpu=False)
    tvae.set_random_state(SEED)
    start = time.perf_counter()
    tvae.fit(frame, discrete_columns=[LABEL])
    return tvae, time.perf_counter() - start


def field_rows(judge, cvae, cvae_fit, tvae, settings, notes):
    """The second table: ddpm, the CVAE's prior samples, TVAE (``tvae``: its fit seconds,
    ``rows`` to augment with and C2ST ``draws``, or None), SMOTE, the third-party generators
    whose extras are installed, and the real rows."""
    n = len(judge.held_out)
    log("fitting DDPMSampler")
    rows = [ddpm_row(judge, settings["ddpm_steps"])]
    cvae.set_params(sampling="prior")
    rows.append(judge.rate(
        "CVAESampler prior", cvae_fit,
        lambda i: cvae.sample(n, y=judge.minority, random_state=SEED + i),
        cvae.sample(judge.n_new, y=judge.minority, random_state=SEED),
    ))  # fmt: skip
    if tvae is not None and len(tvae["draws"]) >= n:
        augmentation = tvae["rows"][: judge.n_new]
        if len(augmentation) < judge.n_new:
            notes.append(f"TVAE: only {len(augmentation):,} minority rows to augment with.")
        rows.append(judge.rate(
            "TVAE (ctgan)", tvae["fit"], lambda i: draw_from(tvae["draws"], n, i), augmentation,
        ))  # fmt: skip
    log("SMOTE")
    rows.append(resampled_row(judge, "SMOTE", SMOTE(random_state=SEED)))
    for name, sampler in third_party_samplers(notes).items():
        log(f"fitting {name}")
        rows.append(resampled_row(judge, name, sampler))
    train_minority = judge.X_train[judge.y_train == judge.minority]
    rng = np.random.RandomState(SEED)
    rows.append(judge.rate(
        "real (train minority)", None,
        lambda i: train_minority[rng.choice(len(train_minority), n, replace=False)],
    ))  # fmt: skip
    return rows


def keel_judge(name):
    """One KEEL set split as seed_case is (80/20, stratified, seed ``SEED``)."""
    data = keel(name)
    X, y = data.X.to_numpy(np.float64), np.asarray(data.y)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=SEED
    )
    return Judge(X_train, y_train, X_test, y_test, data.minority)


def keel_tvae(judge, settings, notes):
    """TVAE for a KEEL set at ctgan's default 300 epochs (``keel_tvae_epochs``): its fit
    seconds, rows to augment with and C2ST draws (the second table's ``tvae``)."""
    tvae, seconds = fit_tvae(judge.X_train, judge.y_train, settings["keel_tvae_epochs"], notes)
    if tvae is None:
        return None
    max_drawn = settings["tvae_max_drawn"]
    rows, _ = tvae_minority(tvae, judge.n_new, judge.minority, max_drawn)
    wanted = C2ST_DRAWS * len(judge.held_out)
    draws, n_drawn = tvae_minority(tvae, wanted, judge.minority, max_drawn)
    if len(draws) < len(judge.held_out):
        notes.append(f"TVAE left out: {len(draws):,} minority rows in {n_drawn:,} drawn.")
    elif len(draws) < wanted:
        notes.append(f"TVAE: {len(draws):,} minority rows; its C2ST draws are subsets of them.")
    return dict(fit=seconds, rows=rows, draws=draws)


def print_keel(settings):
    """The second table on each of ``keel_sets``, every generator at its defaults."""
    for name in settings["keel_sets"]:
        log(f"KEEL {name}")
        judge, notes = keel_judge(name), []
        cvae = CVAESampler(steps=settings["keel_cvae_steps"], device="cpu", random_state=SEED)
        cvae.fit_resample(judge.X_train, judge.y_train)
        tvae = keel_tvae(judge, settings, notes)
        rows = field_rows(judge, cvae, cvae.fit_seconds_, tvae, settings, notes)
        n_minority = int((judge.y_train == judge.minority).sum())
        print(
            f"\nKEEL {name}: {len(judge.y_train)} training rows ({n_minority} minority), "
            f"{len(judge.held_out)} unseen minority rows; baseline F1 {judge.baseline[0]:.3f}, "
            f"ROC AUC {judge.baseline[1]:.3f}; the deltas add {judge.n_new} synthetic rows"
        )
        print(format_field(rows))
        print("\n".join(f"- {note}" for note in notes))


def format_field(rows):
    columns = [
        ("generator", "name", "s"),
        ("fit s", "fit", ".2f"),
        ("C2ST AUC", "auc", ".3f"),
        ("sd", "auc_sd", ".3f"),
        ("recall", "recall", ".3f"),
        ("coverage", "coverage", ".3f"),
        ("dF1", "d_f1", "+.3f"),
        ("dROC AUC", "d_auc", "+.4f"),
    ]
    return _table(columns, rows)


def print_field(judge, cvae, cvae_fit, tvae, settings):
    """The second table, its notes and its target. The CVAE's fit time is its slowest
    (ddpm and TVAE are fitted once)."""
    notes = []
    rows = field_rows(judge, cvae, cvae_fit, tvae, settings, notes)
    notes.append(
        f"DDPMSampler: its defaults ({rows[0]['steps']:,} steps of 256 rows, 1,000 diffusion "
        f"timesteps, 100 sampling steps), fitted once; sample({N_SAMPLE}) took "
        f"{rows[0]['sample']:.1f} s. Baseline (training part alone): F1 "
        f"{judge.baseline[0]:.3f}, ROC AUC {judge.baseline[1]:.3f}; the deltas add "
        f"{judge.n_new:,} synthetic minority rows."
    )
    print("\nddpm against the field (unseen real minority rows; deltas on the held-out part):")
    print(format_field(rows))
    print("\nnotes:")
    print("\n".join(f"- {note}" for note in notes))
    print("\ntargets:")
    print("\n".join(f"- {line}" for line in ddpm_targets(rows)))


def ddpm_targets(rows):
    """ddpm's C2ST below TVAE's and the CVAE prior's: the upper end of the 95 % CI of the
    paired difference (draw by draw) below 0."""
    by_name = {row["name"]: row for row in rows}
    ddpm, lines = by_name["DDPMSampler"], []
    for name in ("TVAE (ctgan)", "CVAESampler prior"):
        if name not in by_name:
            lines.append(f"ddpm C2ST below {name}: SKIPPED (no {name} row)")
            continue
        mean, high = paired_upper(ddpm["aucs"], by_name[name]["aucs"])
        lines.append(
            f"ddpm C2ST {ddpm['auc']:.3f} - {name} C2ST {by_name[name]['auc']:.3f} = "
            f"{mean:+.3f}, 95 % CI upper end {high:+.3f} over {C2ST_DRAWS} "
            f"paired draws (target < 0): {verdict(high < 0)}"
        )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke check: 1,500 majority rows, a tenth of the epochs (steps), one repeat",
    )
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    torch.set_num_threads(THREADS)
    repeats = settings["repeats"]

    data = seed_case(n_majority=settings["n_majority"], random_state=SEED)
    minority = data.minority
    X_train, X_test, y_train, y_test = train_test_split(
        data.X, data.y, test_size=0.2, stratify=data.y, random_state=SEED
    )
    held_out = X_test[y_test == minority].to_numpy(np.float64)
    X_train_np = X_train.to_numpy(np.float64)
    is_minority = y_train == minority
    notes = [
        f"{'quick' if args.quick else 'full'} run: {len(y_train):,} training rows "
        f"({is_minority.sum()} minority), {len(held_out)} held-out minority rows; "
        f"torch threads {THREADS}; times are the best of {repeats} run(s) "
        "(sampler and bare loop interleaved); TVAE fitted once.",
        f"C2ST: {len(held_out)} synthetic minority rows against the {len(held_out)} held-out "
        "ones, HistGradientBoosting, 5-fold; mean and sd over "
        f"{C2ST_DRAWS} draws (fresh synthetic rows and folds each; the held-out rows stay the "
        "same, so the sd leaves out their own sampling noise). The 'real' row is training "
        "minority rows (a fresh subsample each draw) against the held-out ones: the noise floor.",
    ]

    log("warming up torch")
    bare_fit_seconds(X_train_np[:1000], None, 0, epochs=1, batch_size=BATCH_SIZE)

    log("fitting CVAESampler and its bare loop")
    cvae, cvae_fits, cvae_bare, cvae_steps = fit_against_bare(
        CVAESampler,
        X_train,
        y_train,
        (X_train_np, is_minority.astype(np.int64), 2),
        settings["cvae_epochs"],
        repeats,
    )
    log("fitting VAESampler and its bare loop")
    vae, vae_fits, vae_bare, vae_steps = fit_against_bare(
        VAESampler,
        X_train,
        y_train,
        (X_train_np[is_minority], None, 0),
        settings["vae_epochs"],
        repeats,
    )
    notes.insert(
        1,
        f"CVAE: {settings['cvae_epochs']} epochs = {cvae_steps:,} optimiser steps, batch "
        f"{BATCH_SIZE}, on all training rows. VAE: {settings['vae_epochs']} epochs = "
        f"{vae_steps:,} steps, batch {BATCH_SIZE} (not the default 128), on the training "
        "minority rows only. The bare loops run the same epochs and steps.",
    )
    log("sampling and C2ST")
    cvae_rows = sampler_rows(
        "CVAESampler", cvae, min(cvae_fits), cvae_bare, held_out, minority, repeats
    )
    vae_rows = sampler_rows("VAESampler", vae, min(vae_fits), vae_bare, held_out, minority, repeats)
    log("fitting TVAE")
    tvae = tvae_row(X_train, y_train, held_out, minority, settings, notes)

    rows = [
        *cvae_rows,
        dict(name="bare loop (CVAE net)", fit=cvae_bare, ratio=1.0),
        *vae_rows,
        dict(name="bare loop (VAE net)", fit=vae_bare, ratio=1.0),
        *([tvae] if tvae is not None else []),
        real_row(held_out, X_train_np[is_minority]),
    ]
    print(format_table(rows))
    print("\nnotes:")
    print("\n".join(f"- {note}" for note in notes))
    print("\ntargets:")
    print("\n".join(f"- {line}" for line in targets(cvae_rows, cvae_fits, cvae_bare, tvae)))
    print("\nthroughput:")
    print(f"- {step_throughput(X_train_np.shape[1], 2)}")
    judge = Judge(X_train_np, y_train, X_test.to_numpy(np.float64), y_test, minority)
    print_field(judge, cvae, max(cvae_fits), tvae, settings)
    print_keel(settings)


if __name__ == "__main__":
    main()
