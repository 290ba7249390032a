"""Steps that prepare data and write forget splits (rules prepare_data, make_split)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unlearning.atomic import write_json
from unlearning.data import conditions, sources
from unlearning.data.prepared import load_prepared


def prepare_data(name: str, dataset: dict[str, Any], folder: str | Path) -> str:
    """Prepare one dataset entry of the config, its schema defaults filled in, into ``folder``
    in the prepared format (docs/architecture.md, Prepared data)."""
    info = sources.prepare(name, dataset, folder)
    return (
        f"{name}: {info['counts']} images of {info['image_size']}px, {info['num_classes']} classes"
    )


def make_split(
    data_folder: str | Path, name: str, condition: dict[str, Any], seed: int, out: str | Path
) -> str:
    """Select the forget set of one condition and its evaluation subsets into ``out``."""
    split = conditions.make_split(name, condition, load_prepared(data_folder), seed)
    write_json(out, split)
    return f"{name}: {split['counts']}"
