"""MedMNIST v2/v3 2D sets (PathMNIST, OCTMNIST, RetinaMNIST, ...) through the ``medmnist`` package.

``medmnist`` names its files ``<raw_root>/<flag>.npz`` (28 px) or ``<flag>_<size>.npz`` (64, 128,
224 px). A file already there is read without network access (``medmnist`` checks MD5 only when it
downloads; the MD5 of the file used is recorded in ``info.json`` with whether it matches the
package's table). The official train/validation/test splits are kept.

Memory: ``images.npy`` is created as a memory map (``np.lib.format.open_memmap``) under a
temporary name and filled split by split, then renamed into place; ``finish_prepared`` writes the
rest. So the full image array is never held in RAM and never written twice; only one split's
decompressed array is (``.npz`` members are compressed, so they cannot be memory-mapped).
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from unlearning.atomic import atomic_path
from unlearning.data.prepared import PARTITIONS, begin_prepared, finish_prepared
from unlearning.data.torchvision_sets import check_image_size, fill_images, short_error, to_nchw
from unlearning.errors import UserError

SPLITS = ("train", "val", "test")
SINGLE_LABEL_TASKS = ("multi-class", "binary-class", "ordinal-regression")


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _npz_header(path: Path, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype of array ``name`` read from its ``.npy`` header, without
    decompressing it."""
    with zipfile.ZipFile(path) as archive, archive.open(f"{name}.npy") as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    return tuple(shape), dtype


def _npz_image_shape(path: Path, split: str) -> tuple[int, ...]:
    """The shape of ``<split>_images``; an array of Python objects is refused, since loading it
    would unpickle (and could run) code, which ``np.load`` rightly declines with a bare error."""
    for kind in ("images", "labels"):
        _, dtype = _npz_header(path, f"{split}_{kind}")
        if dtype.hasobject:
            raise UserError(
                f"MedMNIST file {path} stores {split}_{kind} as Python objects (dtype object), "
                "which are not loaded because unpickling can run code; save it with numeric "
                "arrays (uint8 images, integer labels), as medmnist's own files are."
            )
    return _npz_header(path, f"{split}_images")[0]


def _check_members(path: Path, url: str) -> None:
    """Every split's images and labels must be in the archive: medmnist itself reads a missing
    one as a bare ``KeyError`` that names neither the file nor the fix."""
    with zipfile.ZipFile(path) as archive:
        present = {name.removesuffix(".npy") for name in archive.namelist()}
    for split in SPLITS:
        for kind in ("images", "labels"):
            if f"{split}_{kind}" not in present:
                raise UserError(
                    f"MedMNIST file {path} is not a complete MedMNIST archive, having no "
                    f"{split}_{kind} array (only {sorted(present)}); delete it and download it "
                    f"again, or put {path.name} from {url} there."
                )


def medmnist_info(flag: str, size: int, dataset: str) -> tuple[dict[str, Any], type]:
    """``medmnist.INFO[flag]`` and the dataset class, after checking flag, task and size."""
    try:
        import medmnist
        from medmnist.dataset import MedMNIST2D
    except ImportError as exc:
        raise UserError(
            f"Dataset '{dataset}' is a MedMNIST set, but the medmnist package is not installed "
            f"({short_error(exc)}); run pip install medmnist in this environment."
        ) from exc

    info = medmnist.INFO.get(flag)
    if info is None:
        flags = sorted(f for f in medmnist.INFO if not f.endswith("3d"))
        raise UserError(
            f"Dataset '{dataset}' names MedMNIST flag {flag!r}, which does not exist; use one of "
            f"{', '.join(flags)}."
        )
    cls = getattr(medmnist, info["python_class"])
    if not issubclass(cls, MedMNIST2D):
        raise UserError(
            f"Dataset '{dataset}' names MedMNIST flag {flag!r}, a 3D volume set; only 2D image "
            "sets are supported, so choose a flag without '3d'."
        )
    if info["task"] not in SINGLE_LABEL_TASKS:
        raise UserError(
            f"Dataset '{dataset}' names MedMNIST flag {flag!r}, whose task is {info['task']!r}; "
            f"only single-label tasks ({', '.join(SINGLE_LABEL_TASKS)}) can be unlearned by class, "
            "so choose another flag."
        )
    if isinstance(size, bool) or size not in cls.available_sizes:
        raise UserError(
            f"Dataset '{dataset}' asks for MedMNIST size {size!r}; use one of "
            f"{', '.join(map(str, cls.available_sizes))}."
        )
    return info, cls


def _ensure_file(flag, size, raw_root: Path, download: bool, cls, info, dataset) -> Path:
    suffix = "" if size == 28 else f"_{size}"
    path = raw_root / f"{flag}{suffix}.npz"
    url = info[f"url{suffix}"].split("?")[0]
    if path.exists():
        return path
    if not download:
        raise UserError(
            f"Dataset '{dataset}' (MedMNIST {flag}, {size} px) is not at {path} and download is "
            f"off; put {path.name} from {url} there, or set download: true on a machine with "
            "network access."
        )
    try:
        cls(split="test", root=str(raw_root), download=True, size=size)
    except Exception as exc:  # medmnist turns every download failure into a RuntimeError
        raise UserError(
            f"Dataset '{dataset}' (MedMNIST {flag}, {size} px) could not be downloaded to {path} "
            f"({short_error(exc)}); check the network, or put {path.name} from {url} there by hand."
        ) from exc
    return path


def prepare_medmnist(
    flag: str,
    folder: str | Path,
    raw_root: str | Path,
    download: bool,
    size: int,
    image_size: int | None = None,
    dataset: str | None = None,
) -> dict[str, Any]:
    """Prepare MedMNIST ``flag`` at ``size`` px (optionally resized to ``image_size``).

    ``dataset`` is the config's name for it, used in error messages only.
    """
    dataset = dataset or flag
    info, cls = medmnist_info(flag, size, dataset)
    check_image_size(image_size, f"Dataset '{dataset}'")
    raw_root = Path(raw_root).expanduser()
    raw_root.mkdir(parents=True, exist_ok=True)  # medmnist refuses a root that does not exist
    path = _ensure_file(flag, size, raw_root, download, cls, info, dataset)

    try:
        _check_members(path, info[f"url{'' if size == 28 else f'_{size}'}"].split("?")[0])
        shapes = {split: _npz_image_shape(path, split) for split in SPLITS}
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise UserError(
            f"MedMNIST file {path} is not a complete MedMNIST archive ({short_error(exc)}); "
            "delete it and download it again."
        ) from exc
    channels = 1 if len(shapes["train"]) == 3 else shapes["train"][3]
    out_size = image_size or shapes["train"][1]
    total = sum(shape[0] for shape in shapes.values())

    classes = [info["label"][str(i)] for i in range(len(info["label"]))]
    folder = begin_prepared(folder)  # removes a stale info.json: the folder reads as unfinished
    with atomic_path(folder / "images.npy") as tmp:
        images = np.lib.format.open_memmap(
            tmp, mode="w+", dtype=np.uint8, shape=(total, channels, out_size, out_size)
        )
        labels, partition = _fill_splits(images, cls, path, raw_root, size)
        images.flush()
        images = None  # close the map before the file is renamed into place
        if labels.min() < 0 or labels.max() >= len(classes):
            raise UserError(
                f"MedMNIST file {path} has labels outside 0..{len(classes) - 1}; delete it and "
                "download it again."
            )
    md5 = _md5(path)
    suffix = "" if size == 28 else f"_{size}"
    return finish_prepared(
        folder,
        labels,
        partition,
        classes=classes,
        source=f"medmnist:{flag}",
        extra_info={
            "raw_root": str(raw_root),
            "raw_file": path.name,
            "raw_md5": md5,
            "raw_md5_matches_medmnist": md5 == info.get(f"MD5{suffix}"),
            "medmnist_flag": flag,
            "medmnist_size": size,
            "task": info["task"],
        },
    )


def _fill_splits(
    images: np.ndarray, cls, path: Path, raw_root: Path, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Write train, val, test images into ``images`` in order, one split in memory at a time."""
    labels, partition, start = [], [], 0
    for split in SPLITS:
        ds = cls(split=split, root=str(raw_root), download=False, size=size)
        imgs = np.asarray(ds.imgs)
        if imgs.dtype != np.uint8 or imgs.ndim not in (3, 4) or imgs.shape[1:3] != (size, size):
            raise UserError(
                f"MedMNIST file {path} holds {split} images of shape {imgs.shape} and type "
                f"{imgs.dtype}, not uint8 {size}x{size}; delete it and download it again."
            )
        split_labels = np.asarray(ds.labels)
        if split_labels.ndim == 2 and split_labels.shape[1] != 1:
            raise UserError(
                f"MedMNIST file {path} holds {split_labels.shape[1]} labels per image; only "
                "single-label sets are supported, so choose another flag."
            )
        split_labels = split_labels.ravel().astype(np.int64)
        if len(split_labels) != len(imgs):
            raise UserError(
                f"MedMNIST file {path} has {len(imgs)} {split} images but "
                f"{len(split_labels)} labels; delete it and download it again."
            )
        start = fill_images(images, start, to_nchw(imgs, "NHW" if imgs.ndim == 3 else "NHWC"))
        labels.append(split_labels)
        partition.append(np.full(len(imgs), PARTITIONS[split], dtype=np.uint8))
        del ds, imgs
    return np.concatenate(labels), np.concatenate(partition)
