"""The prepared on-disk format (docs/architecture.md, Prepared data) shared by every data source.

``resources/data/<dataset>/`` holds ``images.npy`` (uint8 NCHW, memory-mappable),
``labels.npy`` (int64), ``partition.npy`` (uint8: 0 train, 1 validation, 2 test),
optional ``metadata.csv`` and ``info.json`` (classes, channels, size, normalisation statistics of
the training partition, source, file checksums).

``metadata.csv`` is aligned with the images: row ``i`` describes image ``i``. It is read back with
every column as a string (``dtype=str``, no NA conversion), so identifiers such as ``"007"`` keep
their spelling; consumers convert numeric columns themselves (``pd.to_numeric``).

``info.json`` is written last and marks a folder complete; writers remove a stale one first, so an
interrupted rewrite never looks finished. :func:`write_prepared` takes in-memory arrays; sources
too large for memory write ``images.npy`` themselves (memory-mapped, atomically) and call
:func:`finish_prepared` for the rest.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unlearning.atomic import atomic_path, write_json
from unlearning.errors import UserError

if TYPE_CHECKING:  # torch is imported where images are read: split jobs never need it
    import pandas as pd  # read only where a metadata table exists: torch jobs seldom need it
    import torch

    from unlearning.data.imageset import ImageSet

PARTITIONS = {"train": 0, "val": 1, "test": 2}
FILES = ("images.npy", "labels.npy", "partition.npy", "info.json")
METADATA = "metadata.csv"
#: Where the workflow keeps every dataset's prepared folder, relative to its working directory.
PREPARED_ROOT = "resources/data"


def prepared_dir(dataset: str) -> str:
    """The prepared folder of ``dataset``: the one spelling of the path that the rules (called
    with ``"{dataset}"``), the target check and the estimate share."""
    return f"{PREPARED_ROOT}/{dataset}"


def prepared_files(dataset: str) -> dict[str, str]:
    """Each file of :data:`FILES` under :func:`prepared_dir`, by name (``images``, ``labels``,
    ``partition``, ``info``): the rule that prepares a dataset writes them, and jobs read them."""
    return {name.split(".")[0]: f"{prepared_dir(dataset)}/{name}" for name in FILES}


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


def channel_stats(
    images: np.ndarray, chunk: int | None = None, indices: np.ndarray | None = None
) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of [0, 1] pixels, in chunks so memory-mapped sets stay cheap.

    ``indices`` (optional) restricts the statistics to those images without first copying them
    all out of a memory map. ``chunk`` images are read at a time; by default as many as fit in
    about 128 MB of float64, whatever the image size.
    """
    channels = images.shape[1]
    if chunk is None:
        chunk = max(1, (1 << 24) // max(1, int(np.prod(images.shape[1:]))))
    total = np.zeros(channels)
    total_sq = np.zeros(channels)
    count = 0
    n = len(images) if indices is None else len(indices)
    for start in range(0, n, chunk):
        rows = slice(start, start + chunk) if indices is None else indices[start : start + chunk]
        block = np.asarray(images[rows], dtype=np.float64) / 255.0
        total += block.sum(axis=(0, 2, 3))
        total_sq += np.square(block, out=block).sum(axis=(0, 2, 3))
        count += block.shape[0] * block.shape[2] * block.shape[3]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 1e-12))
    return [float(m) for m in mean], [float(s) for s in std]


def begin_prepared(folder: str | Path) -> Path:
    """Create ``folder`` and remove a stale ``info.json``, so the folder reads as unfinished."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "info.json").unlink(missing_ok=True)
    return folder


def write_prepared(
    folder: str | Path,
    images: np.ndarray,
    labels: np.ndarray,
    partition: np.ndarray,
    classes: list[str],
    source: str,
    extra_info: dict[str, Any] | None = None,
    metadata: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Write the prepared format; ``info.json`` is written last and marks the folder complete."""
    folder = begin_prepared(folder)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError("images must be uint8 (N, C, H, W)")
    if images.shape[2] != images.shape[3]:
        raise ValueError("images must be square")
    with atomic_path(folder / "images.npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, images)
    return finish_prepared(folder, labels, partition, classes, source, extra_info, metadata)


def finish_prepared(
    folder: str | Path,
    labels: np.ndarray,
    partition: np.ndarray,
    classes: list[str],
    source: str,
    extra_info: dict[str, Any] | None = None,
    metadata: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Write everything but ``images.npy`` (already in place) and, last, ``info.json``.

    ``metadata`` (optional) must have one row per image, in image order; it is saved as
    ``metadata.csv`` without the index. A stale ``metadata.csv`` is removed when there is none.
    """
    folder = Path(folder)
    images = np.load(folder / "images.npy", mmap_mode="r")
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[2] != images.shape[3]:
        raise ValueError("images.npy must hold square uint8 (N, C, H, W) images")
    if not len(images) == len(labels) == len(partition):
        raise ValueError("images, labels and partition must have the same length")
    if metadata is not None and len(metadata) != len(images):
        raise ValueError("metadata must have one row per image")
    arrays = {
        "labels.npy": np.asarray(labels).astype(np.int64),
        "partition.npy": np.asarray(partition).astype(np.uint8),
    }
    for name, array in arrays.items():
        with atomic_path(folder / name) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, array)
    written = ["images.npy", *arrays]
    if metadata is not None:
        with atomic_path(folder / METADATA) as tmp:
            metadata.to_csv(tmp, index=False)
        written.append(METADATA)
    else:
        (folder / METADATA).unlink(missing_ok=True)
    partition = arrays["partition.npy"]
    mean, std = channel_stats(images, indices=np.flatnonzero(partition == PARTITIONS["train"]))
    info = {
        "source": source,
        "classes": list(classes),
        "num_classes": len(classes),
        "channels": int(images.shape[1]),
        "image_size": int(images.shape[2]),
        "mean": mean,
        "std": std,
        "counts": {p: int((partition == code).sum()) for p, code in PARTITIONS.items()},
        "sha256": {name: _sha256(folder / name) for name in written},
        **(extra_info or {}),
    }
    del images  # release the memory map before the folder is marked complete
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
    metadata: pd.DataFrame | None = None
    """One row per image (row ``i`` describes image ``i``), all columns strings; None if absent."""

    @property
    def num_classes(self) -> int:
        return int(self.info["num_classes"])

    def indices(self, part: str) -> np.ndarray:
        return np.flatnonzero(self.partition == PARTITIONS[part])

    def part_labels(self, part: str) -> np.ndarray:
        return self.labels[self.indices(part)]

    @functools.cached_property
    def image_tensor(self) -> torch.Tensor:
        """All images as one tensor over the memory map (nothing is read until indexed)."""
        import torch

        return torch.from_numpy(self.images)

    def part(self, part: str, local_indices: np.ndarray | list[int] | None = None) -> ImageSet:
        """Images of one partition (optionally a subset given by partition-local indices).

        The set holds row indices into the memory map; rows are read batch by batch.
        """
        import torch

        from unlearning.data.imageset import ImageSet

        idx = self.indices(part)
        if local_indices is not None:
            idx = idx[np.asarray(local_indices, dtype=np.int64)]
        labels = torch.from_numpy(np.asarray(self.labels[idx], dtype=np.int64))
        return ImageSet(self.image_tensor, labels, torch.from_numpy(idx.astype(np.int64)))


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
        # copy-on-write: a writable view for torch that never writes back to the file
        images = np.load(folder / "images.npy", mmap_mode="c")
        labels = np.load(folder / "labels.npy")
        partition = np.load(folder / "partition.npy")
        metadata = None
        if (folder / METADATA).exists():
            import pandas as pd

            metadata = pd.read_csv(folder / METADATA, dtype=str, keep_default_na=False)
    except (ValueError, OSError) as exc:  # pandas' ParserError is a ValueError
        raise UserError(
            f"Prepared dataset {folder} is corrupted ({exc}); delete the folder and rerun "
            "prepare_data."
        ) from exc
    if not len(images) == len(labels) == len(partition) or (
        metadata is not None and len(metadata) != len(images)
    ):
        raise UserError(
            f"Prepared dataset {folder} has arrays of different lengths; delete the folder and "
            "rerun prepare_data."
        )
    return PreparedData(folder, images, labels, partition, info, metadata)
