"""The embedded default: scikit-learn's 1,797 handwritten-digit scans (8x8, 17 grey levels).

They ship inside scikit-learn, so the whole pipeline runs with no network. Images are upscaled
bilinearly to the configured size, since AllCNN's two stride-2 stages need more than 8 pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from unlearning.data.prepared import stratified_partition, write_prepared


def digits_arrays(image_size: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    if image_size != 8:
        pixels = F.interpolate(
            pixels, size=(image_size, image_size), mode="bilinear", align_corners=False
        )
    images = torch.round(pixels.clamp(0, 1) * 255).to(torch.uint8).numpy()
    return images, bunch.target.astype(np.int64)


def prepare_digits(
    folder: str | Path, image_size: int, val_fraction: float, test_fraction: float, split_seed: int
) -> dict[str, Any]:
    images, labels = digits_arrays(image_size)
    return _write_digits(folder, images, labels, val_fraction, test_fraction, split_seed)


def _write_digits(
    folder: str | Path,
    images: np.ndarray,
    labels: np.ndarray,
    val_fraction: float,
    test_fraction: float,
    split_seed: int,
    metadata: Any = None,
) -> dict[str, Any]:
    partition = stratified_partition(labels, val_fraction, test_fraction, split_seed)
    synthetic = metadata is not None
    return write_prepared(
        folder,
        images,
        labels,
        partition,
        classes=[str(c) for c in range(10)],
        source="sklearn.datasets.load_digits" + (" + synthetic scanners" if synthetic else ""),
        extra_info={
            "split_seed": split_seed,
            **({"synthetic_metadata": True} if synthetic else {}),
        },
        metadata=metadata,
    )


SCANNER_B_FRACTION = 0.3


def add_scanner_artifact(images: np.ndarray) -> np.ndarray:
    """Scanner B's systematic acquisition artifact: a bright vertical line one tenth of the width
    from the left edge and a +20 grey-level offset on the whole image (uint8, clipped)."""
    out = images.astype(np.int16) + 20
    column = max(1, images.shape[-1] // 10)
    out[..., column] = 255
    return np.clip(out, 0, 255).astype(np.uint8)


def prepare_digits_scanners(
    folder: str | Path, image_size: int, val_fraction: float, test_fraction: float, split_seed: int
) -> dict[str, Any]:
    """The digits as if acquired on two scanners: a clinical-style demo of device forgetting.

    The metadata is synthetic: each image is assigned to scanner A or B by a seeded draw (30 %
    B), and scanner B's images carry :func:`add_scanner_artifact`. ``metadata.csv`` has the
    columns ``file`` (a made-up name) and ``scanner``.
    """
    import pandas as pd

    images, labels = digits_arrays(image_size)
    is_b = np.random.default_rng(split_seed).random(len(labels)) < SCANNER_B_FRACTION
    images[is_b] = add_scanner_artifact(images[is_b])
    metadata = pd.DataFrame(
        {
            "file": [f"digit_{i:04d}.png" for i in range(len(labels))],
            "scanner": np.where(is_b, "B", "A"),
        }
    )
    return _write_digits(
        folder, images, labels, val_fraction, test_fraction, split_seed, metadata=metadata
    )
