"""Balanced-dataset export: real rows unchanged, then synthetic rows, with a provenance manifest."""

import hashlib
import json
import logging
from collections import Counter
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
from hydra.utils import instantiate
from omegaconf import OmegaConf

from .components import build
from .datasets import DataError, check_dataset
from .evaluation import fill_unset, with_seed
from .io import atomic_path, write_text

log = logging.getLogger(__name__)

SYNTHETIC_COLUMN = "is_synthetic"
MANIFEST_SCHEMA = "synthbalance/export-manifest-v1"


def _write_csv(frame, path, target):
    frame.to_csv(path, index=False)


def _write_parquet(frame, path, target):
    frame.to_parquet(path, index=False)


def _write_npz(frame, path, target):
    features = frame.drop(columns=[target, SYNTHETIC_COLUMN])
    np.savez(
        path,
        X=features.to_numpy(),
        y=frame[target].to_numpy(),
        is_synthetic=frame[SYNTHETIC_COLUMN].to_numpy(),
        feature_names=np.array(features.columns, dtype=str),
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


def export(cfg) -> Path:
    """Fit the generator on the whole dataset and write the balanced dataset and its manifest."""
    path = cfg.export.get("path")
    if not path or OmegaConf.is_missing(cfg.export, "path"):
        raise DataError("export.path is required, e.g. export.path=balanced.parquet")
    path = Path(path)
    if path.suffix.lower() not in WRITERS:
        raise DataError(
            f"{path}: unknown export format {path.suffix!r}; use .csv, .parquet or .npz"
        )
    dataset = instantiate(cfg.dataset)
    check_dataset(dataset, n_splits=2)
    generator, generator_info = build(cfg.generator)
    if dataset.image_shape is not None:
        generator = fill_unset(generator, "image_shape", tuple(dataset.image_shape))
    X_res, y_res = with_seed(generator, cfg.seed).fit_resample(dataset.X, dataset.y)
    n_real = len(dataset.y)

    frame = X_res.reset_index(drop=True)
    frame[dataset.target] = np.asarray(y_res)
    frame[SYNTHETIC_COLUMN] = np.arange(len(frame)) >= n_real
    with atomic_path(path) as tmp:
        WRITERS[path.suffix.lower()](frame, tmp, dataset.target)
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "data_file": path.name,
        "sha256": _sha256(path),
        "dataset": dataset.describe(),
        "target": dataset.target,
        "synthetic_column": SYNTHETIC_COLUMN,
        "generator": generator_info,
        "seed": cfg.seed,
        "class_counts_before": _counts(np.asarray(dataset.y)),
        "class_counts_after": _counts(np.asarray(y_res)),
        "n_real": n_real,
        "n_synthetic": int(len(frame) - n_real),
        "synthbalance_version": version("synthbalance"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_text(manifest_path(path), json.dumps(manifest, indent=1, default=str) + "\n")
    log.info("wrote %s (%d real + %d synthetic rows)", path, n_real, manifest["n_synthetic"])
    return path
