"""Where a dataset's images come from: the registry of the config's ``source`` values.

Each source registers one function with :func:`source`. Its keyword-only parameters are the keys
of a dataset entry it reads, so this module is the one place that says which config keys shape a
source's prepared data (the workflow derives :data:`PREPARATION_KEYS` from it). The schema's
defaults are filled in before a function is called (:func:`unlearning.config_schema.apply_schema`);
a default written here is one the schema cannot state, because it differs between sources.

This module imports no torch: the workflow reads it while it parses, and a source's own module
is imported only when it prepares data.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unlearning.errors import UserError

#: ``prepare(folder, dataset, **keys)`` writes the prepared folder and returns its info.
Prepare = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Source:
    name: str
    prepare: Prepare
    #: The dataset entry's keys that ``prepare`` reads, in its parameters' order.
    keys: tuple[str, ...]


#: Source name -> its preparation, in the order of the schema's ``source`` enum.
SOURCES: dict[str, Source] = {}


def source(name: str) -> Callable[[Prepare], Prepare]:
    """Register ``prepare`` as the preparation of source ``name``."""

    def decorate(prepare: Prepare) -> Prepare:
        if name in SOURCES:
            raise ValueError(f"source {name!r} registered twice")
        parameters = inspect.signature(prepare).parameters.values()
        keys = tuple(p.name for p in parameters if p.kind is p.KEYWORD_ONLY)
        SOURCES[name] = Source(name, prepare, keys)
        return prepare

    return decorate


def get_source(name: str, dataset: str) -> Source:
    if name not in SOURCES:
        raise UserError(
            f"Dataset '{dataset}' has unknown source {name!r}; use one of {list(SOURCES)}."
        )
    return SOURCES[name]


def prepare(dataset: str, spec: dict[str, Any], folder: str | Path) -> dict[str, Any]:
    """Prepare the config entry ``spec`` of ``dataset`` into ``folder``; return its info."""
    chosen = get_source(spec["source"], dataset)
    return chosen.prepare(folder, dataset, **{key: spec[key] for key in chosen.keys if key in spec})


def _merged(orders: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    """One sequence holding every key, each source's keys in that source's order."""
    keys: list[str] = []
    for order in orders:
        for i, key in enumerate(order):
            if key not in keys:
                later = [keys.index(k) for k in order[i + 1 :] if k in keys]
                keys.insert(min(later, default=len(keys)), key)
    return tuple(keys)


def _raw_root(raw_root: str | None, dataset: str) -> str:
    return raw_root or str(Path("resources/raw") / dataset)


def _register_digits(name: str, prepare_name: str) -> None:
    """The two digits sources differ only in the function that draws their images."""

    @source(name)
    def _digits(
        folder: str | Path,
        dataset: str,
        *,
        image_size: int = 16,
        val_fraction: float,
        test_fraction: float,
        split_seed: int,
    ) -> dict[str, Any]:
        from unlearning.data import digits

        prepare_digits = getattr(digits, prepare_name)
        return prepare_digits(folder, image_size, val_fraction, test_fraction, split_seed)


_register_digits("sklearn_digits", "prepare_digits")
_register_digits("sklearn_digits_scanners", "prepare_digits_scanners")


@source("torchvision")
def _torchvision(
    folder: str | Path,
    dataset: str,
    *,
    image_size: int | None = None,
    val_fraction: float,
    split_seed: int,
    name: str,
    raw_root: str | None = None,
    download: bool = False,
) -> dict[str, Any]:
    from unlearning.data.torchvision_sets import prepare_torchvision

    return prepare_torchvision(
        name,
        folder,
        _raw_root(raw_root, dataset),
        download,
        val_fraction,
        split_seed,
        image_size=image_size,
        dataset=dataset,
    )


@source("medmnist")
def _medmnist(
    folder: str | Path,
    dataset: str,
    *,
    image_size: int | None = None,
    flag: str,
    size: int = 28,
    raw_root: str | None = None,
    download: bool = False,
) -> dict[str, Any]:
    from unlearning.data.medmnist_sets import prepare_medmnist

    return prepare_medmnist(
        flag,
        folder,
        _raw_root(raw_root, dataset),
        download,
        size=size,
        image_size=image_size,
        dataset=dataset,
    )


@source("imagefolder")
def _imagefolder(
    folder: str | Path,
    dataset: str,
    *,
    image_size: int,
    val_fraction: float,
    test_fraction: float,
    split_seed: int,
    imagefolder: dict[str, Any],
) -> dict[str, Any]:
    from unlearning.data.imagefolder import prepare_imagefolder

    return prepare_imagefolder(
        folder,
        root=imagefolder["root"],
        labels_csv=imagefolder.get("labels_csv"),  # optional files: absent means none
        metadata_csv=imagefolder.get("metadata_csv"),
        split_column=imagefolder.get("split_column"),
        key_column=imagefolder["key_column"],
        channels=imagefolder["channels"],
        resize=imagefolder["resize"],
        image_size=image_size,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        split_seed=split_seed,
    )


#: Every key of a dataset entry that shapes its prepared data: the rule's parameters, so that
#: adding a condition or a method does not prepare the data again. Merged so that each source's
#: keys keep their order, which keeps the rule's recorded parameters (and so the prepared data of
#: existing results) unchanged.
PREPARATION_KEYS: tuple[str, ...] = ("source", *_merged(s.keys for s in SOURCES.values()))

#: Channels of the images each torchvision set and each 2D MedMNIST set gives.
TORCHVISION_CHANNELS = {"mnist": 1, "fashionmnist": 1, "cifar10": 3, "svhn": 3}
MEDMNIST_CHANNELS = {
    "pathmnist": 3,
    "chestmnist": 1,
    "dermamnist": 3,
    "octmnist": 1,
    "pneumoniamnist": 1,
    "retinamnist": 3,
    "breastmnist": 1,
    "bloodmnist": 3,
    "tissuemnist": 1,
    "organamnist": 1,
    "organcmnist": 1,
    "organsmnist": 1,
}


def source_channels(spec: dict[str, Any]) -> int | None:
    """How many channels a dataset entry's images will have, known before they are prepared
    (so per-channel config values can be checked at planning); None where the files decide."""
    kind = spec.get("source")
    if kind in ("sklearn_digits", "sklearn_digits_scanners"):
        return 1
    if kind == "torchvision":
        return TORCHVISION_CHANNELS.get(spec.get("name"))
    if kind == "medmnist":
        return MEDMNIST_CHANNELS.get(spec.get("flag"))
    if kind == "imagefolder":
        return spec["imagefolder"]["channels"]
    return None
