"""The prepared on-disk format (DESIGN §8) shared by every data source.

``resources/data/<dataset>/`` holds ``images.npy`` (uint8 NCHW, memory-mappable),
``labels.npy`` (int64), ``partition.npy`` (uint8: 0 train, 1 validation, 2 test),
optional ``metadata.csv`` and ``info.json`` (classes, channels, size, normalisation statistics of
the training partition, source, file checksums).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unlearning.atomic import atomic_path, write_json
from unlearning.data.imageset import ImageSet
from unlearning.errors import UserError

PARTITIONS = {"train": 0, "val": 1, "test": 2}
FILES = ("images.npy", "labels.npy", "partition.npy", "info.json")


def stratified_partition(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> np.ndarray:
    """Seeded per-class split into train/validation/test, vectorised over samples."""
    if not 0 <= val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise UserError(
            f"Split fractions val={val_fraction}, test={test_fraction} are invalid; use values in "
            "[0, 1) whose sum is below 1."
        )
    rng = np.random.default_rng(seed)
    partition = np.zeros(len(labels), dtype=np.uint8)
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        idx = idx[rng.permutation(len(idx))]
        n_test = int(round(test_fraction * len(idx)))
        n_val = int(round(val_fraction * len(idx)))
        partition[idx[:n_test]] = PARTITIONS["test"]
        partition[idx[n_test : n_test + n_val]] = PARTITIONS["val"]
    return partition


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def channel_stats(images: np.ndarray, chunk: int = 4096) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of [0, 1] pixels, in chunks so memory-mapped sets stay cheap."""
    channels = images.shape[1]
    total = np.zeros(channels)
    total_sq = np.zeros(channels)
    count = 0
    for start in range(0, len(images), chunk):
        block = np.asarray(images[start : start + chunk], dtype=np.float64) / 255.0
        total += block.sum(axis=(0, 2, 3))
        total_sq += (block**2).sum(axis=(0, 2, 3))
        count += block.shape[0] * block.shape[2] * block.shape[3]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 1e-12))
    return [float(m) for m in mean], [float(s) for s in std]


def write_prepared(
    folder: str | Path,
    images: np.ndarray,
    labels: np.ndarray,
    partition: np.ndarray,
    classes: list[str],
    source: str,
    extra_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the prepared format; ``info.json`` is written last and marks the folder complete."""
    folder = Path(folder)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError("images must be uint8 (N, C, H, W)")
    if images.shape[2] != images.shape[3]:
        raise ValueError("images must be square")
    arrays = {
        "images.npy": images,
        "labels.npy": labels.astype(np.int64),
        "partition.npy": partition.astype(np.uint8),
    }
    for name, array in arrays.items():
        with atomic_path(folder / name) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, array)
    mean, std = channel_stats(images[partition == PARTITIONS["train"]])
    info = {
        "source": source,
        "classes": list(classes),
        "num_classes": len(classes),
        "channels": int(images.shape[1]),
        "image_size": int(images.shape[2]),
        "mean": mean,
        "std": std,
        "counts": {p: int((partition == code).sum()) for p, code in PARTITIONS.items()},
        "sha256": {name: _sha256(folder / name) for name in arrays},
        **(extra_info or {}),
    }
    write_json(folder / "info.json", info)
    return info


@dataclass
class PreparedData:
    """A prepared dataset, memory-mapped; partitions become in-memory :class:`ImageSet`."""

    folder: Path
    images: np.ndarray
    labels: np.ndarray
    partition: np.ndarray
    info: dict[str, Any]

    @property
    def num_classes(self) -> int:
        return int(self.info["num_classes"])

    def indices(self, part: str) -> np.ndarray:
        return np.flatnonzero(self.partition == PARTITIONS[part])

    def part_labels(self, part: str) -> np.ndarray:
        return self.labels[self.indices(part)]

    def part(self, part: str, local_indices: np.ndarray | list[int] | None = None) -> ImageSet:
        """Images of one partition (optionally a subset given by partition-local indices)."""
        idx = self.indices(part)
        if local_indices is not None:
            idx = idx[np.asarray(local_indices, dtype=np.int64)]
        return ImageSet.from_numpy(np.ascontiguousarray(self.images[idx]), self.labels[idx])


def load_prepared(folder: str | Path) -> PreparedData:
    folder = Path(folder)
    missing = [name for name in FILES if not (folder / name).exists()]
    if missing:
        raise UserError(
            f"Prepared dataset {folder} lacks {', '.join(missing)}; rerun the prepare_data rule "
            "for it (snakemake --forcerun prepare_data)."
        )
    try:
        info = json.loads((folder / "info.json").read_text())
        images = np.load(folder / "images.npy", mmap_mode="r")
        labels = np.load(folder / "labels.npy")
        partition = np.load(folder / "partition.npy")
    except (ValueError, OSError) as exc:
        raise UserError(
            f"Prepared dataset {folder} is corrupted ({exc}); delete the folder and rerun "
            "prepare_data."
        ) from exc
    if not len(images) == len(labels) == len(partition):
        raise UserError(
            f"Prepared dataset {folder} has arrays of different lengths; delete the folder and "
            "rerun prepare_data."
        )
    return PreparedData(folder, images, labels, partition, info)
