"""Levers for the CVAE's training step: what each buys on this CPU, and what it does to samples.

The samplers' tabular CVAE as ``bench_generators.py`` trains it against TVAE (its split of
``seed_case``, network, batch 500, learning rate and shared-variance Gaussian decoder), in a
bare loop of the same network and loss (``bench_generators.py`` measures the sampler as fast
as such a loop). Two parts:

- ``step``: time per optimiser step on one and on two torch threads (median of ``ROUNDS``
  rounds of ``STEPS`` steps, the variants interleaved round by round so that load hits them
  alike) for Adam's multi-tensor implementation (the samplers' ``training.adam``), Adam with
  ``fused=True``, bf16 autocast on the CPU (matrix products in bfloat16, weights and Adam in
  float32), and ``torch.compile`` of the loss (its first, compiling, step timed apart).
- ``fit``: ``CVAESampler`` itself (its class-balanced batches, with the settings above) for
  30 epochs (the CVAE budget of ``bench_generators.py``) at batch 500, 1,000 and 2,000 with
  the learning rate scaled with the batch (Goyal et al. 2017, linear scaling), and at batch
  500 with its loss under bf16 autocast: fit seconds on two threads and the C2ST AUC of its
  prior samples of the minority class against the held-out minority rows (``DRAWS`` draws
  for each of ``SEEDS`` fits; lower is better, 0.5 is indistinguishable).

    python benchmarks/bench_step_levers.py [--part step fit]
"""

import argparse
import contextlib
import statistics
import time

import numpy as np
import torch
from bench_generators import BATCH_SIZE, BETA, HIDDEN_DIMS, LATENT_DIM, LR, OUTPUT_VARIANCE
from sklearn.model_selection import train_test_split

from synthbalance.generators import VAE, CVAESampler, _vae
from synthbalance.generators._likelihoods import kl_term, make_likelihood
from synthbalance.generators.metrics import c2st_auc
from synthbalance.generators.training import adam, steps_for_epochs
from synthbalance.pipelines.datasets import seed_case

SEED = 0
EPOCHS = 30
STEPS, ROUNDS = 100, 8
SEEDS, DRAWS = 3, 10
STEP_VARIANTS = ("adam foreach (default)", "adam fused", "bf16 autocast", "torch.compile")
# name -> (batch size, learning rate, bf16)
FIT_VARIANTS = {
    "batch 500 (default)": (BATCH_SIZE, LR, False),
    "batch 1000, lr x2": (2 * BATCH_SIZE, 2 * LR, False),
    "batch 2000, lr x4": (4 * BATCH_SIZE, 4 * LR, False),
    "batch 500, bf16 autocast": (BATCH_SIZE, LR, True),
}


def network(n_features, n_classes, seed):
    torch.manual_seed(seed)
    likelihood = make_likelihood("gaussian", n_features, OUTPUT_VARIANCE)
    return VAE(n_features, LATENT_DIM, HIDDEN_DIMS, n_classes, likelihood=likelihood)


def stepper(variant, x, c):
    """One training step of ``variant`` on the fixed batch ``(x, c)``."""
    model = network(x.shape[1], 2, SEED)
    fused = variant == "adam fused"
    optimizer = (
        torch.optim.Adam(model.parameters(), lr=LR, fused=True) if fused else
        adam(model.parameters(), LR)
    )  # fmt: skip
    generator = torch.Generator().manual_seed(SEED)

    # vae_loss with its noise drawn outside: torch.compile then sees tensors only (a
    # torch.Generator argument breaks its graph); every variant runs this same loss
    def loss(x, c, eps):
        mu, logvar = model.encode(x, c)
        raw = model.decode(mu + eps * torch.exp(0.5 * logvar), c)
        return (model.reconstruction(raw, x) + BETA * kl_term(mu, logvar, 0.0)).mean()

    compiled = torch.compile(loss) if variant == "torch.compile" else loss

    def step():
        eps = torch.randn(len(x), LATENT_DIM, generator=generator)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant == "bf16 autocast"):
            value = compiled(x, c, eps)
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()

    return step


def step_part(n_features):
    x = torch.randn(BATCH_SIZE, n_features)
    c = torch.randint(2, (BATCH_SIZE,))
    for threads in (1, 2):
        torch.set_num_threads(threads)
        steps, first = {}, {}
        for variant in STEP_VARIANTS:
            steps[variant] = stepper(variant, x, c)
            start = time.perf_counter()
            steps[variant]()
            first[variant] = time.perf_counter() - start
            for _ in range(10):  # warm up
                steps[variant]()
        seconds = {variant: [] for variant in steps}
        for _ in range(ROUNDS):
            for variant, step in steps.items():
                start = time.perf_counter()
                for _ in range(STEPS):
                    step()
                seconds[variant].append((time.perf_counter() - start) / STEPS)
        reference = statistics.median(seconds[STEP_VARIANTS[0]])
        print(f"\nstep (batch {BATCH_SIZE}), {threads} thread(s), median of {ROUNDS} x {STEPS}:")
        for variant, values in seconds.items():
            median = statistics.median(values)
            print(f"  {variant:24s} {median * 1e3:6.3f} ms  {reference / median:4.2f}x  "
                  f"(first step {first[variant]:.2f} s)")  # fmt: skip


@contextlib.contextmanager
def bf16_loss(enabled):
    """With ``enabled``, the samplers' VAE loss runs under CPU bf16 autocast: the candidate
    measured here, not an option of the samplers."""
    plain = _vae.vae_loss

    def autocast_loss(*args, **kwargs):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return plain(*args, **kwargs)

    _vae.vae_loss = autocast_loss if enabled else plain
    try:
        yield
    finally:
        _vae.vae_loss = plain


def fit_part(X_train, y_train, held_out, minority):
    torch.set_num_threads(2)
    print(f"\nCVAESampler fit ({EPOCHS} epochs of {len(X_train):,} rows, 2 threads) and C2ST of "
          f"its prior samples against the {len(held_out)} held-out minority rows "
          f"({SEEDS} fits x {DRAWS} draws):")  # fmt: skip
    reference = None
    for name, (batch_size, lr, bf16) in FIT_VARIANTS.items():
        seconds, aucs = [], []
        for seed in range(SEEDS):
            sampler = CVAESampler(
                steps=steps_for_epochs(EPOCHS, len(X_train), batch_size), batch_size=batch_size,
                hidden_dims=HIDDEN_DIMS, latent_dim=LATENT_DIM, lr=lr, beta=BETA,
                output_variance=OUTPUT_VARIANCE, sampling="prior", device="cpu", random_state=seed,
            )  # fmt: skip
            with bf16_loss(bf16):
                sampler.fit_resample(X_train, y_train)
            seconds.append(sampler.fit_seconds_)
            for draw in range(DRAWS):
                rows = sampler.sample(len(held_out), y=minority, random_state=1000 * seed + draw)
                aucs.append(c2st_auc(held_out, rows, random_state=draw))
        median = statistics.median(seconds)
        reference = reference or median
        print(f"  {name:26s} fit {median:5.2f} s  {reference / median:4.2f}x  "
              f"C2ST {np.mean(aucs):.3f} (sd {np.std(aucs, ddof=1):.3f})")  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", nargs="+", default=["step", "fit"], choices=["step", "fit"])
    args = parser.parse_args()
    data = seed_case(random_state=SEED)
    X_train, X_test, y_train, y_test = train_test_split(
        data.X.to_numpy(np.float64), data.y, test_size=0.2, stratify=data.y, random_state=SEED
    )
    if "step" in args.part:
        step_part(X_train.shape[1])
    if "fit" in args.part:
        fit_part(X_train, y_train, X_test[y_test == data.minority], data.minority)


if __name__ == "__main__":
    main()
