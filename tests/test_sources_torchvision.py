"""torchvision sources, loaded offline from small files written in the real on-disk formats.

MNIST/Fashion-MNIST raw IDX files are only checked for existence by torchvision. CIFAR-10 and
SVHN files are checked against torchvision's MD5 table on every load; the tests point that table
at the MD5 sums of their synthetic files (so the check still runs), and one test shows that an
unregistered file is refused.
"""

import gzip
import json
import pickle
import struct
import tarfile
import urllib.error

import numpy as np
import pytest
from torchvision import datasets
from torchvision.datasets.utils import calculate_md5

from unlearning.data.prepared import PARTITIONS, load_prepared
from unlearning.data.torchvision_sets import (
    prepare_torchvision,
    to_nchw,
    validation_partition,
)
from unlearning.errors import UserError

N_TRAIN, N_TEST = 40, 10  # 4 training images per class, so val_fraction 0.25 takes 1 per class


def _labels(n):
    return np.arange(n) % 10


def write_idx(folder, prefix, images, labels, gz=False):
    """IDX files as yann.lecun.com ships them (magic 2051 images, 2049 labels, big-endian)."""
    folder.mkdir(parents=True, exist_ok=True)
    n, h, w = images.shape
    blobs = {
        f"{prefix}-images-idx3-ubyte": struct.pack(">iiii", 2051, n, h, w) + images.tobytes(),
        f"{prefix}-labels-idx1-ubyte": struct.pack(">ii", 2049, n)
        + labels.astype(np.uint8).tobytes(),
    }
    for name, blob in blobs.items():
        if gz:
            with gzip.open(folder / f"{name}.gz", "wb") as fh:
                fh.write(blob)
        else:
            (folder / name).write_bytes(blob)


def write_mnist(root, cls_name="MNIST", gz=False, seed=0):
    rng = np.random.default_rng(seed)
    train = rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8)
    raw = root / cls_name / "raw"
    write_idx(raw, "train", train, _labels(N_TRAIN), gz)
    write_idx(raw, "t10k", test, _labels(N_TEST), gz)
    return train, test


CIFAR_NAMES = ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_cifar(root, seed=0):
    """CIFAR-10 python batches: dicts with uint8 'data' (n, 3072, CHW order) and 'labels'."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    data = rng.integers(0, 256, (N_TRAIN + N_TEST, 3072), dtype=np.uint8)
    labels = np.concatenate([_labels(N_TRAIN), _labels(N_TEST)])
    names = [f"data_batch_{i}" for i in range(1, 6)]
    per = N_TRAIN // 5
    for i, name in enumerate(names):
        rows = slice(i * per, (i + 1) * per)
        batch = {"batch_label": name, "data": data[rows], "labels": labels[rows].tolist()}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    test = {"batch_label": "test", "data": data[N_TRAIN:], "labels": labels[N_TRAIN:].tolist()}
    (folder / "test_batch").write_bytes(pickle.dumps(test, protocol=2))
    meta = {"label_names": CIFAR_NAMES, "num_cases_per_batch": per, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return data


def register_cifar_md5(monkeypatch, root):
    """Point torchvision's CIFAR-10 MD5 table at the synthetic files (the check still runs)."""
    folder = root / "cifar-10-batches-py"
    md5 = {p.name: calculate_md5(p) for p in folder.iterdir()}
    cls = datasets.CIFAR10
    monkeypatch.setattr(cls, "train_list", [[n, md5[n]] for n, _ in cls.train_list])
    monkeypatch.setattr(cls, "test_list", [[n, md5[n]] for n, _ in cls.test_list])
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": md5["batches.meta"]})


def write_svhn(root, seed=0):
    """SVHN .mat files: X (32, 32, 3, N) uint8, y (N, 1) with 10 for the digit 0."""
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n in (("train", N_TRAIN), ("test", N_TEST)):
        x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        digits = _labels(n)
        y = np.where(digits == 0, 10, digits).astype(np.uint8)[:, None]
        savemat(root / f"{split}_32x32.mat", {"X": x, "y": y})
        out[split] = (x, digits)
    return out


def register_svhn_md5(monkeypatch, root):
    table = {
        split: [url, name, calculate_md5(root / name) if (root / name).exists() else md5]
        for split, (url, name, md5) in datasets.SVHN.split_list.items()
    }
    monkeypatch.setattr(datasets.SVHN, "split_list", table)


def _check_common(folder, info, source, channels, size, classes):
    data = load_prepared(folder)
    n = N_TRAIN + N_TEST
    assert data.images.shape == (n, channels, size, size)
    assert data.images.dtype == np.uint8
    assert data.labels.dtype == np.int64
    assert data.labels.min() == 0 and data.labels.max() == 9
    assert info["counts"] == {"train": N_TRAIN - 10, "val": 10, "test": N_TEST}
    # the official test split is the tail, in file order; validation is 1 per class
    assert (data.partition[N_TRAIN:] == PARTITIONS["test"]).all()
    val_labels = data.labels[data.partition == PARTITIONS["val"]]
    assert sorted(val_labels.tolist()) == list(range(10))
    on_disk = json.loads((folder / "info.json").read_text())
    assert on_disk["source"] == source
    assert on_disk["classes"] == classes and on_disk["num_classes"] == 10
    assert on_disk["channels"] == channels and on_disk["image_size"] == size
    assert on_disk["split_seed"] == 3 and on_disk["raw_root"]
    assert not list(folder.glob("*.tmp"))
    return data


def test_mnist_from_raw_idx_files(tmp_path):
    train, test = write_mnist(tmp_path / "raw")
    folder = tmp_path / "prepared"
    info = prepare_torchvision("mnist", folder, tmp_path / "raw", False, 0.25, 3)
    data = _check_common(folder, info, "torchvision:mnist", 1, 28, datasets.MNIST.classes)
    assert np.array_equal(data.images[:N_TRAIN, 0], train)
    assert np.array_equal(data.images[N_TRAIN:, 0], test)
    assert np.array_equal(data.labels, np.concatenate([_labels(N_TRAIN), _labels(N_TEST)]))
    assert info["raw_root"] == str(tmp_path / "raw")


def test_fashionmnist_from_gz_files_placed_by_hand(tmp_path):
    train, _ = write_mnist(tmp_path / "raw", "FashionMNIST", gz=True, seed=1)
    folder = tmp_path / "prepared"
    info = prepare_torchvision("fashionmnist", folder, tmp_path / "raw", False, 0.25, 3)
    data = _check_common(
        folder, info, "torchvision:fashionmnist", 1, 28, datasets.FashionMNIST.classes
    )
    assert np.array_equal(data.images[:N_TRAIN, 0], train)
    assert (tmp_path / "raw" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").exists()


def test_resize_on_prepare(tmp_path):
    write_mnist(tmp_path / "raw")
    raw = tmp_path / "raw" / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    blob = bytearray(raw.read_bytes())
    blob[16 : 16 + 784] = bytes([77]) * 784  # first test image: constant grey
    raw.write_bytes(bytes(blob))
    folder = tmp_path / "prepared"
    info = prepare_torchvision("mnist", folder, tmp_path / "raw", False, 0.25, 3, image_size=32)
    data = _check_common(folder, info, "torchvision:mnist", 1, 32, datasets.MNIST.classes)
    assert (data.images[N_TRAIN] == 77).all()
    assert 0 < data.images[:N_TRAIN].std()


def test_cifar10_from_python_batches(tmp_path, monkeypatch):
    data_rows = write_cifar(tmp_path / "raw")
    register_cifar_md5(monkeypatch, tmp_path / "raw")
    folder = tmp_path / "prepared"
    info = prepare_torchvision("cifar10", folder, tmp_path / "raw", False, 0.25, 3)
    data = _check_common(folder, info, "torchvision:cifar10", 3, 32, CIFAR_NAMES)
    assert np.array_equal(data.images, data_rows.reshape(-1, 3, 32, 32))
    assert len(info["mean"]) == 3


def test_cifar10_from_archive_placed_by_hand(tmp_path, monkeypatch):
    write_cifar(tmp_path / "build")
    register_cifar_md5(monkeypatch, tmp_path / "build")
    (tmp_path / "raw").mkdir()
    with tarfile.open(tmp_path / "raw" / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "build" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    info = prepare_torchvision("cifar10", tmp_path / "out", tmp_path / "raw", False, 0.25, 3)
    assert info["counts"]["test"] == N_TEST


def test_cifar10_file_failing_md5_is_refused(tmp_path):
    write_cifar(tmp_path / "raw")  # torchvision's real MD5 table: synthetic batches fail it
    with pytest.raises(UserError, match="fail torchvision's check") as err:
        prepare_torchvision("cifar10", tmp_path / "out", tmp_path / "raw", False, 0.1, 0)
    assert "cifar-10-batches-py" in str(err.value)


def test_svhn_from_mat_files(tmp_path, monkeypatch):
    written = write_svhn(tmp_path / "raw")
    register_svhn_md5(monkeypatch, tmp_path / "raw")
    folder = tmp_path / "prepared"
    info = prepare_torchvision("svhn", folder, tmp_path / "raw", False, 0.25, 3)
    data = _check_common(folder, info, "torchvision:svhn", 3, 32, [str(d) for d in range(10)])
    x_train, digits = written["train"]
    assert np.array_equal(data.images[:N_TRAIN], x_train.transpose(3, 2, 0, 1))
    assert np.array_equal(data.labels[:N_TRAIN], digits)  # 10 became 0


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("mnist", "MNIST/raw/"),
        ("fashionmnist", "FashionMNIST/raw/"),
        ("cifar10", "cifar-10-batches-py/"),
        ("svhn", "train_32x32.mat"),
    ],
)
def test_missing_files_without_download_name_the_folder(tmp_path, name, where):
    raw = tmp_path / "raw"
    with pytest.raises(UserError, match="download is off") as err:
        prepare_torchvision(name, tmp_path / "out", raw, False, 0.1, 0, dataset="mine")
    message = str(err.value)
    assert "'mine'" in message and str(raw) in message and where in message
    assert not (tmp_path / "out").exists()


def test_download_failure_is_a_user_error(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(datasets.mnist, "download_and_extract_archive", offline)
    with pytest.raises(UserError, match="could not be downloaded") as err:
        prepare_torchvision("mnist", tmp_path / "out", tmp_path / "raw", True, 0.1, 0)
    assert str(tmp_path / "raw") in str(err.value)


def test_present_files_need_no_download(tmp_path, monkeypatch):
    write_mnist(tmp_path / "raw")

    def forbidden(*args, **kwargs):
        raise AssertionError("network used although the files are present")

    monkeypatch.setattr(datasets.mnist, "download_and_extract_archive", forbidden)
    info = prepare_torchvision("mnist", tmp_path / "out", tmp_path / "raw", True, 0.25, 3)
    assert info["counts"]["test"] == N_TEST


def test_unknown_name_and_bad_arguments(tmp_path):
    with pytest.raises(UserError, match="cifar100"):
        prepare_torchvision("cifar100", tmp_path / "out", tmp_path / "raw", False, 0.1, 0)
    write_mnist(tmp_path / "raw")
    with pytest.raises(UserError, match="val_fraction"):
        prepare_torchvision("mnist", tmp_path / "out", tmp_path / "raw", False, 1.0, 0)
    with pytest.raises(UserError, match="image_size"):
        prepare_torchvision("mnist", tmp_path / "out", tmp_path / "raw", False, 0.1, 0, 4)


def test_validation_partition_is_seeded_and_stratified():
    labels = np.repeat(np.arange(5), 20)
    a = validation_partition(labels, 0.1, 7)
    assert np.array_equal(a, validation_partition(labels, 0.1, 7))
    assert not np.array_equal(a, validation_partition(labels, 0.1, 8))
    for cls in range(5):
        assert (a[labels == cls] == PARTITIONS["val"]).sum() == 2
    assert (validation_partition(labels, 0.0, 7) == PARTITIONS["train"]).all()


def test_to_nchw_layouts():
    x = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    assert to_nchw(x, "NHWC").shape == (2, 3, 4, 4)
    assert to_nchw(x, "NHWC")[1, 2, 3, 0] == x[1, 3, 0, 2]
    assert to_nchw(x[..., 0], "NHW").shape == (2, 1, 4, 4)
