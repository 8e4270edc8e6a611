"""Image datasets: digits, any ImageFolder, their configs, and a run of the CNN on them."""

import json
import math
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from PIL import Image
from sklearn.datasets import load_digits

from synthbalance.generators._base import BaseTorchSampler
from synthbalance.pipelines.app import run
from synthbalance.pipelines.dataset import DataError, check_dataset
from synthbalance.pipelines.images import digits, image_folder
from synthbalance.pipelines.methods import METHODS

COUNTS = {"zero": 12, "one": 5}  # images per class folder


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def write_digit_folder(root, counts=COUNTS):
    """``root/<class>/<i>.png``: 8 x 8 grey PNGs of the first digits of each class."""
    bunch = load_digits()
    for digit, (label, n) in enumerate(counts.items()):
        (root / label).mkdir(parents=True)
        for i, image in enumerate(bunch.images[bunch.target == digit][:n]):
            pixels = np.rint(image * 255 / 16).astype(np.uint8)
            Image.fromarray(pixels, mode="L").save(
                root / label / f"{i:02d}.png"
            )  # sorted as written
    return root


def test_digits_rows_are_scaled_8x8_images():
    dataset = digits()
    bunch = load_digits()
    n_majority = int(np.isin(bunch.target, [5, 8]).sum())
    assert dataset.name == "digits" and dataset.kind == "image"
    assert dataset.image_shape == (1, 8, 8)
    assert dataset.X.shape == (n_majority + 30, 64)
    assert list(dataset.X.columns) == [f"px{i}" for i in range(64)]
    assert dataset.class_counts == {"other": n_majority, "digit_3": 30}
    assert dataset.minority == "digit_3"
    pixels = dataset.X.to_numpy()
    assert pixels.min() == 0 and pixels.max() == 1
    # Every row is one of the original images, divided by 16.
    originals = {tuple(row) for row in bunch.data / 16}
    assert all(tuple(row) in originals for row in pixels)
    check_dataset(dataset, n_splits=5)


def test_digits_minority_subsample_is_seeded():
    def minority_rows(**kwargs):
        dataset = digits(**kwargs)
        return dataset.X[dataset.y == dataset.minority].to_numpy()

    first, again = minority_rows(random_state=1), minority_rows(random_state=1)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, minority_rows(random_state=2))
    assert len(minority_rows(n_minority=10)) == 10


def test_digits_other_choices():
    dataset = digits(minority_digit=0, majority_digits=[1, 2, 7], n_minority=5)
    assert dataset.minority == "digit_0"
    assert dataset.class_counts["digit_0"] == 5
    assert dataset.class_counts["other"] == int(np.isin(load_digits().target, [1, 2, 7]).sum())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_minority": 1000}, "n_minority=1000; between 1 and 183"),
        (
            {"majority_digits": [3, 5]},
            r"digits \[3\] are both minority \(minority_digit=3\) "
            r"and majority \(majority_digits=\[3, 5\]\); give majority_digits without them",
        ),
        ({"majority_digits": []}, "majority_digits is empty"),
        ({"minority_digit": 10}, "must be digits 0-9"),
    ],
)
def test_digits_bad_arguments(kwargs, message):
    with pytest.raises(DataError, match=message):
        digits(**kwargs)


@pytest.mark.parametrize("grayscale, channels", [(True, 1), (False, 3)])
def test_image_folder_loads_every_image(tmp_path, grayscale, channels):
    root = write_digit_folder(tmp_path / "pictures")
    dataset = image_folder(root, size=(16, 12), grayscale=grayscale)
    assert dataset.name == "pictures" and dataset.kind == "image"
    assert dataset.image_shape == (channels, 16, 12)
    assert dataset.X.shape == (17, channels * 16 * 12)
    assert list(dataset.X.columns) == [f"px{i}" for i in range(channels * 16 * 12)]
    assert dataset.class_counts == COUNTS
    assert dataset.minority == "one"
    pixels = dataset.X.to_numpy()
    assert 0 <= pixels.min() and pixels.max() <= 1 and pixels.max() > 0.5
    if channels == 3:  # grey PNGs: red, green and blue are equal
        images = pixels.reshape(-1, 3, 16 * 12)
        np.testing.assert_array_equal(images[:, 0], images[:, 1])
        np.testing.assert_array_equal(images[:, 0], images[:, 2])
    check_dataset(dataset, n_splits=5)


def test_image_folder_rows_are_the_pixels_in_channel_height_width_order(tmp_path):
    red = np.zeros((4, 6, 3), dtype=np.uint8)
    red[1, 2, 0] = 255  # one red pixel at row 1, column 2
    for label, n in {"a": 2, "b": 1}.items():
        (tmp_path / label).mkdir()
        for i in range(n):
            Image.fromarray(red).save(tmp_path / label / f"{i}.png")
    dataset = image_folder(tmp_path, size=(4, 6))
    image = dataset.X.to_numpy()[0].reshape(dataset.image_shape)
    expected = np.zeros((3, 4, 6))
    expected[0, 1, 2] = 1
    np.testing.assert_array_equal(image, expected)


def test_image_folder_keeps_a_square_size_and_a_named_minority(tmp_path):
    root = write_digit_folder(tmp_path)
    dataset = image_folder(root, size=8, grayscale=True, minority="zero", name="mine")
    assert dataset.image_shape == (1, 8, 8) and dataset.minority == "zero"
    assert dataset.name == "mine"
    bunch = load_digits()
    zeros = bunch.images[bunch.target == 0][:12].reshape(12, -1) / 16
    np.testing.assert_allclose(dataset.X[dataset.y == "zero"].to_numpy(), zeros, atol=1 / 255)


@pytest.mark.parametrize(
    "make, kwargs, message",
    [
        (lambda root: root / "nope", {}, r"nope: no such directory"),
        (
            lambda root: shutil.copyfile(__file__, root / "notes.txt"),
            {},
            r"notes.txt: not a directory \(a folder of class folders\)",
        ),
        (lambda root: root, {}, "no images to load"),
        (
            lambda root: write_digit_folder(root, {"zero": 3, "one": 3, "two": 3}),
            {},
            "need exactly two class folders .* found 3: one, two, zero",
        ),
        (lambda root: write_digit_folder(root, {"zero": 3}), {}, "found 1: zero"),
        (lambda root: write_digit_folder(root), {"minority": "cat"}, "minority class 'cat'"),
    ],
    ids=["missing root", "a file", "no images", "three classes", "one class", "unknown minority"],
)
def test_image_folder_errors(tmp_path, make, kwargs, message):
    with pytest.raises(DataError, match=message):
        image_folder(make(tmp_path), **kwargs)


def test_image_folder_names_an_image_it_cannot_read(tmp_path):
    root = write_digit_folder(tmp_path)
    (root / "one" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"one/broken\.png: cannot be read as an image \("):
        image_folder(root)


def test_image_folder_without_class_folders_says_so_once(tmp_path):
    from synthbalance.pipelines.cli import one_line

    with pytest.raises(DataError) as refused:
        image_folder(tmp_path)
    assert isinstance(refused.value.__cause__, FileNotFoundError)  # the chain is kept
    assert one_line(refused.value).count("Couldn't find any class folder") == 1  # the CLI's line


def test_the_cli_line_adds_an_os_error_cause_only_when_the_message_lacks_it():
    from synthbalance.pipelines.cli import one_line

    cause = PermissionError(13, "Permission denied", "log.txt")
    try:
        raise ValueError("Unable to configure handler 'file'") from cause
    except ValueError as wrapped:
        assert one_line(wrapped) == (
            "Unable to configure handler 'file': [Errno 13] Permission denied: 'log.txt'"
        )
    try:
        raise DataError(f"log.txt: cannot be read ({cause})") from cause
    except DataError as quoted:
        assert one_line(quoted) == f"log.txt: cannot be read ({cause})"


def test_configs_compose_and_load(make_config, tmp_path):
    dataset = instantiate(make_config("dataset=digits", "dataset.n_minority=12").dataset)
    assert dataset.class_counts["digit_3"] == 12 and dataset.image_shape == (1, 8, 8)
    root = write_digit_folder(tmp_path / "pictures")
    cfg = make_config("dataset=image_folder", f"dataset.root={root}", "dataset.size=[8,8]")
    dataset = instantiate(cfg.dataset)
    assert dataset.image_shape == (3, 8, 8) and dataset.class_counts == COUNTS


RUN = ["dataset=digits", "classifier=cnn", "generator=smote", "classifier.epochs=2"]


def test_cnn_on_digits_end_to_end(make_config, tmp_path):
    report = run(make_config(*RUN, "evaluation.quality.enabled=false"))
    assert report["dataset"]["kind"] == "image" and report["dataset"]["image_shape"] == [1, 8, 8]
    assert report["classifier"]["name"] == "cnn"
    assert {record["method"] for record in report["folds"]} == set(METHODS)
    assert all(
        math.isfinite(value) for record in report["folds"] for value in record["metrics"].values()
    )
    assert (tmp_path / "report.json").is_file()


def test_cnn_on_digits_end_to_end_with_quality_metrics(make_config):
    # A regression test: prdc needs nearest_k <= n - 2, which 3 held-out rows once broke.
    report = run(make_config(*RUN))
    assert all("quality" in r for r in report["folds"] if r["method"] == "augmented")


def test_conv_cvae_with_latent_averaging_and_cnn_on_digits(make_config, tmp_path, monkeypatch):
    fits = []
    fit_resample = BaseTorchSampler._fit_resample

    def counted(self, X, y):
        fits.append(len(y))
        return fit_resample(self, X, y)

    monkeypatch.setattr(BaseTorchSampler, "_fit_resample", counted)
    report = run(
        make_config(
            "dataset=digits", "classifier=cnn", "classifier.epochs=2", "generator=cvae",
            "generator.sampling=latent_average", "generator.k=10",
        )
    )  # fmt: skip
    assert all(r["n_synthetic"] > 0 for r in report["folds"] if r["method"] == "augmented")
    # the grid shows the evaluated first fold's samples: no generator fit of its own
    augmented = [r for r in report["folds"] if r["method"] in ("augmented", "augmented+threshold")]
    assert len(fits) == len(augmented)
    assert report["sample_grid"] == "samples.png"
    grid = (tmp_path / "samples.png").stat().st_size
    assert (
        grid > 0
        and "![real and synthetic minority images](samples.png)"
        in (tmp_path / "report.md").read_text()
    )


def test_export_image_folder_round_trip(tmp_path):
    from torchvision.datasets import ImageFolder

    from tests.test_app import cli

    out = tmp_path / "new" / "balanced"  # folders that do not exist yet are made
    result = cli(
        "synthbalance-export", "dataset=digits", "generator=cvae", "generator.steps=4",
        f"export.path={out}", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out.parent / "balanced.manifest.json").read_text())
    counts = manifest["class_counts_after"]
    assert counts == {"digit_3": 356, "other": 356} and manifest["n_synthetic"] == 326
    loaded = ImageFolder(out)
    assert sorted(loaded.classes) == ["digit_3", "other"]
    per_class = Counter(loaded.classes[target] for _, target in loaded.samples)
    assert per_class == counts
    synthetic = sorted(
        str(Path(p).relative_to(out)) for p, _ in loaded.samples if "synthetic_" in p
    )
    assert synthetic == sorted(manifest["synthetic_files"])
    assert all(f.startswith("digit_3/") for f in manifest["synthetic_files"])


def test_export_to_a_directory_needs_images(tmp_path):
    from tests.test_app import cli

    result = cli(
        "synthbalance-export", "generator=smote", f"export.path={tmp_path / 'd'}", cwd=tmp_path
    )
    assert result.returncode != 0 and "needs an image dataset" in result.stderr
    assert not (tmp_path / "d").exists()


def test_sample_grid_draws_real_above_synthetic_large_enough_to_see(tmp_path):
    from synthbalance.pipelines.report.figures import grid_figure, write

    X, y = load_digits(return_X_y=True)
    real, synthetic = X[y == 3][:19] / 16, X[y == 5][:19] / 16
    fig = grid_figure(real, synthetic, (1, 8, 8), "smote")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["real minority images (training part)", "smote samples"]
    top, bottom = (np.asarray(ax.images[0].get_array()) for ax in fig.axes)
    tile = 8 * 4 + 2  # 8 x 8 drawn 4 times larger, 2 pixels of padding
    assert top.shape == bottom.shape == (3 * tile + 2, 8 * tile + 2)  # 19 images in rows of 8
    first_top, first_bottom = top[2:34:4, 2:34:4], bottom[2:34:4, 2:34:4]
    assert any(np.allclose(first_top, image.reshape(8, 8)) for image in real)
    assert any(np.allclose(first_bottom, image.reshape(8, 8)) for image in synthetic)
    assert (top[-tile:, 3 * tile + 2 :] == 1).all()  # the last row's empty cells are white
    write(fig, tmp_path / "grid.png")
    width, _ = Image.open(tmp_path / "grid.png").size
    assert width / 8 >= 28  # at least 28 screen pixels per image


def test_mnist_ships_offline_and_picks_digits_like_digits():
    from synthbalance.pipelines.images import mnist

    dataset = mnist(minority_digit=7, majority_digits=[0, 1, 2, 3, 4, 5, 6, 8, 9], n_minority=50)
    assert dataset.image_shape == (1, 28, 28) and dataset.X.shape == (4550, 784)
    assert dataset.class_counts == {"other": 4500, "digit_7": 50}
    assert dataset.X.to_numpy().min() == 0 and dataset.X.to_numpy().max() == 1
    several = mnist(minority_digit=[1, 2], majority_digits=[0], n_minority=[30, 20])
    assert several.class_counts == {"other": 500, "digit_1": 30, "digit_2": 20}
    assert several.minority_classes == ["digit_1", "digit_2"] and several.base_class == "other"
    with pytest.raises(DataError, match="between 1 and 500 images of digit 7"):
        mnist(minority_digit=7, majority_digits=[0], n_minority=501)
