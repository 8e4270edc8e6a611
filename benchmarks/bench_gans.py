"""Time per epoch of the GAN samplers against a bare torch loop of the same networks.

On ``seed_case`` (20,500 rows, 20 features; MLP networks) and on scikit-learn's 8x8 digits
(one digit against the rest, all 1,797 images; convolutional networks), each sampler is
fitted with its defaults but for fixed sizes on both data sets (``batch_size=256``,
``hidden_dims=(128, 128)``, latent 32; "auto" would pick smaller conv networks for the
images) and a minimal hand-written loop trains the same generator and discriminator
classes with the same optimisers, losses, batches and steps: data on the device once,
``randperm`` batches, one discriminator step per batch and a generator step every
``n_critic`` batches, after which the exponential moving average of the generator's
weights (the samplers' default ``ema=0.999``, torch's ``AveragedModel``) is updated.

The samplers' budget is optimiser steps: ``--epochs`` (``--image-epochs``) passes over the
rows become ``steps_for_epochs(epochs, rows, 256)`` steps, and the bare loop runs exactly
as many. Sampler and bare loop alternate, best of ``--rounds``; time per epoch is the fit
time over the epochs (the sampler's ``fit_seconds_``, which includes its preprocessing;
the bare loop's standardisation is timed too). Target: sampler <= 1.5 x bare loop.

    python benchmarks/bench_gans.py [--epochs 3] [--image-epochs 5] [--rounds 3]
                                    [--device cpu|cuda] [--threads 1]
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from synthbalance.generators import (
    CGANSampler,
    ConvDiscriminator,
    ConvGenerator,
    MLPDiscriminator,
    MLPGenerator,
    MSGGANSampler,
    WGANGPSampler,
)
from synthbalance.generators._gan import discriminator_loss, generator_loss, gradient_penalty
from synthbalance.generators.training import steps_for_epochs
from synthbalance.pipelines.datasets import seed_case

TARGET = 1.5
LATENT_DIM, HIDDEN_DIMS, BATCH_SIZE, LR, EMA = 32, (128, 128), 256, 2e-4, 0.999

# name -> (sampler class, loss kind, n_critic, gp_weight, Adam betas, multiscale)
GANS = {
    "CGANSampler": (CGANSampler, "non_saturating", 1, 0.0, (0.5, 0.999), False),
    "WGANGPSampler": (WGANGPSampler, "wasserstein", 5, 10.0, (0.5, 0.9), False),
    "MSGGANSampler": (MSGGANSampler, "non_saturating", 1, 0.0, (0.5, 0.999), True),
}


def networks(name, n_features, image_shape):
    """The generator and discriminator the sampler ``name`` builds for this data."""
    multiscale = GANS[name][5]
    if image_shape is None:
        return (
            MLPGenerator(n_features, LATENT_DIM, HIDDEN_DIMS, 2),
            MLPDiscriminator(n_features, HIDDEN_DIMS, 2),
        )
    return (
        ConvGenerator(image_shape, LATENT_DIM, HIDDEN_DIMS, 2, multiscale=multiscale),
        ConvDiscriminator(image_shape, HIDDEN_DIMS, 2, multiscale=multiscale),
    )


def bare_loop(name, X, codes, shape, steps, device):
    """The practical lower bound: the same networks and losses in a hand-written loop of
    ``steps`` batches (epoch after epoch, each in a fresh random order)."""
    _, kind, n_critic, gp_weight, betas, _ = GANS[name]
    if shape is None:
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    torch.manual_seed(0)
    generator_net, discriminator = (net.to(device) for net in networks(name, X.shape[1], shape))
    g_optimizer = torch.optim.Adam(generator_net.parameters(), lr=LR, betas=betas)
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=LR, betas=betas)
    average = AveragedModel(generator_net, multi_avg_fn=get_ema_multi_avg_fn(EMA), use_buffers=True)
    x_all = torch.as_tensor(X, dtype=torch.float32, device=device)
    c_all = torch.as_tensor(codes, device=device)
    rng = torch.Generator(device=device).manual_seed(0)
    batches = 0
    while batches < steps:
        order = torch.randperm(len(x_all), generator=rng, device=device)
        for start in range(0, len(x_all), BATCH_SIZE):
            if batches == steps:
                break
            index = order[start : start + BATCH_SIZE]
            x, c = x_all[index], c_all[index]
            batches += 1
            update_generator = batches % n_critic == 0
            z = torch.randn((len(x), LATENT_DIM), generator=rng, device=device)
            with torch.set_grad_enabled(update_generator):
                fake = generator_net(z, c)
            detached = [f.detach() for f in fake] if isinstance(fake, list) else fake.detach()
            real = discriminator.real_inputs(x)
            d_loss = discriminator_loss(kind, discriminator(real, c), discriminator(detached, c))
            if gp_weight:
                penalty = gradient_penalty(discriminator, real, detached, c, rng)
                d_loss = d_loss + gp_weight * penalty
            d_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            d_optimizer.step()
            if update_generator:
                g_loss = generator_loss(kind, discriminator(fake, c))
                g_optimizer.zero_grad(set_to_none=True)
                g_loss.backward()
                g_optimizer.step()
                average.update_parameters(generator_net)
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_pair(name, X, y, image_shape, epochs, rounds, device):
    """Best seconds per epoch of the sampler and of its bare loop, alternating; and the
    optimiser steps of each fit (``epochs`` passes over every row)."""
    minority = min(set(y), key=list(y).count)
    codes = np.unique(y, return_inverse=True)[1].reshape(-1)
    steps = steps_for_epochs(epochs, len(X), BATCH_SIZE)
    sampler = GANS[name][0](
        steps=steps, batch_size=BATCH_SIZE, hidden_dims=HIDDEN_DIMS, latent_dim=LATENT_DIM,
        ema=EMA, image_shape=image_shape, device=str(device), random_state=0,
        balanced_batches=False,  # the bare loop's randperm batches
        **({"n_critic": GANS[name][2]} if name == "WGANGPSampler" else {}),
        # time the fit: generate a single new row
        sampling_strategy={minority: int((y == minority).sum()) + 1},
    )  # fmt: skip
    sampler_seconds, bare_seconds = [], []
    for _ in range(rounds):
        sampler.fit_resample(X, y)
        # every row trained on (no checkpoint selection holds any out): epochs full passes
        assert sampler.steps_ == steps and len(sampler.loss_history_) == epochs
        sampler_seconds.append(sampler.fit_seconds_)
        start = time.perf_counter()
        bare_loop(name, X, codes, image_shape, steps, device)
        bare_seconds.append(time.perf_counter() - start)
    return min(sampler_seconds) / epochs, min(bare_seconds) / epochs, steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit on seed_case")
    parser.add_argument("--image-epochs", type=int, default=5, help="epochs per fit on digits")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    table = seed_case(random_state=0)
    digits = load_digits()
    cases = [
        ("seed_case", table.X.to_numpy(np.float64), table.y, None, args.epochs,
         ["CGANSampler", "WGANGPSampler"]),
        ("digits", (digits.data / 16.0).astype(np.float32),
         np.where(digits.target == 3, "digit_3", "other"), (1, 8, 8), args.image_epochs,
         ["CGANSampler", "WGANGPSampler", "MSGGANSampler"]),
    ]  # fmt: skip
    bare_loop("CGANSampler", cases[0][1][:512], np.zeros(512, dtype=np.int64), None, 2, device)
    print(
        f"device {device}, torch threads {torch.get_num_threads()}, batch {BATCH_SIZE}, "
        f"hidden_dims {HIDDEN_DIMS}, latent {LATENT_DIM}, ema {EMA}, best of {args.rounds} "
        f"(sampler and bare loop alternating, the same optimiser steps)"
    )
    header = (
        f"{'data':<10} {'generator':<14} {'epochs':>6} {'steps':>6} {'sampler s/ep':>12} "
        f"{'bare s/ep':>10}"
    )
    print(header + f" {'ratio':>6}  target <= {TARGET}")
    print("-" * (len(header) + 22))
    verdicts = []
    for data_name, X, y, shape, epochs, names in cases:
        for name in names:
            sampler, bare, steps = time_pair(name, X, y, shape, epochs, args.rounds, device)
            ratio = sampler / bare
            verdicts.append(ratio <= TARGET)
            print(
                f"{data_name:<10} {name:<14} {epochs:>6} {steps:>6} {sampler:>12.3f} "
                f"{bare:>10.3f} {ratio:>6.2f}  {'PASS' if ratio <= TARGET else 'FAIL'}"
            )
    print(f"overall: {'PASS' if all(verdicts) else 'FAIL'}")


if __name__ == "__main__":
    main()
