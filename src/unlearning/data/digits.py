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
"""Share of the images assigned to scanner B (a seeded draw per image)."""

# Scanner B's acquisition chain (synthetic; see :func:`scanner_b_acquisition`).
SCANNER_B_PSF_SIGMA = 0.05
"""Gaussian point-spread function, standard deviation as a fraction of the image width."""
SCANNER_B_GAMMA = 0.6
"""Exponent of the tone curve applied to the blurred [0, 1] exposure."""
SCANNER_B_BASE = 0.2
"""Output level of an unexposed pixel ("base plus fog"), as a fraction of full scale."""
SCANNER_B_WHITE = 0.9
"""Output level of a fully exposed pixel (the readout saturates below full scale)."""
SCANNER_B_NOISE = 0.05
"""Standard deviation of the additive Gaussian readout noise, as a fraction of full scale."""


def _gaussian_blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of (N, C, H, W) float64 images with edge replication.

    NumPy in float64 rather than a torch convolution, so the result (and hence the rounded uint8
    images) does not depend on the torch build or thread count.
    """
    if sigma <= 0:
        return images
    radius = max(1, int(np.ceil(3 * sigma)))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-(offsets**2) / (2 * sigma**2))
    kernel /= kernel.sum()
    out = images
    for axis in (-2, -1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="edge")
        size = out.shape[axis]
        out = sum(
            weight * np.take(padded, np.arange(k, k + size), axis=axis)
            for k, weight in enumerate(kernel)
        )
    return out


def scanner_b_acquisition(
    images: np.ndarray, rng: np.random.Generator, noise: float = SCANNER_B_NOISE
) -> np.ndarray:
    """Re-acquire clean uint8 images as scanner B would (synthetic; a demo of a device shift).

    Scanner B stands for an older film/storage-phosphor digitiser next to scanner A's clean
    readout. Its chain, in the order the physics applies it, changes every pixel of the image:

    1. **optics**: a Gaussian point-spread function of standard deviation
       :data:`SCANNER_B_PSF_SIGMA` of the width (0.8 px at 16 px) -- a softer, lower effective
       resolution, as from a larger focal spot or a thicker phosphor;
    2. **tone curve**: the blurred [0, 1] exposure ``e`` becomes ``e ** SCANNER_B_GAMMA``
       (gamma 0.6: faint strokes and the blur halo are lifted, thin strokes look thicker);
    3. **reduced dynamic range with an offset**: the output spans ``SCANNER_B_BASE`` (0.2, an
       unexposed pixel reads ~51 grey levels, like film base plus fog) to ``SCANNER_B_WHITE``
       (0.9, the readout saturates at ~230), i.e. ``out = 0.2 + 0.7 * e ** 0.6``;
    4. **readout noise**: additive Gaussian noise of standard deviation ``noise`` of full scale
       (0.05, ~13 grey levels), drawn from ``rng``, then rounding and clipping to uint8.

    So scanner B's images are blurrier, grey-backgrounded, lower in contrast and noisy, everywhere
    in the frame -- not a marker at a fixed place. A model trained on scanner A alone has never
    seen a grey background and does clearly worse on them (see :func:`prepare_digits_scanners`);
    one trained on both classifies them about as well as A's. ``noise=0`` gives the noise-free
    chain (for tests). ``images`` is (N, C, H, W) uint8 with values 0..255.
    """
    exposure = images.astype(np.float64) / 255.0
    exposure = _gaussian_blur(exposure, SCANNER_B_PSF_SIGMA * images.shape[-1])
    signal = np.clip(exposure, 0.0, 1.0) ** SCANNER_B_GAMMA
    signal = SCANNER_B_BASE + (SCANNER_B_WHITE - SCANNER_B_BASE) * signal
    if noise > 0:
        signal = signal + rng.normal(0.0, noise, size=signal.shape)
    return np.clip(np.round(signal * 255.0), 0, 255).astype(np.uint8)


def prepare_digits_scanners(
    folder: str | Path, image_size: int, val_fraction: float, test_fraction: float, split_seed: int
) -> dict[str, Any]:
    """The digits as if acquired on two scanners: a clinical-style demo of device forgetting.

    **Synthetic**: the digits were all scanned alike; the scanners are made up. Each image is
    assigned to scanner A or B by a draw from ``numpy.random.default_rng(split_seed)``
    (:data:`SCANNER_B_FRACTION`, 30 % B). Scanner A's images are :func:`digits_arrays`
    unchanged; scanner B's pass through :func:`scanner_b_acquisition` (blur, gamma tone curve,
    grey base level and compressed range, readout noise), whose noise comes from the same seeded
    generator, right after the assignment draw, so the preparation is deterministic for a
    ``split_seed``. ``metadata.csv`` has the columns ``file`` (a made-up name) and ``scanner``.

    The device difference is sized so that forgetting scanner B means something: with the
    default config's model and training (AllCNN width 0.5, 16 px, 15 epochs), a model trained on
    all training images classifies scanner B's test images as well as A's (99.1 %, training seeds
    0-2, split_seed 0), while the retrain on scanner A's training images alone scores 18-46 % on
    them (54-81 points lower) and stays within a point of the original on scanner A's test images.
    """
    import pandas as pd

    images, labels = digits_arrays(image_size)
    rng = np.random.default_rng(split_seed)
    is_b = rng.random(len(labels)) < SCANNER_B_FRACTION
    images[is_b] = scanner_b_acquisition(images[is_b], rng)
    metadata = pd.DataFrame(
        {
            "file": [f"digit_{i:04d}.png" for i in range(len(labels))],
            "scanner": np.where(is_b, "B", "A"),
        }
    )
    return _write_digits(
        folder, images, labels, val_fraction, test_fraction, split_seed, metadata=metadata
    )
