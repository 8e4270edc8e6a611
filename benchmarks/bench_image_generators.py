"""Do the deep generators learn? Sample quality of every generator's default fit, on real images
(``mnist``) and on a table (``seed_case``).

Images (``--part images``): ``dataset=mnist`` with 500 images of the minority digit (3)
against the 4,500 of the other nine, split 80/20 (stratified, seed 0). Every deep generator
(vae, cvae, cgan, wgan_gp, msggan, stylegan) is built from its Hydra config (the defaults a
user gets, ``hidden_dims``/``batch_size``/``steps`` "auto") and fitted once on the training
part with ``selection=--selection`` (default ``last``, every generator's default: the final
weights, for the GANs their moving average), on ``--threads`` torch threads.
``--selection fd`` rates every ``eval_every`` steps the Fréchet distance of the samples to
held-out training images and keeps the best checkpoint, which yields the loss and the sample
metric at each checkpoint (the ``rho`` column; "-" with ``last``). Then, in
the feature space of ``synthbalance.pipelines.quality`` (a CNN trained on the real training
images: no pretrained Inception weights can be downloaded, so the Fréchet distance is an FID
stand-in, comparable only within this table), for 500 samples of the minority digit:

- CAS, the Classification Accuracy Score (Ravuri & Vinyals 2019): the share of samples that
  the feature CNN, trained on real images, calls the minority digit (``real``: the held-out
  real images of the digit);
- diversity: mean pairwise feature distance among the samples over that among the real
  training images of the digit (target >= 0.5; a collapsed generator is near 0);
- FD, C2ST AUC against the held-out real images (0.5: indistinguishable), precision, recall,
  density and coverage (Naeem et al. 2020, k = 5);
- TSTR F1: a CNN of the feature CNN's architecture (balanced sample weights) trained on the
  real majority images plus
  as many samples as there are real training images of the digit, F1 of the digit on the
  real test part (``real``: trained on the real images instead);
- rho: Spearman rank correlation of the training loss (the discriminator's for the GANs)
  with the sample metric over the evaluated checkpoints: does the loss track quality?

The VAEs are rated in each sampling mode (prior, posterior, latent_average with k = 10) from
the same fit. Targets: every default fit <= 300 s on 2 cores, CAS >= 0.90 and diversity >= 0.5
for every GAN and for the VAEs' prior and posterior modes.

One fit is one draw: the CAS of checkpoints of one GAN fit swings by several hundredths, and
``selection=fd`` chooses by FD alone. ``--seeds 0 1 2`` fits every generator once per seed
(its ``random_state``; the split, the feature CNN and the sampling seed stay fixed), prints a
row per fit and a ``mean`` row over the seeds, and checks the targets on every fit and on
the mean. SMOTE, TVAE and the VAEs' k table (the first seed's fit) are not repeated.

Tables (``--part tables``): ``seed_case`` (20,000 majority, 500 minority rows, 20 features),
split 80/20, standardised features. vae and cvae in each sampling mode, cgan, wgan_gp, smote
and ctgan's TVAE (its defaults, fitted on the minority rows; the ``bench`` extra) as the
reference: CAS and TSTR with logistic regression, the same two-sample metrics, diversity,
and how latent averaging's diversity shrinks with k = 1, 3, 10, 30. Targets: the prior
samples of vae and cvae at least as diverse as TVAE's and their C2ST no higher.

    python benchmarks/bench_image_generators.py [--part images tables]
        [--generators vae cvae ...] [--selection last] [--threads 2] [--seeds 0]
"""

import argparse
import time

import numpy as np
import torch
from hydra import compose, initialize_config_module
from imblearn.over_sampling import SMOTE
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from synthbalance.classifiers import CNNClassifier
from synthbalance.generators.metrics import (
    c2st_auc,
    frechet_distance,
    mean_pairwise_distance,
    prdc_scores,
)
from synthbalance.pipelines.components import build, for_dataset
from synthbalance.pipelines.datasets import seed_case
from synthbalance.pipelines.images import mnist
from synthbalance.pipelines.quality import FEATURE_CNN, feature_space

SEED, N_SAMPLES, FIT_TARGET, CAS_TARGET, DIVERSITY_TARGET = 0, 500, 300.0, 0.90, 0.5
IMAGE_GENERATORS = ("vae", "cvae", "cgan", "wgan_gp", "msggan", "stylegan")
TABLE_GENERATORS = ("vae", "cvae", "cgan", "wgan_gp")
MODES = ("prior", "posterior", "latent_average")
KS = (1, 3, 10, 30)
STEPS = None  # --steps: every generator's steps, for a quick smoke run
COLUMNS = ("fit s", "CAS", "div", "FD", "C2ST", "prec", "rec", "dens", "cov", "TSTR", "rho")


def configured(name, dataset, seed=SEED, **overrides):
    """The generator ``name`` as its Hydra config builds it, set up for ``dataset``."""
    with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"generator={name}"])
    generator, description = for_dataset(*build(cfg.generator), dataset)
    return generator.set_params(random_state=seed, **overrides)


class Judge:
    """The metrics of one table, against one split's real minority rows."""

    def __init__(self, dataset, X_train, y_train, X_test, y_test, tstr):
        self.minority, self.tstr = dataset.minority, tstr
        self.X_train, self.y_train, self.X_test, self.y_test = X_train, y_train, X_test, y_test
        self.space = feature_space(
            X_train, y_train, image_shape=dataset.image_shape, random_state=SEED
        )
        self.cas_model = self.space.cnn_ if dataset.image_shape else tstr(X_train, y_train)
        seen = X_train[y_train == self.minority]
        self.seen_spread = mean_pairwise_distance(self.space.transform(seen), random_state=SEED)
        self.unseen = self.space.transform(X_test[y_test == self.minority])

    def __call__(self, synthetic, fit_seconds=float("nan"), rho=float("nan"), tstr=True):
        features = self.space.transform(synthetic)
        n = min(len(self.unseen), len(features))
        prdc = prdc_scores(self.unseen, features[:n], nearest_k=5)
        row = {
            "fit s": fit_seconds,
            "CAS": float(np.mean(self.cas_model.predict(synthetic) == self.minority)),
            "div": mean_pairwise_distance(features, random_state=SEED) / self.seen_spread,
            "FD": frechet_distance(self.unseen, features),
            "C2ST": c2st_auc(self.unseen, features[:n], random_state=SEED),
            "prec": prdc["precision"],
            "rec": prdc["recall"],
            "dens": prdc["density"],
            "cov": prdc["coverage"],
            "TSTR": self.train_on(synthetic) if tstr else float("nan"),
            "rho": rho,
        }
        return row

    def real(self):
        """The reference row: the real training rows of the class against the unseen ones
        (CAS of the unseen ones; TSTR trained on the real rows: train on real, test on real)."""
        seen = self.X_train[self.y_train == self.minority]
        row = self(seen, tstr=False)
        unseen = self.X_test[self.y_test == self.minority]
        row["CAS"] = float(np.mean(self.cas_model.predict(unseen) == self.minority))
        row["TSTR"] = self.train_on(seen)
        return row

    def train_on(self, minority_rows):
        """F1 of the minority on the test part of a classifier trained on the real majority
        and ``minority_rows`` (as many as the real training minority)."""
        real = self.y_train == self.minority
        rng = np.random.RandomState(SEED)
        chosen = minority_rows[rng.choice(len(minority_rows), int(real.sum()), replace=False)]
        X = np.vstack([self.X_train[~real], chosen])
        y = np.concatenate([self.y_train[~real], np.full(len(chosen), self.minority, object)])
        model = self.tstr(X, y.astype(self.y_train.dtype))
        predicted = model.predict(self.X_test) == self.minority
        return float(f1_score(self.y_test == self.minority, predicted))


def rho_of(generator):
    selection = getattr(generator, "selection_", None)
    if not selection:
        return float("nan")
    if isinstance(selection, dict) and "loss_rank_correlation" not in selection:
        values = [s["loss_rank_correlation"] for s in selection.values()]  # one model per class
        selection = {"loss_rank_correlation": values[0]}
    rho = selection["loss_rank_correlation"]
    rho = rho[0] if isinstance(rho, list) else rho  # the discriminator's loss for GANs
    return float("nan") if rho is None else float(rho)  # None: a constant series


def print_table(title, rows):
    print(f"\n{title}")
    print(f"{'generator':26s}" + "".join(f"{c:>8s}" for c in COLUMNS))
    for name, row in rows:
        cells = "".join(f"{row[c]:8.0f}" if c in ("fit s", "FD") else f"{row[c]:8.3f}"
                        for c in COLUMNS)  # fmt: skip
        print(f"{name:26s}{cells.replace('nan', '  -')}", flush=True)


def fit_and_rate(name, dataset, judge, X_train, y_train, args, rows):
    """Fit ``name`` once per seed of ``args.seeds`` and append its rows (one per sampling
    mode for the VAEs; with several seeds, each row's label ends in its seed and a ``mean``
    row per mode follows). Returns the first seed's fitted generator."""
    overrides = {"selection": args.selection}
    if STEPS is not None:
        overrides.update(steps=STEPS, eval_every=max(1, STEPS // 4))
    labels = [f"{name} {mode}" for mode in MODES] if name in ("vae", "cvae") else [name]
    several = len(args.seeds) > 1
    labelled = list(args.seeds) != [SEED]  # a row names its seed unless it is the default
    first, start_row = None, len(rows)
    for seed in args.seeds:
        generator = configured(name, dataset, seed=seed, **overrides)
        start = time.perf_counter()
        generator.fit_resample(X_train, y_train)
        seconds = time.perf_counter() - start
        rho = rho_of(generator)
        for label in labels:
            if label != name:
                generator.set_params(sampling=label.split()[-1], k=10)
            synthetic = generator.sample(N_SAMPLES, y=dataset.minority, random_state=1)
            rows.append((f"{label} s{seed}" if labelled else label, judge(synthetic, seconds, rho)))
        if first is None:
            first = generator
    if several:
        fits = rows[start_row:]
        for i, label in enumerate(labels):
            of_label = [row for _, row in fits[i :: len(labels)]]
            rows.append((f"{label} mean", {c: float(np.mean([r[c] for r in of_label]))
                                           for c in COLUMNS}))  # fmt: skip
    print_table(f"after {name}", rows[start_row:])
    return first


def images(args):
    dataset = mnist(minority_digit=3, n_minority=500)
    X, y = dataset.X.to_numpy(), dataset.y
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=SEED
    )

    def tstr(X, y):  # balanced, as the feature CNN: 9 majority images to 1
        cnn = CNNClassifier(image_shape=dataset.image_shape, random_state=SEED, **FEATURE_CNN)
        return cnn.fit(X, y, sample_weight=compute_sample_weight("balanced", y))

    judge = Judge(dataset, X_train, y_train, X_test, y_test, tstr)
    rows = [("real", judge.real())]
    for name in args.generators or IMAGE_GENERATORS:
        fit_and_rate(name, dataset, judge, X_train, y_train, args, rows)
    print_table(
        f"mnist: digit 3 (400 training images) against 3,600 others; {N_SAMPLES} samples per "
        f"generator; selection={args.selection}; {args.threads} torch thread(s)",
        rows,
    )
    check_targets(rows)


def check_targets(rows):
    print("\ntargets (fit <= 300 s, CAS >= 0.90, diversity >= 0.5):")
    for name, row in rows[1:]:
        if "latent_average" in name:
            continue  # latent averaging shrinks diversity by design; see the k table
        met = {
            "fit": row["fit s"] <= FIT_TARGET,
            "CAS": row["CAS"] >= CAS_TARGET,
            "diversity": row["div"] >= DIVERSITY_TARGET,
        }
        missed = [k for k, ok in met.items() if not ok]
        print(f"  {name:24s} {'met' if not missed else 'NOT met: ' + ', '.join(missed)}")


def tables(args):
    dataset = seed_case()
    X, y = dataset.X.to_numpy(), dataset.y
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=SEED
    )

    def logreg(X, y):
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)

    def balanced_logreg(X, y):
        model = LogisticRegression(max_iter=1000, class_weight="balanced")
        return make_pipeline(StandardScaler(), model).fit(X, y)

    judge = Judge(dataset, X_train, y_train, X_test, y_test, logreg)
    judge.cas_model = balanced_logreg(X_train, y_train)  # CAS asks the run's classifier
    rows = [("real", judge.real())]
    fitted = {}
    for name in args.generators or TABLE_GENERATORS:
        fitted[name] = fit_and_rate(name, dataset, judge, X_train, y_train, args, rows)
    smote = SMOTE(random_state=SEED)
    start = time.perf_counter()
    X_res, y_res = smote.fit_resample(X_train, y_train)
    new = X_res[len(X_train) :][y_res[len(X_train) :] == dataset.minority]
    rows.append(("smote", judge(new[:N_SAMPLES], time.perf_counter() - start)))
    tvae = tvae_rows(X_train[y_train == dataset.minority], judge, rows)
    print_table(
        f"seed_case: 400 training minority rows against 16,000; {N_SAMPLES} samples per "
        f"generator; selection={args.selection}",
        rows,
    )
    if tvae is not None:
        print("\ntargets (prior samples at least as diverse as TVAE's, C2ST no higher):")
        for name, row in [(n, r) for n, r in rows if n.startswith(("vae prior", "cvae prior"))]:
            ok = row["div"] >= tvae["div"] and row["C2ST"] <= tvae["C2ST"]
            verdict = "met" if ok else "NOT met"
            print(f"  {name:16s} div {row['div']:.3f} vs {tvae['div']:.3f}, C2ST "
                  f"{row['C2ST']:.3f} vs {tvae['C2ST']:.3f}: {verdict}")  # fmt: skip
    print("\nlatent averaging: diversity (C2ST) against k")
    print(f"{'generator':10s}" + "".join(f"{'k=' + str(k):>16s}" for k in KS))
    for name in ("vae", "cvae"):
        if name not in fitted:
            continue
        cells = []
        for k in KS:
            fitted[name].set_params(sampling="latent_average", k=k)
            synthetic = fitted[name].sample(N_SAMPLES, y=dataset.minority, random_state=1)
            row = judge(synthetic, tstr=False)
            cells.append(f"{row['div']:.3f} ({row['C2ST']:.3f})")
        print(f"{name:10s}" + "".join(f"{c:>16s}" for c in cells), flush=True)


def tvae_rows(minority_rows, judge, rows):
    try:
        from ctgan import TVAE
    except ImportError:
        print("TVAE skipped: ctgan is not importable (pip install -e '.[bench]')")
        return None
    import pandas as pd

    tvae = TVAE(
        epochs=300 if STEPS is None else 3, enable_gpu=False
    )  # ctgan defaults: 300 epochs of 500 rows
    tvae.set_random_state(SEED)
    start = time.perf_counter()
    columns = [f"x{i}" for i in range(minority_rows.shape[1])]
    tvae.fit(pd.DataFrame(minority_rows, columns=columns))
    seconds = time.perf_counter() - start
    row = judge(tvae.sample(N_SAMPLES).to_numpy(), seconds)
    rows.append(("TVAE (ctgan, minority)", row))
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", nargs="+", default=["images", "tables"],
                        choices=["images", "tables"])  # fmt: skip
    parser.add_argument("--generators", nargs="+", default=None)
    parser.add_argument("--selection", default="last",
                        choices=["last", "fd", "c2st", "coverage"])  # fmt: skip
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="override (smoke tests only)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[SEED],
                        help="one fit per seed of every generator, and their mean")  # fmt: skip
    args = parser.parse_args()
    global STEPS
    STEPS = args.steps
    torch.set_num_threads(args.threads)
    for part in args.part:
        {"images": images, "tables": tables}[part](args)


if __name__ == "__main__":
    main()
