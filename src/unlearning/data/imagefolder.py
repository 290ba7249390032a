"""An image folder on disk, optionally with a metadata CSV, as a prepared dataset.

Labels come from one of two places:

- class subfolders, ``root/<class>/<image>`` (images anywhere below a class folder; files directly
  in ``root`` and hidden files or folders are ignored), or
- a labels CSV with a header: a ``path`` (or ``file``) column holding the image path relative to
  ``root`` (absolute paths and ``..`` are refused, so a CSV cannot read files elsewhere) and a
  ``label`` column. Rows keep the CSV order.

Classes are sorted by name; when every label of a labels CSV is an integer they are sorted by
value instead, so labels ``0 .. 9`` keep their indices (rather than ``0, 1, 10, 2, ...``). Folder
images are ordered by class, then by relative path.

An optional metadata CSV has one row per image, keyed by the column ``key_column``. A key matches
an image when it equals the image's path relative to ``root`` (``/``-separated, as in
``cat/001.png``); otherwise it may be the bare file name (``001.png``), provided no two images share
that name. Backslashes and a leading ``./`` in keys are ignored. Every image needs a row (the
first missing one is named in the error); rows that match no image are ignored. The saved
``metadata.csv`` is aligned with ``images.npy`` (row ``i`` describes image ``i``); its key column
is rewritten to the image's path relative to ``root``, and every other column is kept as text.
Without a metadata CSV, ``metadata.csv`` still records that path, under ``key_column``, so each
row of the prepared set can be traced to its file.

The split is either seeded and stratified by class (:func:`stratified_partition`), or read from
a metadata column (``split_column``) whose values are ``train``, ``val`` or ``test`` (case and
surrounding spaces ignored).

Images are decoded one at a time with PIL (large JPEGs at a reduced DCT scale that is still at
least ``image_size``, EXIF orientation applied, converted to ``L`` or ``RGB``; 16-bit greyscale is
scaled to 8 bits) straight into a memory-mapped ``images.npy``
written under a temporary name and renamed into place, so the whole set never has to fit in
memory. Resize policies:

- ``resize``: a plain resize to ``image_size`` x ``image_size`` (the aspect ratio is not kept);
- ``pad``: resize the width to ``image_size`` keeping the aspect ratio, then pad the height with
  zeros, centred, to a square (or centre-crop it when it is taller), as the paper does for face
  photographs.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, ImageOps, UnidentifiedImageError

from unlearning.atomic import atomic_path
from unlearning.data.prepared import (
    PARTITIONS,
    begin_prepared,
    finish_prepared,
    stratified_partition,
)
from unlearning.errors import UserError
from unlearning.progress import progress_bar

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)
RESIZE_POLICIES = ("resize", "pad")
SOURCE = "imagefolder"


def _norm_key(key: str) -> str:
    key = str(key).strip().replace("\\", "/")
    while key.startswith("./"):
        key = key[2:]
    return key


def _escapes(rel: str) -> bool:
    """Whether a path from a CSV leaves the image root: absolute, a drive, or through ``..``."""
    posix = PurePosixPath(rel)
    return posix.is_absolute() or bool(PureWindowsPath(rel).drive) or ".." in posix.parts


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS


def _visible(path: Path, root: Path) -> bool:
    return not any(part.startswith(".") for part in path.relative_to(root).parts)


def _from_subfolders(root: Path) -> tuple[list[str], list[str], list[str]]:
    """(relative paths, label names, classes) from ``root/<class>/...``."""
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    paths: list[str] = []
    names: list[str] = []
    classes: list[str] = []
    for class_dir in class_dirs:
        found = sorted(
            p.relative_to(root).as_posix()
            for p in class_dir.rglob("*")
            if _is_image(p) and _visible(p, root)
        )
        if not found:
            raise UserError(
                f"Class folder {class_dir} holds no images; add images to it or remove it from "
                f"{root}."
            )
        classes.append(class_dir.name)
        paths.extend(found)
        names.extend([class_dir.name] * len(found))
    if not paths:
        raise UserError(
            f"No images found in class subfolders of {root}; put images in root/<class>/ "
            "folders or give a labels CSV (labels_csv)."
        )
    return paths, names, classes


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise UserError(f"The {what} {path} does not exist; fix its path in the config.")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError) as exc:
        raise UserError(f"The {what} {path} cannot be read as CSV ({exc}); fix the file.") from exc


def _sorted_classes(names: Sequence[str]) -> list[str]:
    unique = sorted(set(names))
    try:
        return sorted(unique, key=int)
    except ValueError:
        return unique


def _from_labels_csv(root: Path, labels_csv: Path) -> tuple[list[str], list[str], list[str]]:
    table = _read_csv(labels_csv, "labels CSV")
    path_col = next((c for c in ("path", "file") if c in table.columns), None)
    if path_col is None or "label" not in table.columns:
        raise UserError(
            f"The labels CSV {labels_csv} needs a 'path' (or 'file') column and a 'label' column "
            f"but has {list(table.columns)}; rename its columns."
        )
    if table.empty:
        raise UserError(f"No images found: the labels CSV {labels_csv} has no rows; fill it in.")
    paths = [_norm_key(p) for p in table[path_col]]
    names = [str(v).strip() for v in table["label"]]
    for i, (rel, name) in enumerate(zip(paths, names, strict=True)):
        if _escapes(rel):
            raise UserError(
                f"The labels CSV {labels_csv} lists {rel!r} (row {i + 2}), a path outside the "
                f"image folder {root}; give paths relative to the folder, without '..'."
            )
        if not rel or not (root / rel).is_file():
            raise UserError(
                f"The labels CSV {labels_csv} lists {rel!r} (row {i + 2}), which is not a file "
                f"under {root}; fix the path or remove the row."
            )
        if not name:
            raise UserError(
                f"The labels CSV {labels_csv} has an empty label for {rel!r}; give it a label."
            )
    duplicated = pd.Series(paths)[pd.Series(paths).duplicated()]
    if len(duplicated):
        raise UserError(
            f"The labels CSV {labels_csv} lists {duplicated.iloc[0]!r} more than once; keep one "
            "row per image."
        )
    return paths, names, _sorted_classes(names)


def _align_metadata(paths: list[str], metadata_csv: Path, key_column: str) -> pd.DataFrame:
    """The metadata rows in image order; the key column becomes the image's relative path."""
    table = _read_csv(metadata_csv, "metadata CSV")
    if key_column not in table.columns:
        raise UserError(
            f"The metadata CSV {metadata_csv} has no key column {key_column!r} (it has "
            f"{list(table.columns)}); set key_column to the column naming each image's file."
        )
    keys = table[key_column].map(_norm_key)
    duplicated = keys[keys.duplicated()]
    if len(duplicated):
        raise UserError(
            f"The metadata CSV {metadata_csv} has more than one row for {duplicated.iloc[0]!r} "
            f"in column {key_column!r}; keep one row per image."
        )
    row_of = dict(zip(keys, range(len(keys)), strict=True))
    basenames = pd.Series([PurePosixPath(p).name for p in paths])
    shared = set(basenames[basenames.duplicated()])
    rows = np.empty(len(paths), dtype=np.int64)
    for i, rel in enumerate(paths):
        row = row_of.get(rel)
        if row is None:
            name = PurePosixPath(rel).name
            if name in row_of and name in shared:
                raise UserError(
                    f"The metadata CSV {metadata_csv} names file {name!r}, but several images "
                    f"share that name (e.g. {rel!r}); key it by the path relative to the root."
                )
            row = row_of.get(name)
        if row is None:
            raise UserError(
                f"The metadata CSV {metadata_csv} has no row for image {rel!r} (column "
                f"{key_column!r}); add one row per image, keyed by its path relative to the root "
                "or its file name."
            )
        rows[i] = row
    aligned = table.iloc[rows].reset_index(drop=True)
    aligned[key_column] = paths
    return aligned


def _partition_from_column(
    metadata: pd.DataFrame, column: str, metadata_csv: Path, key_column: str
) -> np.ndarray:
    if column not in metadata.columns:
        raise UserError(
            f"The split column {column!r} is not in the metadata CSV {metadata_csv} (it has "
            f"{list(metadata.columns)}); fix split_column."
        )
    values = metadata[column].str.strip().str.lower()
    bad = ~values.isin(list(PARTITIONS))
    if bad.any():
        value = metadata[column][bad].iloc[0]
        raise UserError(
            f"The split column {column!r} of {metadata_csv} holds {value!r} (for "
            f"{metadata[key_column][bad].iloc[0]!r}); use only train, val or test."
        )
    partition = values.map(PARTITIONS).to_numpy(dtype=np.uint8)
    for part in ("train", "test"):
        if not (partition == PARTITIONS[part]).any():
            raise UserError(
                f"The split column {column!r} of {metadata_csv} marks no image as {part}; mark "
                f"some rows {part}."
            )
    return partition


def _to_uint8(img: Image.Image, channels: int) -> Image.Image:
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        if img.mode.startswith("I;16") or arr.max(initial=0) > 255:
            arr = arr / 257.0
        img = Image.fromarray(np.clip(np.round(arr), 0, 255).astype(np.uint8))  # mode L
    return img.convert("L" if channels == 1 else "RGB")


def _fit(img: Image.Image, size: int, resize: str) -> np.ndarray:
    """Resize one image to ``size`` x ``size`` under the policy; returns (C, H, W) uint8."""
    if resize == "resize":
        img = img.resize((size, size), Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.uint8)
    else:
        width, height = img.size
        new_height = max(1, int(round(height * size / width)))
        arr = np.asarray(img.resize((size, new_height), Image.Resampling.BILINEAR), np.uint8)
        if new_height > size:
            top = (new_height - size) // 2
            arr = arr[top : top + size]
        elif new_height < size:
            top = (size - new_height) // 2
            pad = [(top, size - new_height - top), (0, 0)] + [(0, 0)] * (arr.ndim - 2)
            arr = np.pad(arr, pad)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def load_image(
    path: str | Path,
    image_size: int,
    channels: int,
    resize: str,
    small: list[tuple[str, int, int]] | None = None,
) -> np.ndarray:
    """One image as (channels, image_size, image_size) uint8; unreadable files are UserErrors.

    PIL refuses images of more than twice ``Image.MAX_IMAGE_PIXELS`` (decompression bombs) and
    warns above it, both without naming the file; here the refusal names it, and the warning
    goes to the log with the file's name. ``small`` collects (path, width, height) of images
    whose sides are both under a quarter of ``image_size``: upscaled, they are mostly
    interpolation.
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if small is not None and 4 * max(img.size) < image_size:
                    small.append((str(path), *img.size))
                img.draft(None, (image_size, image_size))  # JPEG: decode at a reduced scale
                img = ImageOps.exif_transpose(img)
                array = _fit(_to_uint8(img, channels), image_size, resize)
    except Image.DecompressionBombError as exc:
        raise UserError(
            f"Image {path} has more than {2 * (Image.MAX_IMAGE_PIXELS or 0)} pixels, more than "
            "PIL decodes safely (a decompression bomb, or a huge scan); downscale the file or "
            "remove it."
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UserError(
            f"Image {path} cannot be read ({exc}); replace or remove the file."
        ) from exc
    for warning in caught:
        if issubclass(warning.category, Image.DecompressionBombWarning):
            log.warning("Image %s is very large (%s).", path, warning.message)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return array


def prepare_imagefolder(
    folder_out: str | Path,
    *,
    root: str | Path,
    labels_csv: str | Path | None = None,
    metadata_csv: str | Path | None = None,
    image_size: int,
    channels: int,
    resize: str,
    val_fraction: float,
    test_fraction: float,
    split_seed: int,
    split_column: str | None = None,
    key_column: str,
    progress: bool = False,
) -> dict[str, Any]:
    """Prepare an image folder (see the module docstring) into ``folder_out``; returns info.

    Every setting is required: the config schema holds the defaults, and the workflow passes
    the completed entry (``data/sources.py``)."""
    root = Path(root)
    if resize not in RESIZE_POLICIES:
        raise UserError(f"Unknown resize policy {resize!r}; use one of {list(RESIZE_POLICIES)}.")
    if channels not in (1, 3):
        raise UserError(f"channels is {channels!r}; use 1 (greyscale) or 3 (RGB).")
    if int(image_size) < 1:
        raise UserError(f"image_size is {image_size!r}; use a positive number of pixels.")
    if not root.is_dir():
        raise UserError(f"The image folder {root} does not exist; fix the dataset's root.")
    if split_column is not None and metadata_csv is None:
        raise UserError(
            f"split_column {split_column!r} needs a metadata CSV holding it; set metadata_csv "
            "or drop split_column."
        )

    if labels_csv is not None:
        paths, names, classes = _from_labels_csv(root, Path(labels_csv))
    else:
        paths, names, classes = _from_subfolders(root)
    class_index = {name: i for i, name in enumerate(classes)}
    labels = np.array([class_index[name] for name in names], dtype=np.int64)

    if metadata_csv is not None:
        metadata = _align_metadata(paths, Path(metadata_csv), key_column)
    else:
        metadata = pd.DataFrame({key_column: paths})
    if split_column is not None:
        partition = _partition_from_column(metadata, split_column, Path(metadata_csv), key_column)
        split_info: dict[str, Any] = {"split_column": split_column}
    else:
        partition = stratified_partition(labels, val_fraction, test_fraction, split_seed)
        split_info = {"split_seed": split_seed}

    # Everything is validated; now decode one image at a time into the memory map.
    folder = begin_prepared(folder_out)
    shape = (len(paths), channels, int(image_size), int(image_size))
    with atomic_path(folder / "images.npy") as tmp:
        images = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        bar = progress_bar(len(paths), desc=f"decode {root.name}", enabled=progress)
        small: list[tuple[str, int, int]] = []
        try:
            for i, rel in enumerate(paths):
                images[i] = load_image(root / rel, int(image_size), channels, resize, small)
                bar.update(1)
            images.flush()
        finally:
            bar.close()
            del images
    if small:
        path, width, height = small[0]
        log.warning(
            "%d of %d images under %s are smaller than a quarter of image_size %d (e.g. %s, "
            "%dx%d px) and were upscaled, so they are mostly interpolation; check image_size "
            "or those files.",
            len(small), len(paths), root, image_size, path, width, height,
        )  # fmt: skip
    extra = {
        "root": os.fspath(root),
        "labels_from": "csv" if labels_csv is not None else "folders",
        "resize": resize,
        "metadata_key": key_column,
        **split_info,
    }
    return finish_prepared(folder, labels, partition, classes, SOURCE, extra, metadata)
