"""The config-level entry point of data preparation dispatches to every source, through the
source registry, with the values the config schema filled in."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from snakemake.utils import validate

from unlearning.data.prepared import load_prepared
from unlearning.data.sources import PREPARATION_KEYS, SOURCES
from unlearning.errors import UserError
from unlearning.steps.data import prepare_data

SCHEMA = Path(__file__).resolve().parents[1] / "config/schema/config.schema.yaml"


def dataset_schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())["definitions"]["dataset"]


def with_defaults(dataset: dict) -> dict:
    """``dataset`` as the workflow sees it: a config entry after ``validate`` filled in the
    schema's defaults (the model and conditions, required by the schema, are dropped again)."""
    entry = {
        "model": {"architecture": "allcnn"},
        "conditions": {"class_0": {"kind": "class", "class": 0}},
        **dataset,
    }
    config = {"seeds": [0], "methods": {"finetune": {}}, "datasets": {"mine": entry}}
    validate(config, str(SCHEMA))
    return {k: v for k, v in entry.items() if k not in ("model", "conditions")}


def test_registry_names_the_schema_sources():
    assert list(SOURCES) == dataset_schema()["properties"]["source"]["enum"]


def test_preparation_keys_are_dataset_keys_of_the_schema():
    properties = dataset_schema()["properties"]
    assert PREPARATION_KEYS[0] == "source"
    assert set(PREPARATION_KEYS) <= set(properties)
    assert len(set(PREPARATION_KEYS)) == len(PREPARATION_KEYS)
    for source in SOURCES.values():
        assert set(source.keys) <= set(PREPARATION_KEYS), source.name


def test_validate_fills_the_defaults_the_sources_read():
    entry = with_defaults({"source": "imagefolder", "image_size": 8, "imagefolder": {"root": "x"}})
    assert (entry["val_fraction"], entry["test_fraction"], entry["split_seed"]) == (0.1, 0.2, 0)
    assert entry["imagefolder"] == {
        "root": "x",
        "key_column": "file",
        "channels": 3,
        "resize": "resize",
    }
    assert entry["retrain"] is True


def test_imagefolder_through_the_config_keys(tmp_path):
    root = tmp_path / "images"
    for cls, value in (("healthy", 40), ("sick", 200)):
        (root / cls).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(np.full((12, 20), value + i, dtype=np.uint8)).save(
                root / cls / f"{cls}_{i}.png"
            )
    meta = tmp_path / "meta.csv"
    rows = [
        f"{cls}_{i}.png,{'A' if i % 2 else 'B'}" for cls in ("healthy", "sick") for i in range(10)
    ]
    meta.write_text("file,device\n" + "\n".join(rows) + "\n")
    dataset = {
        "source": "imagefolder",
        "image_size": 8,
        "val_fraction": 0.1,
        "test_fraction": 0.2,
        "imagefolder": {
            "root": str(root),
            "metadata_csv": str(meta),
            "channels": 1,
            "resize": "pad",
        },
    }
    summary = prepare_data("clinic", with_defaults(dataset), tmp_path / "prepared")
    assert "clinic" in summary
    data = load_prepared(tmp_path / "prepared")
    assert data.images.shape == (20, 1, 8, 8) and data.info["classes"] == ["healthy", "sick"]
    assert set(data.metadata["device"]) == {"A", "B"}


@pytest.mark.parametrize(
    ("dataset", "match"),
    [
        ({"source": "torchvision", "name": "cifar10", "download": False}, "cifar"),
        ({"source": "medmnist", "flag": "pathmnist", "download": False}, "pathmnist"),
        ({"source": "nowhere"}, "unknown source"),
    ],
)
def test_offline_sources_without_files_name_the_folder(tmp_path, dataset, match):
    dataset = {**dataset, "raw_root": str(tmp_path / "raw")}
    if dataset["source"] != "nowhere":  # the schema refuses an unknown source
        dataset = with_defaults(dataset)
    with pytest.raises(UserError, match=match) as info:
        prepare_data("mine", dataset, tmp_path / "prepared")
    if dataset["source"] != "nowhere":
        assert str(tmp_path / "raw") in str(info.value)
    assert not (tmp_path / "prepared" / "info.json").exists()
