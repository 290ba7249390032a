"""The synthetic two-scanner digits: seeded draw, A unchanged, B through its acquisition chain."""

from __future__ import annotations

import numpy as np
import pytest

from unlearning.data.digits import (
    SCANNER_B_BASE,
    SCANNER_B_GAMMA,
    SCANNER_B_NOISE,
    SCANNER_B_WHITE,
    digits_arrays,
    prepare_digits_scanners,
    scanner_b_acquisition,
)
from unlearning.data.prepared import load_prepared

SPLIT = {"val_fraction": 0.1, "test_fraction": 0.2, "split_seed": 0}
FILES = ("images.npy", "labels.npy", "partition.npy", "metadata.csv", "info.json")


@pytest.fixture(scope="module")
def scanners(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scanners")
    prepare_digits_scanners(folder, image_size=16, **SPLIT)
    data = load_prepared(folder)
    clean, labels = digits_arrays(16)
    is_b = (data.metadata["scanner"] == "B").to_numpy()
    return data, np.asarray(data.images), clean, labels, is_b


def test_preparation_is_deterministic(scanners, tmp_path):
    data = scanners[0]
    prepare_digits_scanners(tmp_path / "again", image_size=16, **SPLIT)
    for name in FILES:
        assert (tmp_path / "again" / name).read_bytes() == (data.folder / name).read_bytes(), name
    # another split_seed draws other scanners (and other noise)
    prepare_digits_scanners(tmp_path / "other", image_size=16, **{**SPLIT, "split_seed": 1})
    other = load_prepared(tmp_path / "other")
    assert not other.metadata["scanner"].equals(data.metadata["scanner"])


def test_metadata_and_fraction(scanners):
    data, images, clean, labels, is_b = scanners
    assert list(data.metadata.columns) == ["file", "scanner"]
    assert set(data.metadata["scanner"]) == {"A", "B"}
    assert data.metadata["file"].iloc[0] == "digit_0000.png"
    assert 0.27 < is_b.mean() < 0.33  # 30 % B, drawn per image
    assert np.array_equal(np.asarray(data.labels), labels)
    assert data.info["synthetic_metadata"] is True


def test_images_uint8_and_a_unchanged(scanners):
    _, images, clean, _, is_b = scanners
    assert images.dtype == np.uint8 and images.shape == clean.shape == (1797, 1, 16, 16)
    assert images.min() >= 0 and images.max() <= 255
    assert np.array_equal(images[~is_b], clean[~is_b])


def test_b_is_the_noise_free_chain_plus_readout_noise(scanners):
    _, images, clean, _, is_b = scanners
    b = images[is_b].astype(np.float64)
    noise_free = scanner_b_acquisition(clean[is_b], np.random.default_rng(0), noise=0)
    residual = b - noise_free
    assert abs(residual.mean()) < 0.3
    assert residual.std() == pytest.approx(SCANNER_B_NOISE * 255, rel=0.05)  # ~13 grey levels
    # the noise is independent of position: no pixel column is special
    assert residual.std(axis=(0, 1, 2)).min() > 0.9 * SCANNER_B_NOISE * 255


def test_b_background_contrast_and_whole_image_change(scanners):
    _, images, clean, _, is_b = scanners
    b, c = images[is_b].astype(np.float64), clean[is_b].astype(np.float64)
    # far from any stroke (blur kernel radius 3 px, edges replicated), B reads the base level
    padded = np.pad(c, ((0, 0), (0, 0), (3, 3), (3, 3)), mode="edge")
    near = np.zeros_like(c)
    for dy in range(7):
        for dx in range(7):
            near = np.maximum(near, padded[:, :, dy : dy + 16, dx : dx + 16])
    background = b[near == 0]
    assert background.size > 1000
    assert background.mean() == pytest.approx(SCANNER_B_BASE * 255, abs=1.5)  # ~51, not 0
    assert background.std() == pytest.approx(SCANNER_B_NOISE * 255, rel=0.08)
    # compressed range: full strokes read ~230 (+ noise), not 255
    assert np.median(b[c == 255]) < SCANNER_B_WHITE * 255 + 3
    assert (b == 255).mean() < 0.01
    # every column of every row changes on average, not one marker column
    change = np.abs(b - c).mean(axis=(0, 1))
    assert change.min() > 20
    # A keeps a black background
    a_background = images[~is_b][clean[~is_b] == 0]
    assert a_background.max() == 0


def test_acquisition_chain_noise_free():
    rng = np.random.default_rng(0)
    levels = np.arange(0, 256, 15, dtype=np.uint8)
    flat = np.broadcast_to(levels[:, None, None, None], (len(levels), 1, 8, 8)).copy()
    out = scanner_b_acquisition(flat, rng, noise=0)
    tone = (levels / 255) ** SCANNER_B_GAMMA
    expected = np.round(255 * (SCANNER_B_BASE + (SCANNER_B_WHITE - SCANNER_B_BASE) * tone))
    # a blur leaves flat images flat; the tone curve maps each level
    assert np.array_equal(out[:, 0, 3, 3], expected.astype(np.uint8))
    assert (out == out[:, :, :1, :1]).all()
    # a single bright pixel spreads into its neighbours (the point-spread function) ...
    point = np.zeros((1, 1, 16, 16), dtype=np.uint8)
    point[0, 0, 8, 8] = 255
    spread = scanner_b_acquisition(point, rng, noise=0)[0, 0].astype(int)
    base = round(SCANNER_B_BASE * 255)
    assert spread[8, 8] < round(SCANNER_B_WHITE * 255)
    assert spread[7, 8] > base and spread[8, 9] > base and spread[6, 6] > base
    assert spread[0, 0] == base
    # ... symmetrically about it (rows and columns 1..15 are centred on 8)
    inner = spread[1:, 1:]
    assert np.array_equal(inner, inner.T) and np.array_equal(inner, inner[::-1, ::-1])


def test_small_images(tmp_path):
    info = prepare_digits_scanners(tmp_path, image_size=8, **SPLIT)
    data = load_prepared(tmp_path)
    assert info["image_size"] == 8 and data.images.shape == (1797, 1, 8, 8)
    clean, _ = digits_arrays(8)
    is_b = (data.metadata["scanner"] == "B").to_numpy()
    assert np.array_equal(data.images[~is_b], clean[~is_b])
    assert not np.array_equal(data.images[is_b], clean[is_b])
