import json

import numpy as np
import pytest
import torch

from unlearning.data.conditions import make_split
from unlearning.data.digits import prepare_digits
from unlearning.data.imageset import ImageSet, augment_batch
from unlearning.data.prepared import (
    PARTITIONS,
    load_prepared,
    stratified_partition,
    write_prepared,
)
from unlearning.errors import UserError


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    prepare_digits(folder, image_size=16, val_fraction=0.1, test_fraction=0.2, split_seed=0)
    return load_prepared(folder)


def test_digits_prepared_format(digits):
    assert digits.images.shape == (1797, 1, 16, 16)
    assert digits.images.dtype == np.uint8
    assert isinstance(digits.images, np.memmap)
    info = json.loads((digits.folder / "info.json").read_text())
    assert info["num_classes"] == 10 and info["channels"] == 1 and info["image_size"] == 16
    assert sum(info["counts"].values()) == 1797
    assert set(info["sha256"]) == {"images.npy", "labels.npy", "partition.npy"}
    assert 0 < info["mean"][0] < 1 and 0 < info["std"][0] < 1
    assert not list(digits.folder.glob("*.tmp"))


def test_stratified_partition_is_seeded_and_stratified():
    labels = np.repeat(np.arange(4), 50)
    a = stratified_partition(labels, 0.1, 0.2, seed=3)
    b = stratified_partition(labels, 0.1, 0.2, seed=3)
    c = stratified_partition(labels, 0.1, 0.2, seed=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    for cls in range(4):
        part = a[labels == cls]
        assert (part == PARTITIONS["test"]).sum() == 10
        assert (part == PARTITIONS["val"]).sum() == 5


def test_bad_split_fractions_are_user_errors():
    with pytest.raises(UserError, match="fractions"):
        stratified_partition(np.zeros(10, dtype=int), 0.5, 0.6, seed=0)


def test_class_condition_split(digits):
    split = make_split("class_3", {"kind": "class", "class": 3}, digits, seed=0)
    train_labels = digits.part_labels("train")
    assert (train_labels[split["train_forget"]] == 3).all()
    assert (train_labels[split["train_remain"]] != 3).all()
    assert len(split["train_forget"]) + len(split["train_remain"]) == len(train_labels)
    test_labels = digits.part_labels("test")
    assert (test_labels[split["test_forget"]] == 3).all()
    assert (test_labels[split["test_remain"]] != 3).all()
    assert split["headline"] == {"forget": "test_forget", "remain": "test_remain"}


def test_class_fraction_split_is_seeded(digits):
    condition = {"kind": "class_fraction", "class": 0, "fraction": 0.1}
    a = make_split("frac", condition, digits, seed=0)
    b = make_split("frac", condition, digits, seed=0)
    c = make_split("frac", condition, digits, seed=1)
    n_class = int((digits.part_labels("train") == 0).sum())
    assert len(a["train_forget"]) == round(0.1 * n_class)
    assert a["train_forget"] == b["train_forget"] and a["train_forget"] != c["train_forget"]
    # the rest of the class stays in the remain set
    remain_labels = digits.part_labels("train")[a["train_remain"]]
    assert (remain_labels == 0).sum() == n_class - len(a["train_forget"])
    assert a["headline"]["forget"] == "train_forget"


def test_max_forget_caps_the_forget_set(digits):
    split = make_split("c", {"kind": "class", "class": 1, "max_forget": 7}, digits, seed=0)
    assert len(split["train_forget"]) == 7


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"kind": "class", "class": 12}, "does not have"),
        ({"kind": "class", "class": "seven"}, "does not have"),
        ({"kind": "class_fraction", "class": 1, "fraction": 1.5}, "fraction"),
        ({"kind": "device", "class": 1}, "unknown kind"),
    ],
)
def test_bad_conditions_name_the_condition(digits, condition, message):
    with pytest.raises(UserError, match=message) as info:
        make_split("my_condition", condition, digits, seed=0)
    assert "my_condition" in str(info.value)


def test_empty_forget_set_is_a_user_error(tmp_path):
    images = np.zeros((20, 1, 8, 8), dtype=np.uint8)
    labels = np.array([0] * 10 + [1] * 10)
    partition = np.array([0] * 10 + [2] * 10, dtype=np.uint8)  # class "b" only in test
    write_prepared(tmp_path, images, labels, partition, ["a", "b"], source="test")
    data = load_prepared(tmp_path)
    with pytest.raises(UserError, match="empty forget set"):
        make_split("forget_b", {"kind": "class", "class": "b"}, data, seed=0)


def test_missing_prepared_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="prepare_data"):
        load_prepared(tmp_path)


def test_imageset_batches_cover_every_sample_once():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 2, 2).clone()
    data = ImageSet(images, torch.arange(10))
    gen = torch.Generator().manual_seed(0)
    seen = torch.cat([y for _, y in data.batches(3, shuffle=True, generator=gen)])
    assert sorted(seen.tolist()) == list(range(10))
    x, _ = next(data.batches(10))
    assert x.dtype == torch.float32 and float(x.max()) == pytest.approx(9 / 255)


def test_augment_keeps_shape_and_pixel_range():
    x = torch.rand(5, 3, 12, 12)
    out = augment_batch(x, "crop_flip", torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert 0 <= float(out.min()) and float(out.max()) <= 1


def test_partitions_are_index_views_over_the_memory_map(digits):
    train = digits.part("train")
    assert train.source.data_ptr() == digits.image_tensor.data_ptr()  # no copy of the images
    sub = train.subset([3, 1])
    assert torch.equal(sub.images, torch.from_numpy(digits.images[digits.indices("train")[[3, 1]]]))
    both = ImageSet.concat([sub, train.subset([0])])
    assert both.source is train.source and len(both) == 3
    assert torch.equal(both.labels, torch.cat([sub.labels, train.labels[:1]]))
    x, y = next(both.batches(3))
    assert torch.equal(x, both.images.float() / 255) and torch.equal(y, both.labels)
