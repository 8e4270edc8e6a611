"""Convolutional CVAE training throughput on digits against a bare torch loop, same process.

CVAESampler(architecture="conv") fitted on scikit-learn's 8x8 digits (a binary task: one
digit against the rest, all 1,797 images) against a minimal hand-written loop training
the same ConvVAE (channels ``CHANNELS`` on both sides, given to the sampler explicitly:
"auto" would pick smaller ones) with the same epochs, optimiser steps, batch size,
optimiser and loss (Bernoulli pixels, the sampler's default for images). The sampler's
budget is optimiser steps: ``--epochs`` passes over the images are
``steps_for_epochs(epochs, 1797, batch_size)`` steps, exactly as many as the bare loop's
epochs make. Sampler and bare loop alternate, best of ``--rounds``. Target: sampler time
<= 1.5 x bare loop.

    python benchmarks/bench_images.py [--epochs 30] [--rounds 3] [--device cpu|cuda]
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits

from synthbalance.generators import ConvVAE, CVAESampler
from synthbalance.generators._vae import vae_loss
from synthbalance.generators.training import steps_for_epochs

LATENT_DIM, CHANNELS = 8, (128, 128)


def bare_loop(X, codes, shape, epochs, batch_size, device):
    """The practical lower bound: data on the device once, randperm batches, Adam."""
    torch.manual_seed(0)
    model = ConvVAE(shape, LATENT_DIM, CHANNELS, n_classes=2).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.as_tensor(X, dtype=torch.float32, device=device)
    c = torch.as_tensor(codes, device=device)
    generator = torch.Generator(device=device).manual_seed(0)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator, device=device)
        for start in range(0, len(x), batch_size):
            index = order[start : start + batch_size]
            loss = vae_loss(model, x[index], c[index], beta=1.0, generator=generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="passes over the images")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = np.where(digits.target == 3, "digit_3", "other")
    shape = (1, 8, 8)
    codes = np.unique(y, return_inverse=True)[1]
    steps = steps_for_epochs(args.epochs, len(X), args.batch_size)
    # Train on every image (no new ones needed to time the fit): ask for a handful only.
    sampler = CVAESampler(
        image_shape=shape, steps=steps, batch_size=args.batch_size, hidden_dims=CHANNELS,
        latent_dim=LATENT_DIM, sampling_strategy={"digit_3": int((y == "digit_3").sum()) + 1},
        device=args.device, random_state=0,
        balanced_batches=False,  # the bare loop walks a permutation of the rows
    )  # fmt: skip
    timings = {"CVAESampler (conv)": [], "bare loop": []}
    for _ in range(args.rounds):
        sampler.fit_resample(X, y)
        if len(sampler.loss_history_) != args.epochs:  # every image trained on, every epoch
            raise RuntimeError(f"the sampler ran {len(sampler.loss_history_)} epochs")
        timings["CVAESampler (conv)"].append(sampler.fit_seconds_)
        start = time.perf_counter()
        bare_loop(X, codes, shape, args.epochs, args.batch_size, device)
        timings["bare loop"].append(time.perf_counter() - start)
    best = {name: min(values) for name, values in timings.items()}
    images = len(X) * args.epochs
    print(
        f"digits 1x8x8, {len(X)} images, {args.epochs} epochs = {steps} optimiser steps, "
        f"batch {args.batch_size}, channels {CHANNELS}, device {device}, "
        f"torch threads {torch.get_num_threads()}, best of {args.rounds}"
    )
    for name, seconds in best.items():
        print(f"  {name:<20} {seconds:7.2f} s   {images / seconds:9.0f} images/s")
    ratio = best["CVAESampler (conv)"] / best["bare loop"]
    verdict = "PASS" if ratio <= 1.5 else "FAIL"
    print(f"  ratio sampler / bare {ratio:7.2f}   (target <= 1.5: {verdict})")


if __name__ == "__main__":
    main()
