"""The image-folder source: labels, metadata alignment, split, resize policies, errors."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from unlearning.data.imagefolder import prepare_imagefolder
from unlearning.data.prepared import PARTITIONS, load_prepared
from unlearning.errors import UserError

CLASSES = ("cat", "dog", "eel")
SIZES = [(20, 20), (40, 20), (20, 40), (33, 17), (12, 30), (25, 25)]  # (width, height)


def _grey(k: int) -> int:
    return 10 + 12 * k  # a distinct grey level per image, 10 .. 214


def _save(path, value, size, mode):
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = value if mode == "L" else (value, value, value)
    Image.new(mode, size, colour).save(path)


@pytest.fixture
def tree(tmp_path):
    """root/<class>/<class>_<j>.png: 3 classes x 6 images of differing sizes, RGB and grey."""
    root = tmp_path / "images"
    rows = []
    for c, cls in enumerate(CLASSES):
        for j, size in enumerate(SIZES):
            k = 6 * c + j
            name = f"{cls}_{j}.png"
            _save(root / cls / name, _grey(k), size, "RGB" if j % 2 else "L")
            rows.append(
                {
                    "file": name,
                    "device": "Cirrus 800 FA" if j < 2 else "Topcon",
                    "vpf_left": str(8 + j),
                    "vpf_right": str(9 + j),
                    "code": str(_grey(k)),
                    "split": ["train", "train", "Train ", "val", "test", "train"][j],
                }
            )
    (root / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    meta = pd.DataFrame(rows).sample(frac=1.0, random_state=0)  # rows out of image order
    extra = {"file": "ghost.png", "device": "X", "vpf_left": "1", "vpf_right": "1", "code": "0"}
    meta = pd.concat([meta, pd.DataFrame([{**extra, "split": "test"}])])
    metadata_csv = tmp_path / "meta.csv"
    meta.to_csv(metadata_csv, index=False)
    return root, metadata_csv


def _prepare(out, root, **kwargs):
    args = {
        "image_size": 16,
        "channels": 3,
        "resize": "resize",
        "val_fraction": 1 / 6,
        "test_fraction": 2 / 6,
        "split_seed": 0,
        "key_column": "file",
    }
    args.update(kwargs)
    return prepare_imagefolder(out, root=root, **args)


def test_subfolders_with_metadata(tree, tmp_path):
    root, metadata_csv = tree
    out = tmp_path / "prepared"
    info = _prepare(out, root, metadata_csv=metadata_csv)
    data = load_prepared(out)
    assert isinstance(data.images, np.memmap)
    assert data.images.shape == (18, 3, 16, 16) and data.images.dtype == np.uint8
    assert info["classes"] == list(CLASSES) and info["source"] == "imagefolder"
    assert set(info["sha256"]) == {"images.npy", "labels.npy", "partition.npy", "metadata.csv"}
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*"))
    meta = data.metadata
    assert list(meta.columns) == ["file", "device", "vpf_left", "vpf_right", "code", "split"]
    assert len(meta) == 18  # the row for a file that does not exist is ignored
    for i in range(18):
        # row i describes image i: its key is the relative path, its code the image's grey level
        cls = meta["file"][i].split("/")[0]
        assert meta["file"][i] == f"{cls}/{cls}_{meta['file'][i][-5]}.png"
        assert data.labels[i] == CLASSES.index(cls)
        assert np.all(data.images[i] == int(meta["code"][i]))
    # stratified: per class of 6, two test and one validation image
    for c in range(3):
        part = data.partition[data.labels == c]
        assert (part == PARTITIONS["test"]).sum() == 2 and (part == PARTITIONS["val"]).sum() == 1
    assert info["counts"] == {"train": 9, "val": 3, "test": 6}
    # normalisation statistics come from the training partition only
    train = data.images[data.partition == PARTITIONS["train"]] / 255.0
    assert info["mean"] == pytest.approx(train.mean(axis=(0, 2, 3)).tolist())
    assert info["std"] == pytest.approx(train.std(axis=(0, 2, 3)).tolist(), rel=1e-4)


def test_greyscale_channels_and_no_metadata(tree, tmp_path):
    root, _ = tree
    out = tmp_path / "grey"
    info = _prepare(out, root, channels=1, key_column="path")
    data = load_prepared(out)
    assert data.images.shape == (18, 1, 16, 16) and info["channels"] == 1
    # without a metadata CSV the file of each row is still recorded
    assert list(data.metadata.columns) == ["path"]
    assert data.metadata["path"][0] == "cat/cat_0.png"
    assert np.all(data.images[0] == _grey(0))


def test_pad_keeps_aspect_and_pads_with_zeros(tree, tmp_path):
    root, _ = tree
    out = tmp_path / "pad"
    _prepare(out, root, resize="pad")
    data = load_prepared(out)
    wide = data.images[1]  # cat_1.png: 40 x 20 (wider than tall) -> 16 x 8, padded 4 + 4
    assert np.all(wide[:, :4] == 0) and np.all(wide[:, 12:] == 0)
    assert np.all(wide[:, 4:12] == _grey(1))
    odd = data.images[3]  # cat_3.png: 33 x 17 -> 16 x 8 (round(8.24)), padded 4 + 4
    assert np.all(odd[:, :4] == 0) and np.all(odd[:, 4:12] == _grey(3))
    # taller than wide: fills the square (centre-cropped), no zero rows
    assert np.all(data.images[2] == _grey(2))


def test_pad_centre_crops_tall_images(tmp_path):
    root = tmp_path / "r"
    img = np.zeros((40, 10, 3), dtype=np.uint8)  # height 40, width 10 -> 16 wide, 64 tall
    img[:20] = 50
    img[20:] = 150
    (root / "a").mkdir(parents=True)
    Image.fromarray(img).save(root / "a" / "tall.png")
    _save(root / "b" / "other.png", 1, (8, 8), "L")
    prepare_imagefolder(
        tmp_path / "out",
        root=root,
        image_size=16,
        channels=3,
        resize="pad",
        val_fraction=0.0,
        test_fraction=0.4,
        split_seed=0,
        key_column="file",
    )
    tall = load_prepared(tmp_path / "out").images[0]
    # the central 16 of 64 rows: the upper half from the top colour, the lower from the bottom
    assert np.all(tall[:, :7] == 50) and np.all(tall[:, 9:] == 150)


def test_resize_policy_fills_the_square(tree, tmp_path):
    root, _ = tree
    _prepare(tmp_path / "plain", root, resize="resize", image_size=12)
    images = load_prepared(tmp_path / "plain").images
    assert images.shape[2:] == (12, 12)
    assert np.all(images[1] == _grey(1))  # the wide image, stretched: no padding


def test_labels_csv_with_integer_labels(tmp_path):
    root = tmp_path / "flat"
    labels = ["10", "2", "1"] * 4
    for i in range(12):
        _save(root / "sub" / f"img{i}.png", 20 * i, (10, 14), "L")
    table = pd.DataFrame({"path": [f"./sub/img{i}.png" for i in range(12)], "label": labels})
    table.to_csv(tmp_path / "labels.csv", index=False)
    info = prepare_imagefolder(
        tmp_path / "out",
        root=root,
        labels_csv=tmp_path / "labels.csv",
        image_size=8,
        channels=1,
        val_fraction=0.0,
        test_fraction=0.25,
        split_seed=1,
        resize="resize",
        key_column="file",
    )
    data = load_prepared(tmp_path / "out")
    assert info["classes"] == ["1", "2", "10"]  # sorted by value, not as text
    assert data.labels.tolist() == [info["classes"].index(v) for v in labels]
    assert np.all(data.images[5] == 100)  # CSV row order is kept
    assert data.metadata["file"][5] == "sub/img5.png"


def test_split_column(tree, tmp_path):
    root, metadata_csv = tree
    info = _prepare(tmp_path / "out", root, metadata_csv=metadata_csv, split_column="split")
    data = load_prepared(tmp_path / "out")
    expected = data.metadata["split"].str.strip().str.lower().map(PARTITIONS).to_numpy()
    assert np.array_equal(data.partition, expected)
    assert info["counts"] == {"train": 12, "val": 3, "test": 3}
    assert info["split_column"] == "split" and "split_seed" not in info


def test_metadata_keyed_by_relative_path(tree, tmp_path):
    root, metadata_csv = tree
    meta = pd.read_csv(metadata_csv, dtype=str)
    meta["image"] = [f"{f.split('_')[0]}\\{f}" for f in meta["file"]]  # Windows separators
    meta = meta.drop(columns="file")
    meta.to_csv(tmp_path / "by_path.csv", index=False)
    _prepare(tmp_path / "out", root, metadata_csv=tmp_path / "by_path.csv", key_column="image")
    data = load_prepared(tmp_path / "out")
    assert data.metadata["image"][7] == "dog/dog_1.png"
    assert np.all(data.images[7] == int(data.metadata["code"][7]))


def test_sixteen_bit_and_exif_orientation(tmp_path):
    root = tmp_path / "r"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir(parents=True)
    Image.fromarray(np.full((8, 8), 257 * 100, dtype=np.uint16)).save(root / "a" / "deep.png")
    sideways = np.zeros((8, 16, 3), dtype=np.uint8)  # stored 16 wide, 8 tall
    sideways[:, :8] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    Image.fromarray(sideways).save(root / "b" / "photo.png", exif=exif)
    prepare_imagefolder(
        tmp_path / "out",
        root=root,
        image_size=16,
        channels=1,
        resize="pad",
        val_fraction=0.0,
        test_fraction=0.4,
        split_seed=0,
        key_column="file",
    )
    images = load_prepared(tmp_path / "out").images
    assert np.all(images[0] == 100)  # 16-bit grey scaled to 8 bits, not clipped
    # upright it is 8 wide and 16 tall: left half white becomes the top half after rotation,
    # so the top rows are white and the bottom rows black (no zero padding: it is taller)
    assert images[1, 0, 0].mean() > 200 and images[1, 0, 15].mean() < 50


def test_rerun_replaces_outputs_and_failures_leave_no_finished_folder(tree, tmp_path):
    root, metadata_csv = tree
    out = tmp_path / "out"
    _prepare(out, root, metadata_csv=metadata_csv)
    (root / "dog" / "dog_3.png").write_bytes(b"not a png at all")
    with pytest.raises(UserError, match="dog_3.png") as err:
        _prepare(out, root, metadata_csv=metadata_csv)
    assert "cannot be read" in str(err.value)
    assert not (out / "info.json").exists()  # the stale marker is gone: the folder is unfinished
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*"))
    with pytest.raises(UserError, match="prepare_data"):
        load_prepared(out)


def test_rerun_without_metadata_drops_stale_metadata(tree, tmp_path):
    root, metadata_csv = tree
    out = tmp_path / "out"
    _prepare(out, root, metadata_csv=metadata_csv)
    _prepare(out, root)
    assert list(load_prepared(out).metadata.columns) == ["file"]
    info = json.loads((out / "info.json").read_text())
    assert "metadata.csv" in info["sha256"]


def _write_meta(tmp_path, rows):
    path = tmp_path / "m.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_errors(tree, tmp_path):
    root, metadata_csv = tree
    out = tmp_path / "out"
    with pytest.raises(UserError, match="does not exist"):
        _prepare(out, tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="No images found"):
        _prepare(out, tmp_path / "empty")
    (tmp_path / "empty" / "cls").mkdir()
    with pytest.raises(UserError, match="holds no images"):
        _prepare(out, tmp_path / "empty")
    with pytest.raises(UserError, match="resize policy 'stretch'"):
        _prepare(out, root, resize="stretch")
    with pytest.raises(UserError, match="channels"):
        _prepare(out, root, channels=2)

    labels = pd.DataFrame({"path": ["cat/cat_0.png", "cat/missing.png"], "label": ["a", "b"]})
    labels.to_csv(tmp_path / "labels.csv", index=False)
    with pytest.raises(UserError, match="'cat/missing.png'.*not a file"):
        _prepare(out, root, labels_csv=tmp_path / "labels.csv")
    labels.rename(columns={"label": "y"}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(UserError, match="'label' column"):
        _prepare(out, root, labels_csv=tmp_path / "bad.csv")

    meta = pd.read_csv(metadata_csv, dtype=str)
    short = _write_meta(tmp_path, meta[meta["file"] != "eel_4.png"])
    with pytest.raises(UserError, match="no row for image 'eel/eel_4.png'"):
        _prepare(out, root, metadata_csv=short)
    with pytest.raises(UserError, match="key column 'name'"):
        _prepare(out, root, metadata_csv=metadata_csv, key_column="name")
    odd = meta.copy()
    odd.loc[odd["file"] == "dog_2.png", "split"] = "holdout"
    with pytest.raises(UserError, match="column 'split'.*'holdout'") as err:
        _prepare(out, root, metadata_csv=_write_meta(tmp_path, odd), split_column="split")
    assert "dog/dog_2.png" in str(err.value)
    with pytest.raises(UserError, match="split column 'fold'"):
        _prepare(out, root, metadata_csv=metadata_csv, split_column="fold")
    with pytest.raises(UserError, match="needs a metadata CSV"):
        _prepare(out, root, split_column="split")
    with pytest.raises(UserError, match="metadata CSV .* does not exist"):
        _prepare(out, root, metadata_csv=tmp_path / "nope.csv")
    assert not out.exists() or not list(out.iterdir())  # nothing was written for bad inputs


def test_ambiguous_basename_is_an_error(tmp_path):
    root = tmp_path / "r"
    _save(root / "a" / "x.png", 1, (8, 8), "L")
    _save(root / "b" / "x.png", 2, (8, 8), "L")
    meta = _write_meta(tmp_path, [{"file": "x.png", "d": "1"}])
    with pytest.raises(UserError, match="several images share"):
        _prepare(tmp_path / "out", root, metadata_csv=meta)


def test_large_jpeg_is_decoded_at_reduced_scale_and_padded(tmp_path):
    root = tmp_path / "r"
    (root / "a").mkdir(parents=True)
    Image.new("RGB", (800, 400), (120, 120, 120)).save(root / "a" / "photo.jpg", quality=95)
    _save(root / "b" / "small.png", 1, (8, 8), "L")
    prepare_imagefolder(
        tmp_path / "out",
        root=root,
        image_size=16,
        channels=3,
        resize="pad",
        val_fraction=0.0,
        test_fraction=0.4,
        split_seed=0,
        key_column="file",
    )
    photo = load_prepared(tmp_path / "out").images[0].astype(int)
    assert np.all(photo[:, :4] == 0) and np.all(photo[:, 12:] == 0)
    assert np.abs(photo[:, 4:12] - 120).max() <= 2  # JPEG is lossy, but barely on flat grey


def test_channel_stats_chunking_does_not_change_the_result():
    from unlearning.data.prepared import channel_stats

    images = np.random.default_rng(0).integers(0, 256, (50, 3, 6, 6), dtype=np.uint8)
    idx = np.array([3, 7, 8, 20, 49])
    mean, std = channel_stats(images, chunk=1, indices=idx)
    want_mean, want_std = channel_stats(images[idx])
    assert mean == pytest.approx(want_mean) and std == pytest.approx(want_std)
    mean, std = channel_stats(images, chunk=7)
    want_mean, want_std = channel_stats(images)
    assert mean == pytest.approx(want_mean) and std == pytest.approx(want_std)
