"""Sample grids for image runs: real minority images above synthetic ones."""

import numpy as np
import torch
from torchvision.utils import make_grid, save_image

from synthbalance.pipelines.io import atomic_path

GRID = "samples.png"
GRID_IMAGES = 32  # real images, and as many synthetic ones


def write_sample_grid(real, synthetic, image_shape, path, n_images=GRID_IMAGES, random_state=0):
    """Save up to ``n_images`` real and as many synthetic images (flattened rows of
    ``image_shape``) as one PNG: real ones in the top rows, synthetic ones below, separated
    by a blank row. Pixels are scaled by the range of the real images."""
    rng = np.random.RandomState(random_state)
    n = min(n_images, len(real), len(synthetic))
    low, high = float(np.min(real)), float(np.max(real))
    columns = 8
    blocks = []
    for rows in (real, synthetic):
        chosen = np.asarray(rows, dtype=np.float32)[rng.choice(len(rows), n, replace=False)]
        images = (torch.from_numpy(chosen).view(-1, *image_shape) - low) / max(high - low, 1e-12)
        padding = (-len(images)) % columns  # fill the last row so the blocks stay aligned
        # white, as the grid's padding: blank space, not black tiles that pass for images
        blocks += [images, torch.ones(padding + columns, *image_shape)]
    images = torch.cat(blocks[:-1]).clamp(0, 1)
    scale = max(1, 32 // max(image_shape[1:]))  # small images (8x8 digits) drawn larger
    images = torch.nn.functional.interpolate(images, scale_factor=scale, mode="nearest")
    grid = make_grid(images, nrow=columns, pad_value=1.0)
    with atomic_path(path) as tmp:
        save_image(grid, tmp)
