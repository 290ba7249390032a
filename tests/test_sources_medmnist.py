"""MedMNIST source, loaded offline from small .npz files in medmnist's own layout."""

import json

import numpy as np
import pytest

from unlearning.data.medmnist_sets import prepare_medmnist
from unlearning.data.prepared import PARTITIONS, load_prepared
from unlearning.errors import UserError

SIZES = {"train": 15, "val": 5, "test": 10}


def write_npz(path, size=28, channels=3, num_classes=5, seed=0, drop=None):
    """An archive like medmnist's: <split>_images (N, H, W[, 3]) uint8, <split>_labels (N, 1)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in SIZES.items():
        shape = (n, size, size) if channels == 1 else (n, size, size, channels)
        arrays[f"{split}_images"] = rng.integers(0, 256, shape, dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % num_classes).astype(np.uint8)[:, None]
    if drop:
        del arrays[drop]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return arrays


def test_retinamnist_rgb_official_splits(tmp_path):
    arrays = write_npz(tmp_path / "raw" / "retinamnist.npz")
    folder = tmp_path / "prepared"
    info = prepare_medmnist("retinamnist", folder, tmp_path / "raw", download=False, size=28)
    data = load_prepared(folder)
    n = sum(SIZES.values())
    assert data.images.shape == (n, 3, 28, 28) and data.images.dtype == np.uint8
    assert isinstance(data.images, np.memmap)
    assert info["counts"] == SIZES
    start = 0
    for split, count in SIZES.items():
        rows = slice(start, start + count)
        assert (data.partition[rows] == PARTITIONS[split]).all()
        assert np.array_equal(data.images[rows], arrays[f"{split}_images"].transpose(0, 3, 1, 2))
        assert np.array_equal(data.labels[rows], arrays[f"{split}_labels"].ravel())
        start += count
    assert data.labels.dtype == np.int64 and data.labels.min() == 0 and data.labels.max() == 4
    on_disk = json.loads((folder / "info.json").read_text())
    assert on_disk["source"] == "medmnist:retinamnist"
    assert on_disk["classes"] == ["0", "1", "2", "3", "4"] and on_disk["num_classes"] == 5
    assert on_disk["task"] == "ordinal-regression"
    assert on_disk["raw_file"] == "retinamnist.npz" and on_disk["medmnist_size"] == 28
    assert on_disk["raw_md5_matches_medmnist"] is False and len(on_disk["raw_md5"]) == 32
    assert on_disk["channels"] == 3 and on_disk["image_size"] == 28
    assert not list(folder.glob("*.tmp")) and not list(folder.glob(".*"))


def test_grey_set_at_size_64_and_resized(tmp_path):
    arrays = write_npz(tmp_path / "raw" / "octmnist_64.npz", size=64, channels=1, num_classes=4)
    info = prepare_medmnist("octmnist", tmp_path / "a", tmp_path / "raw", False, size=64)
    data = load_prepared(tmp_path / "a")
    assert data.images.shape == (30, 1, 64, 64)
    assert np.array_equal(data.images[:15, 0], arrays["train_images"])
    assert info["classes"][0] == "choroidal neovascularization" and info["num_classes"] == 4
    assert info["raw_file"] == "octmnist_64.npz"

    info = prepare_medmnist(
        "octmnist", tmp_path / "b", tmp_path / "raw", False, size=64, image_size=32
    )
    resized = load_prepared(tmp_path / "b")
    assert resized.images.shape == (30, 1, 32, 32) and info["image_size"] == 32
    # antialiased bilinear, as PIL resizes (not a 2x2 box mean)
    from PIL import Image

    pil = Image.fromarray(arrays["train_images"][0]).resize((32, 32), Image.Resampling.BILINEAR)
    diff = np.abs(resized.images[0, 0].astype(int) - np.asarray(pil, dtype=int))
    assert diff.max() <= 1


def test_missing_file_without_download_names_the_path(tmp_path):
    with pytest.raises(UserError, match="download is off") as err:
        prepare_medmnist("pathmnist", tmp_path / "out", tmp_path / "raw", False, size=128)
    assert str(tmp_path / "raw" / "pathmnist_128.npz") in str(err.value)
    assert "zenodo" in str(err.value)


def test_download_failure_is_a_user_error(tmp_path, monkeypatch):
    import torchvision.datasets.utils

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(torchvision.datasets.utils, "download_url", offline)
    with pytest.raises(UserError, match="could not be downloaded") as err:
        prepare_medmnist("bloodmnist", tmp_path / "out", tmp_path / "raw", True, 28)
    assert str(tmp_path / "raw" / "bloodmnist.npz") in str(err.value)


@pytest.mark.parametrize(
    ("flag", "size", "match"),
    [
        ("chestmnist", 28, "multi-label"),
        ("organmnist3d", 28, "3D"),
        ("notmnist", 28, "does not exist"),
        ("pathmnist", 32, "size"),
    ],
)
def test_unsupported_choices(tmp_path, flag, size, match):
    with pytest.raises(UserError, match=match):
        prepare_medmnist(flag, tmp_path / "out", tmp_path / "raw", False, size=size)


def test_incomplete_archive_is_a_user_error(tmp_path):
    write_npz(tmp_path / "raw" / "dermamnist.npz", drop="val_images")
    with pytest.raises(UserError, match="not a complete MedMNIST archive"):
        prepare_medmnist("dermamnist", tmp_path / "out", tmp_path / "raw", False, 28)


def test_labels_out_of_range_are_refused(tmp_path):
    write_npz(tmp_path / "raw" / "breastmnist.npz", channels=1, num_classes=5)  # binary set
    with pytest.raises(UserError, match="labels outside 0..1"):
        prepare_medmnist("breastmnist", tmp_path / "out", tmp_path / "raw", False, 28)
    assert not (tmp_path / "out" / "info.json").exists()
    assert not (tmp_path / "out" / "images.npy").exists()
    assert not list((tmp_path / "out").glob("*.tmp"))
