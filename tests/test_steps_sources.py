"""The config-level entry point of data preparation dispatches to every source."""

import numpy as np
import pytest
from PIL import Image

from unlearning import steps
from unlearning.data.prepared import load_prepared
from unlearning.errors import UserError


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
    summary = steps.prepare_data("clinic", dataset, tmp_path / "prepared")
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
    with pytest.raises(UserError, match=match) as info:
        steps.prepare_data("mine", dataset, tmp_path / "prepared")
    if dataset["source"] != "nowhere":
        assert str(tmp_path / "raw") in str(info.value)
    assert not (tmp_path / "prepared" / "info.json").exists()
