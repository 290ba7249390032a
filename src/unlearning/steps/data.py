"""Steps that prepare data and write forget splits (rules prepare_data, make_split)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unlearning.atomic import write_json
from unlearning.data.conditions import make_split
from unlearning.data.prepared import load_prepared
from unlearning.errors import UserError

SOURCES = ("sklearn_digits", "sklearn_digits_scanners", "torchvision", "medmnist", "imagefolder")


def prepare_data(name: str, dataset: dict[str, Any], folder: str | Path) -> str:
    """Prepare one dataset entry of the config into ``folder``, in the prepared format
    (docs/architecture.md, Prepared data)."""
    from unlearning.data.digits import prepare_digits, prepare_digits_scanners

    source = dataset["source"]
    raw_root = dataset.get("raw_root") or str(Path("resources/raw") / name)
    split = {
        "val_fraction": dataset.get("val_fraction", 0.1),
        "test_fraction": dataset.get("test_fraction", 0.2),
        "split_seed": dataset.get("split_seed", 0),
    }
    if source in ("sklearn_digits", "sklearn_digits_scanners"):
        prepare = prepare_digits if source == "sklearn_digits" else prepare_digits_scanners
        info = prepare(folder, image_size=dataset.get("image_size", 16), **split)
    elif source == "torchvision":
        from unlearning.data.torchvision_sets import prepare_torchvision

        info = prepare_torchvision(
            dataset["name"],
            folder,
            raw_root,
            dataset.get("download", False),
            split["val_fraction"],
            split["split_seed"],
            image_size=dataset.get("image_size"),
            dataset=name,
        )
    elif source == "medmnist":
        from unlearning.data.medmnist_sets import prepare_medmnist

        info = prepare_medmnist(
            dataset["flag"],
            folder,
            raw_root,
            dataset.get("download", False),
            size=dataset.get("size", 28),
            image_size=dataset.get("image_size"),
            dataset=name,
        )
    elif source == "imagefolder":
        from unlearning.data.imagefolder import prepare_imagefolder

        spec = dataset["imagefolder"]
        info = prepare_imagefolder(
            folder,
            root=spec["root"],
            labels_csv=spec.get("labels_csv"),
            metadata_csv=spec.get("metadata_csv"),
            image_size=dataset.get("image_size", 64),
            channels=spec.get("channels", 3),
            resize=spec.get("resize", "resize"),
            split_column=spec.get("split_column"),
            key_column=spec.get("key_column", "file"),
            **split,
        )
    else:
        raise UserError(f"Dataset '{name}' has unknown source {source!r}; use one of {SOURCES}.")
    return (
        f"{name}: {info['counts']} images of {info['image_size']}px, {info['num_classes']} classes"
    )


def write_split(
    data_folder: str | Path, name: str, condition: dict[str, Any], seed: int, out: str | Path
) -> str:
    split = make_split(name, condition, load_prepared(data_folder), seed)
    write_json(out, split)
    return f"{name}: {split['counts']}"
