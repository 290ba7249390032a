"""Public benchmarks through torchvision: MNIST, Fashion-MNIST, CIFAR-10 and SVHN.

The raw files live under ``raw_root`` in the layout torchvision expects. Files already there are
used without any network access; only when they are missing and ``download`` is on does
torchvision fetch them (it checks their MD5 sums itself). MNIST and Fashion-MNIST files are
checked only for existence; CIFAR-10 batches and SVHN ``.mat`` files are checked against
torchvision's MD5 table on every load, so a damaged or unofficial copy is refused.

Arrays are taken whole from the dataset objects (``.data``/``.targets``/``.labels``), never
sample by sample. The official training split becomes train plus a seeded, stratified validation
fraction; the official test split becomes test.
"""

from __future__ import annotations

import gzip
import math
import os
import shutil
import struct
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from unlearning.data.prepared import PARTITIONS, write_prepared
from unlearning.errors import UserError

TORCHVISION_SETS = ("mnist", "fashionmnist", "cifar10", "svhn")
_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


# --- array helpers shared with the MedMNIST source -------------------------------------------


def to_nchw(images: np.ndarray | torch.Tensor, layout: str) -> np.ndarray:
    """A NCHW *view* of ``images`` given in ``layout`` ("NHW", "NHWC" or "NCHW"); no copy."""
    array = images.numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if layout == "NHW":
        return array[:, None, :, :]
    if layout == "NHWC":
        return array.transpose(0, 3, 1, 2)
    if layout == "NCHW":
        return array
    raise ValueError(f"unknown layout {layout!r}")


def check_image_size(image_size: Any, where: str) -> None:
    if image_size is not None and (
        isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8
    ):
        raise UserError(
            f"{where} has image_size {image_size!r}; use a whole number of pixels of at least 8, "
            "or leave it out to keep the native size."
        )


def fill_images(out: np.ndarray, start: int, images: np.ndarray, budget: int = 1 << 25) -> int:
    """Copy uint8 NCHW ``images`` into ``out[start:]``, resizing in chunks when sizes differ.

    ``out`` may be a memory map; a chunk holds about ``budget`` float pixels (128 MiB) at a time.
    Resizing is bilinear, antialiased when shrinking. Returns the index after the last image.
    """
    n = len(images)
    size = out.shape[2:]
    if tuple(images.shape[2:]) == tuple(size):
        out[start : start + n] = images
        return start + n
    per_image = images.shape[1] * max(images.shape[2] * images.shape[3], size[0] * size[1])
    chunk = max(1, budget // per_image)
    for lo in range(0, n, chunk):
        block = torch.from_numpy(np.ascontiguousarray(images[lo : lo + chunk])).float()
        block = F.interpolate(
            block, size=size, mode="bilinear", align_corners=False, antialias=True
        )
        out[start + lo : start + lo + len(block)] = block.round_().clamp_(0, 255).byte().numpy()
    return start + n


def validation_partition(labels: np.ndarray, val_fraction: float, seed: int) -> np.ndarray:
    """Seeded per-class train (0) / validation (1) split of an official training set."""
    if isinstance(val_fraction, bool) or not 0 <= val_fraction < 1:
        raise UserError(
            f"val_fraction {val_fraction!r} is invalid; use a value in [0, 1) (the official test "
            "split is kept as the test set)."
        )
    rng = np.random.default_rng(seed)
    partition = np.full(len(labels), PARTITIONS["train"], dtype=np.uint8)
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        idx = idx[rng.permutation(len(idx))]
        partition[idx[: int(round(val_fraction * len(idx)))]] = PARTITIONS["val"]
    return partition


def short_error(exc: BaseException) -> str:
    """One line for an exception raised deep inside a downloader."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}"


# --- torchvision -------------------------------------------------------------------------------


def _dataset_class(name: str):
    from torchvision import datasets

    return {
        "mnist": datasets.MNIST,
        "fashionmnist": datasets.FashionMNIST,
        "cifar10": datasets.CIFAR10,
        "svhn": datasets.SVHN,
    }[name]


def _expected_files(name: str, raw_root: Path) -> tuple[list[Path], str]:
    """The files torchvision reads, and a sentence part saying where to put them by hand."""
    cls = _dataset_class(name)
    if name in ("mnist", "fashionmnist"):
        folder = raw_root / cls.__name__ / "raw"
        files = [folder / f for f in _MNIST_FILES]
        where = f"put {', '.join(_MNIST_FILES)} (or the same names with .gz) in {folder}/"
    elif name == "cifar10":
        folder = raw_root / cls.base_folder
        names = [f for f, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]
        files = [folder / f for f in names]
        where = (
            f"put {', '.join(names)} in {folder}/ (or {cls.filename} from {cls.url} in {raw_root}/)"
        )
    else:
        names = [cls.split_list[s][1] for s in ("train", "test")]
        files = [raw_root / f for f in names]
        where = (
            f"put {' and '.join(names)} from http://ufldl.stanford.edu/housenumbers/ in {raw_root}/"
        )
    return files, where


def _unpack_local_archives(name: str, raw_root: Path) -> None:
    """Unpack archives placed by hand, so they are used without ``download`` or network."""
    if name in ("mnist", "fashionmnist"):
        folder = raw_root / _dataset_class(name).__name__ / "raw"
        for raw in _MNIST_FILES:
            packed = folder / f"{raw}.gz"
            if not (folder / raw).exists() and packed.exists():
                tmp = folder / f".{raw}.unpacking"
                with gzip.open(packed, "rb") as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.replace(tmp, folder / raw)
    elif name == "cifar10":
        cls = _dataset_class(name)
        archive = raw_root / cls.filename
        if archive.exists() and not (raw_root / cls.base_folder / "test_batch").exists():
            from torchvision.datasets.utils import extract_archive

            extract_archive(str(archive), str(raw_root))


#: IDX magic numbers: unsigned bytes, 3 dimensions (images) or 1 (labels).
_IDX_MAGIC = {"images": 0x0803, "labels": 0x0801}


def _check_idx(name: str, raw_root: Path, where: str) -> None:
    """Check the headers of MNIST-style IDX files before torchvision reads them: its own checks
    are bare assertions, and it never compares the number of labels with the number of images."""
    folder = raw_root / _dataset_class(name).__name__ / "raw"
    for prefix in ("train", "t10k"):
        counts = {}
        for kind, dims in (("images", 3), ("labels", 1)):
            path = folder / f"{prefix}-{kind}-idx{dims}-ubyte"
            if not path.is_file():
                return  # missing files are reported by _open_split, with download advice
            with open(path, "rb") as fh:
                header = fh.read(4 + 4 * dims)
            size = path.stat().st_size
            fields = struct.unpack(f">{1 + dims}i", header) if len(header) == 4 + 4 * dims else ()
            if not fields or fields[0] != _IDX_MAGIC[kind]:
                found = f"{fields[0]}" if fields else "a header too short"
                raise UserError(
                    f"IDX file {path} is not an IDX {kind} file (magic number {found}, expected "
                    f"{_IDX_MAGIC[kind]}); replace it with the official file ({where})."
                )
            expected = 4 + 4 * dims + math.prod(fields[1:])
            if size != expected:
                raise UserError(
                    f"IDX file {path} holds {size} bytes but its header announces {expected}; "
                    f"replace it with the official file ({where})."
                )
            counts[kind] = (path, fields[1])
        (images, n_images), (labels, n_labels) = counts["images"], counts["labels"]
        if n_images != n_labels:
            raise UserError(
                f"IDX file {labels} holds {n_labels} labels but {images} holds {n_images} "
                f"images; replace both with the official files ({where})."
            )


def _open_split(name: str, raw_root: Path, train: bool, download: bool, dataset: str):
    """The torchvision dataset object for one official split, downloading only if allowed."""
    cls = _dataset_class(name)
    kwargs = {"split": "train" if train else "test"} if name == "svhn" else {"train": train}
    files, where = _expected_files(name, raw_root)
    if name in ("mnist", "fashionmnist"):
        _check_idx(name, raw_root, where)
    try:
        return cls(root=str(raw_root), download=False, **kwargs)
    except ImportError as exc:
        raise UserError(
            f"Dataset '{dataset}' ({name}) needs a package that is missing ({short_error(exc)}); "
            "install it (SVHN needs scipy) into this environment."
        ) from exc
    except (AssertionError, ValueError, KeyError) as exc:  # torchvision's own format checks
        raise UserError(
            f"Dataset '{dataset}' ({name}) files under {raw_root} are not in the official format "
            f"({short_error(exc)}); replace them with the official files ({where})."
        ) from exc
    except RuntimeError as exc:
        present = all(f.exists() for f in files)
        if not download:
            if present:
                raise UserError(
                    f"Dataset '{dataset}' ({name}) files under {raw_root} fail torchvision's check "
                    f"({short_error(exc)}); replace them with the official files ({where})."
                ) from exc
            raise UserError(
                f"Dataset '{dataset}' ({name}) is not under {raw_root} and download is off; "
                f"{where}, or set download: true on a machine with network access."
            ) from exc
    try:
        return cls(root=str(raw_root), download=True, **kwargs)
    except Exception as exc:  # network, HTTP, checksum and archive errors all end here
        raise UserError(
            f"Dataset '{dataset}' ({name}) could not be downloaded to {raw_root} "
            f"({short_error(exc)}); check the network, or {where} by hand."
        ) from exc


def _split_arrays(name: str, ds) -> tuple[np.ndarray, np.ndarray]:
    """(NCHW uint8 view, int64 labels) of a torchvision dataset, straight from its arrays."""
    if name in ("mnist", "fashionmnist"):
        return to_nchw(ds.data, "NHW"), ds.targets.numpy().astype(np.int64)
    if name == "cifar10":
        return to_nchw(ds.data, "NHWC"), np.asarray(ds.targets, dtype=np.int64)
    return to_nchw(ds.data, "NCHW"), np.asarray(ds.labels, dtype=np.int64)


def prepare_torchvision(
    name: str,
    folder: str | Path,
    raw_root: str | Path,
    download: bool,
    val_fraction: float,
    split_seed: int,
    image_size: int | None = None,
    dataset: str | None = None,
) -> dict[str, Any]:
    """Prepare ``name`` (mnist, fashionmnist, cifar10, svhn) from torchvision into ``folder``.

    ``dataset`` is the config's name for it, used in error messages only.
    """
    dataset = dataset or name
    if name not in TORCHVISION_SETS:
        raise UserError(
            f"Dataset '{dataset}' names torchvision set {name!r}, which is not supported; use one "
            f"of {', '.join(TORCHVISION_SETS)}."
        )
    check_image_size(image_size, f"Dataset '{dataset}'")
    raw_root = Path(raw_root).expanduser()
    try:
        _unpack_local_archives(name, raw_root)
    except (OSError, EOFError, tarfile.TarError) as exc:
        raise UserError(
            f"Dataset '{dataset}' ({name}) has an unreadable archive under {raw_root} "
            f"({short_error(exc)}); delete it and put the official file there again."
        ) from exc

    train_ds = _open_split(name, raw_root, True, download, dataset)
    test_ds = _open_split(name, raw_root, False, download, dataset)
    train_images, train_labels = _split_arrays(name, train_ds)
    test_images, test_labels = _split_arrays(name, test_ds)
    for split, imgs, lbls in (
        ("train", train_images, train_labels),
        ("test", test_images, test_labels),
    ):
        if len(imgs) != len(lbls):
            raise UserError(
                f"Dataset '{dataset}' ({name}) files under {raw_root} hold {len(imgs)} {split} "
                f"images but {len(lbls)} labels; replace them with the official files."
            )
    classes = [str(c) for c in getattr(train_ds, "classes", range(10))]

    n_train, n_test = len(train_images), len(test_images)
    size = image_size or train_images.shape[2]
    images = np.empty((n_train + n_test, train_images.shape[1], size, size), dtype=np.uint8)
    fill_images(images, fill_images(images, 0, train_images), test_images)
    del train_ds, test_ds, train_images, test_images

    labels = np.concatenate([train_labels, test_labels])
    partition = np.concatenate(
        [
            validation_partition(train_labels, val_fraction, split_seed),
            np.full(n_test, PARTITIONS["test"], dtype=np.uint8),
        ]
    )
    return write_prepared(
        folder,
        images,
        labels,
        partition,
        classes=classes,
        source=f"torchvision:{name}",
        extra_info={
            "raw_root": str(raw_root),
            "split_seed": split_seed,
            "val_fraction": val_fraction,
            "native_image_size": int(_native_size(name)),
        },
    )


def _native_size(name: str) -> int:
    return 28 if name in ("mnist", "fashionmnist") else 32
