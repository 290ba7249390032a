"""Metadata forget conditions: metadata_equals and metadata_threshold."""

import numpy as np
import pandas as pd
import pytest

from unlearning.data.conditions import make_split
from unlearning.data.prepared import PARTITIONS, load_prepared, write_prepared
from unlearning.errors import UserError

N = 60
DEVICES = np.array(["Cirrus 800 FA", "Topcon", "800"])


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    a = np.round(rng.uniform(8, 14, N), 1)
    b = np.round(rng.uniform(8, 14, N), 1)
    a_text = a.astype(str).astype(object)
    a_text[[3, 17]] = ["", "NA"]  # missing values: such rows never pass a threshold
    return pd.DataFrame(
        {
            "file": [f"img{i:03d}.png" for i in range(N)],
            "device": DEVICES[np.arange(N) % 3],
            "mrn": [f"{i % 7:03d}" for i in range(N)],  # leading zeros must survive
            "vpf_left": a_text,
            "vpf_right": b,
            "grade": (np.arange(N) % 4).astype(float),  # written as 0.0, 1.0, ...
            "note": ["ok"] * N,
            "only_test": ["x" if i == 1 else "y" for i in range(N)],
        }
    )


def _partition() -> np.ndarray:
    part = np.zeros(N, dtype=np.uint8)
    part[1::5] = PARTITIONS["test"]
    part[2::10] = PARTITIONS["val"]
    return part


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("meta")
    images = np.zeros((N, 1, 4, 4), dtype=np.uint8)
    labels = np.arange(N) % 2
    write_prepared(
        folder, images, labels, _partition(), ["a", "b"], source="test", metadata=_table()
    )
    return load_prepared(folder)


@pytest.fixture(scope="module")
def no_metadata(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plain")
    images = np.zeros((N, 1, 4, 4), dtype=np.uint8)
    write_prepared(folder, images, np.arange(N) % 2, _partition(), ["a", "b"], source="test")
    return load_prepared(folder)


def _rows(data, part, local):
    """Global row numbers of partition-local indices."""
    return data.indices(part)[np.asarray(local, dtype=np.int64)]


def _check_partitions(data, split, expected: np.ndarray):
    """Every subset matches the expected global mask, partition by partition."""
    for part in ("train", "val", "test"):
        forget = _rows(data, part, split[f"{part}_forget"])
        remain = _rows(data, part, split[f"{part}_remain"])
        assert np.array_equal(
            np.sort(forget), np.flatnonzero(expected & (data.partition == PARTITIONS[part]))
        )
        assert len(forget) + len(remain) == len(data.indices(part))
        assert not set(forget) & set(remain)


def test_metadata_loads_as_text_aligned_with_images(data, no_metadata):
    assert data.metadata is not None and len(data.metadata) == N
    assert data.metadata["mrn"][8] == "001" and data.metadata["vpf_left"][3] == ""
    assert no_metadata.metadata is None
    assert "metadata.csv" in data.info["sha256"]


def test_metadata_equals(data):
    condition = {"kind": "metadata_equals", "column": "device", "value": "Cirrus 800 FA"}
    split = make_split("cirrus", condition, data, seed=0)
    expected = (np.arange(N) % 3) == 0
    _check_partitions(data, split, expected)
    assert split["headline"] == {"forget": "test_forget", "remain": "test_remain"}
    assert split["definition"] == condition and split["condition"] == "cirrus"
    assert split["counts"]["test_forget"] == int((expected & (data.partition == 2)).sum()) > 0


def test_metadata_equals_compares_numbers_as_text_and_value(data):
    # YAML hands over 800 as an int: it matches the text "800", not "Cirrus 800 FA"
    split = make_split(
        "d800", {"kind": "metadata_equals", "column": "device", "value": 800}, data, 0
    )
    _check_partitions(data, split, (np.arange(N) % 3) == 2)
    # leading zeros: the text "001" matches, and so does the number 1 (numeric equality)
    by_text = make_split("m", {"kind": "metadata_equals", "column": "mrn", "value": "001"}, data, 0)
    by_number = make_split("m", {"kind": "metadata_equals", "column": "mrn", "value": 1}, data, 0)
    _check_partitions(data, by_text, (np.arange(N) % 7) == 1)
    assert by_text["train_forget"] == by_number["train_forget"]
    # the CSV holds "2.0"; YAML's 2 (int) and 2.0 (float) both match it
    for value in (2, 2.0, "2.0"):
        split = make_split(
            "g", {"kind": "metadata_equals", "column": "grade", "value": value}, data, 0
        )
        _check_partitions(data, split, (np.arange(N) % 4) == 2)


@pytest.mark.parametrize(
    ("columns", "op", "threshold"),
    [
        ({"column": "vpf_right"}, ">", 11.0),
        ({"column": "vpf_right"}, "<", 10.5),
        ({"columns": ["vpf_left", "vpf_right"]}, ">", 11.0),
        ({"columns": ["vpf_left", "vpf_right"]}, "<", 11),
        ({"columns": ["vpf_left"]}, ">=", 12.0),
    ],
)
def test_metadata_threshold(data, columns, op, threshold):
    table = _table()
    values = table[columns.get("columns", [columns.get("column")])].apply(
        pd.to_numeric, errors="coerce"
    )
    mean = values.mean(axis=1, skipna=False).to_numpy()
    with np.errstate(invalid="ignore"):
        expected = {">": mean > threshold, "<": mean < threshold, ">=": mean >= threshold}[op]
    assert 0 < expected.sum() < N
    condition = {"kind": "metadata_threshold", **columns, "op": op, "threshold": threshold}
    split = make_split("vpf", condition, data, seed=0)
    _check_partitions(data, split, expected)
    assert split["headline"]["forget"] == "test_forget"
    if "vpf_left" in columns.get("columns", []):
        # rows with a missing value stay in the remain set
        assert not {3, 17} & set(_rows(data, "train", split["train_forget"]).tolist())


def test_threshold_mean_differs_from_single_column(data):
    base = {"kind": "metadata_threshold", "op": ">", "threshold": 11.0}
    mean = make_split("m", {**base, "columns": ["vpf_left", "vpf_right"]}, data, 0)
    left = make_split("l", {**base, "column": "vpf_left"}, data, 0)
    right = make_split("r", {**base, "column": "vpf_right"}, data, 0)
    assert mean["train_forget"] != left["train_forget"]
    assert mean["train_forget"] != right["train_forget"]


def test_max_forget_is_seeded(data):
    condition = {"kind": "metadata_equals", "column": "device", "value": "Topcon", "max_forget": 5}
    a = make_split("t", condition, data, seed=0)
    b = make_split("t", condition, data, seed=0)
    c = make_split("t", condition, data, seed=1)
    full = make_split("t", {**condition, "max_forget": None}, data, seed=0)
    assert len(a["train_forget"]) == 5 and a["train_forget"] == b["train_forget"]
    assert a["train_forget"] != c["train_forget"]
    assert set(a["train_forget"]) < set(full["train_forget"])
    assert a["train_forget"] == sorted(a["train_forget"])
    # capped-out samples go back to the remain set; the test subsets are not capped
    assert len(a["train_remain"]) == len(full["train_remain"]) + len(full["train_forget"]) - 5
    assert a["test_forget"] == full["test_forget"]
    threshold = {"kind": "metadata_threshold", "column": "vpf_right", "op": ">", "threshold": 9}
    assert len(make_split("x", {**threshold, "max_forget": 3}, data, 0)["train_forget"]) == 3


def test_split_format_matches_class_conditions(data):
    meta = make_split("m", {"kind": "metadata_equals", "column": "device", "value": "800"}, data, 0)
    cls = make_split("c", {"kind": "class", "class": 1}, data, 0)
    assert list(meta) == list(cls) and list(meta["counts"]) == list(cls["counts"])


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            {"kind": "metadata_equals", "column": "scanner", "value": "A"},
            "column 'scanner'.*'device'",
        ),
        ({"kind": "metadata_equals", "column": "device", "value": "Zeiss"}, "'Zeiss'.*'Topcon'"),
        ({"kind": "metadata_equals", "column": "only_test", "value": "x"}, "empty forget set"),
        ({"kind": "metadata_equals", "column": "device"}, "lacks 'value'"),
        (
            {"kind": "metadata_threshold", "column": "note", "op": ">", "threshold": 1},
            "non-numeric value 'ok'",
        ),
        (
            {
                "kind": "metadata_threshold",
                "columns": ["vpf_left", "nope"],
                "op": ">",
                "threshold": 1,
            },
            "column 'nope'",
        ),
        (
            {"kind": "metadata_threshold", "column": "vpf_right", "op": ">", "threshold": 99},
            "empty forget set.*no row",
        ),
        (
            {"kind": "metadata_threshold", "column": "vpf_right", "op": "=", "threshold": 1},
            "op '='",
        ),
        (
            {"kind": "metadata_threshold", "column": "vpf_right", "op": ">", "threshold": "11"},
            "threshold '11'",
        ),
        ({"kind": "metadata_threshold", "columns": [], "op": ">", "threshold": 1}, "columns"),
    ],
)
def test_errors_name_the_condition(data, condition, message):
    with pytest.raises(UserError, match=message) as err:
        make_split("my_condition", condition, data, seed=0)
    assert "my_condition" in str(err.value)


@pytest.mark.parametrize(
    "condition",
    [
        {"kind": "metadata_equals", "column": "device", "value": "Topcon"},
        {"kind": "metadata_threshold", "column": "a", "op": ">", "threshold": 1.0},
    ],
)
def test_no_metadata_is_an_error(no_metadata, condition):
    with pytest.raises(UserError, match="no metadata.csv") as err:
        make_split("my_condition", condition, no_metadata, seed=0)
    assert "my_condition" in str(err.value)


def test_rewriting_without_metadata_removes_the_stale_file(tmp_path):
    images = np.zeros((N, 1, 4, 4), dtype=np.uint8)
    args = (images, np.arange(N) % 2, _partition(), ["a", "b"])
    write_prepared(tmp_path, *args, source="test", metadata=_table())
    assert load_prepared(tmp_path).metadata is not None
    write_prepared(tmp_path, *args, source="test")
    assert load_prepared(tmp_path).metadata is None
    with pytest.raises(ValueError, match="one row per image"):
        write_prepared(tmp_path, *args, source="test", metadata=_table().iloc[:5])
