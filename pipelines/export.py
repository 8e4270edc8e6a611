"""Balanced-dataset export: real rows unchanged, then synthetic rows, with a provenance manifest."""

import hashlib
import json
import logging
from collections import Counter
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from hydra.utils import instantiate
from sklearn.utils._param_validation import validate_parameter_constraints

from synthbalance.pipelines.components import build, for_dataset
from synthbalance.pipelines.config import naming_config_keys, sections
from synthbalance.pipelines.dataset import DataError, check_dataset
from synthbalance.pipelines.estimators import (
    added_rows,
    check_fit_labels,
    check_sampler,
    with_seed,
)
from synthbalance.pipelines.io import atomic_directory, atomic_path, write_text
from synthbalance.pipelines.protocol import SEED

log = logging.getLogger(__name__)

SYNTHETIC_COLUMN = "is_synthetic"
MANIFEST_SCHEMA = "synthbalance/export-manifest-v1"


def _write_csv(frame, path, target):
    frame.to_csv(path, index=False)


def _write_parquet(frame, path, target):
    frame.to_parquet(path, index=False)


def _write_npz(frame, path, target):
    """Arrays that load without pickle: non-numeric (and bool) columns as category codes in
    ``X``, with each one's values in ``categories__<column>`` and their names in
    ``categorical``."""
    features = frame.drop(columns=[target, SYNTHETIC_COLUMN])
    categorical = [
        c
        for c in features
        if not pd.api.types.is_numeric_dtype(features[c]) or pd.api.types.is_bool_dtype(features[c])
    ]
    coded = {c: pd.Categorical(features[c]) for c in categorical}
    X = features.assign(**{c: values.codes for c, values in coded.items()})
    y = frame[target].to_numpy()
    np.savez(
        path,
        X=X.to_numpy(dtype=np.float64),
        y=y.astype(str) if y.dtype.kind == "O" else y,
        is_synthetic=frame[SYNTHETIC_COLUMN].to_numpy(),
        feature_names=np.array(features.columns, dtype=str),
        categorical=np.array(categorical, dtype=str),
        **{f"categories__{c}": np.asarray(v.categories.astype(str)) for c, v in coded.items()},
    )


WRITERS = {".csv": _write_csv, ".parquet": _write_parquet, ".npz": _write_npz}


def manifest_path(path):
    path = Path(path)
    return path.with_name(path.stem + ".manifest.json")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _counts(y):
    return {str(label): n for label, n in sorted(Counter(y.tolist()).items(), key=str)}


def _write_image_folder(directory, X, y, n_real, image_shape):
    """An ImageFolder tree: one folder per class, real images then synthetic ones as PNGs
    (pixels in [0, 1]); returns the synthetic files' paths relative to ``directory``."""
    import torch
    from torchvision.utils import save_image

    synthetic_files = []
    for i, (row, label) in enumerate(zip(np.asarray(X, dtype=np.float32), y, strict=True)):
        synthetic = i >= n_real
        name = f"synthetic_{i - n_real:06d}.png" if synthetic else f"real_{i:06d}.png"
        relative = Path(str(label)) / name
        (directory / relative).parent.mkdir(parents=True, exist_ok=True)
        save_image(torch.from_numpy(row).view(*image_shape).clamp(0, 1), directory / relative)
        if synthetic:
            synthetic_files.append(str(relative))
    return synthetic_files


def _sha256_tree(directory):
    """One digest of every file's relative path and bytes under ``directory``."""
    digest = hashlib.sha256()
    for file in sorted(p for p in Path(directory).rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(directory)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _check_destination(path, dataset):
    if path.suffix == "":
        if dataset.kind != "image":
            raise DataError(
                f"{path}: a directory export (ImageFolder) needs an image dataset; "
                "name a .csv, .parquet or .npz file"
            )
        if path.exists():
            raise DataError(f"{path} already exists; remove it or choose another export.path")
    elif path.suffix.lower() not in WRITERS:
        raise DataError(
            f"{path}: unknown export format {path.suffix!r}; use .csv, .parquet, .npz, "
            "or a directory for images"
        )
    else:
        _refuse_taken_column_names(path, dataset)
    _refuse_another_exports_manifest(path)


def _refuse_taken_column_names(path, dataset):
    """A table export adds the label column and ``SYNTHETIC_COLUMN`` to the features: a
    feature of either name would be overwritten by them."""
    for column, what in ((dataset.target, "label"), (SYNTHETIC_COLUMN, "synthetic flag")):
        if column in dataset.X.columns:
            raise DataError(
                f"{path}: the data has a feature column named {column!r}, the name of the "
                f"export's {what} column, which would overwrite it; rename the feature"
            )


def _refuse_another_exports_manifest(path):
    """Refuse ``path`` when its manifest file (``b.manifest.json`` for ``b.csv``, ``b.npz``
    and the directory ``b`` alike) exists and describes another file: writing it would leave
    that export without its provenance. Re-exporting to the same file replaces both."""
    manifest = manifest_path(path)
    if not manifest.exists():
        return
    try:
        fields = json.loads(manifest.read_text())
        described = fields.get("data_file") or fields.get("data_dir")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        described = None
    if described != path.name:
        what = f"the export {described}" if described else "a file that is not this export's"
        raise DataError(
            f"{manifest} already exists and describes {what}; remove it or choose an "
            "export.path with another stem"
        )


# The dataset keys that name the user's own data on disk: files (path, files) and folders.
SOURCE_FILES, SOURCE_FOLDERS = ("path", "files"), ("root",)


def _refuse_overwriting_the_data(path, dataset_cfg):
    """Refuse an ``export.path`` that is one of the dataset's own files or lies inside its
    image folder: the export would replace (or add a class to) the data it was made from."""
    destination = path.resolve()
    for key in (*SOURCE_FILES, *SOURCE_FOLDERS):
        value = dataset_cfg.get(key)
        if value is None:  # also a missing "???": DictConfig.get gives None
            continue
        for source in [value] if isinstance(value, str) else list(value):
            source = Path(str(source)).resolve()
            inside = key in SOURCE_FOLDERS and destination.is_relative_to(source)
            if destination == source or inside:
                where = "is" if destination == source else "is inside"
                raise DataError(
                    f"{path}: export.path {where} the dataset's own dataset.{key} ({source}); "
                    "the export would overwrite or add to the data it is made from: choose "
                    "another path"
                )


def export(cfg) -> Path:
    """``synthbalance-export``: the dataset and generator of ``cfg``, exported to
    ``export.path`` (see ``export_dataset``)."""
    path = cfg.export.get("path")
    if not path:  # also "???": .get returns None for a missing value
        raise DataError("export.path is required, e.g. export.path=balanced.parquet")
    _refuse_overwriting_the_data(Path(path), cfg.dataset)
    with naming_config_keys(sections(cfg, groups=("dataset", "generator"))):
        dataset = instantiate(cfg.dataset)
        check_dataset(dataset, n_splits=2)  # again below; here before the generator loads torch
        generator, description = build(cfg.generator)
        return export_dataset(dataset, generator, description, Path(path), cfg.seed)


def export_dataset(dataset, generator, description, path, seed) -> Path:
    """Fit ``generator`` on the whole dataset and write the balanced dataset and its manifest.

    Tables go to ``.csv``, ``.parquet`` or ``.npz`` (real rows unchanged, then synthetic
    rows, with an ``is_synthetic`` column); an image dataset exported to a directory
    becomes an ImageFolder tree with the synthetic images named ``synthetic_*.png``.
    ``description`` is the generator's ``{"name", "class", "params"}`` block.
    """
    validate_parameter_constraints({"seed": SEED}, {"seed": seed}, caller_name="export_dataset")
    path = Path(path)
    _check_destination(path, dataset)
    check_dataset(dataset, n_splits=2)
    check_sampler(generator)
    generator, generator_info = for_dataset(generator, description, dataset)
    check_fit_labels(generator, [dataset.y], f"generator {generator_info['name']!r}", "the dataset")
    X = dataset.encoded()
    X_res, y_res = with_seed(generator, seed).fit_resample(X, dataset.y)
    _, y_new = added_rows(generator, X, dataset.y, X_res, y_res)  # real rows kept, all finite
    n_real, n_synthetic = len(dataset.y), len(y_new)
    written = _write(path, dataset, X_res, np.asarray(y_res), n_real)
    manifest = {
        "schema": MANIFEST_SCHEMA,
        **written,
        "dataset": dataset.describe(),
        "target": dataset.target,
        "synthetic_column": SYNTHETIC_COLUMN,
        "generator": generator_info,
        "seed": seed,
        "class_counts_before": _counts(np.asarray(dataset.y)),
        "class_counts_after": _counts(np.asarray(y_res)),
        "n_real": n_real,
        "n_synthetic": n_synthetic,
        "synthbalance_version": version("synthbalance"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_text(manifest_path(path), json.dumps(manifest, indent=1, default=str) + "\n")
    log.info("wrote %s (%d real + %d synthetic rows)", path, n_real, n_synthetic)
    return path


def _write(path, dataset, X_res, y_res, n_real):
    """Write the balanced rows to ``path`` (a file, or an ImageFolder directory) atomically;
    returns the manifest's fields naming what was written."""
    if path.suffix == "":
        with atomic_directory(path) as tmp:
            files = _write_image_folder(tmp, X_res, y_res, n_real, dataset.image_shape)
        return {"data_dir": path.name, "sha256": _sha256_tree(path), "synthetic_files": files}
    frame = dataset.decoded(X_res)  # the original columns, dtypes and categories
    frame[dataset.target] = y_res
    frame[SYNTHETIC_COLUMN] = np.arange(len(frame)) >= n_real
    with atomic_path(path) as tmp:
        WRITERS[path.suffix.lower()](frame, tmp, dataset.target)
    return {"data_file": path.name, "sha256": _sha256(path)}
