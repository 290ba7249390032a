"""Method settings: the hyperparameter grid of a method expanded into readable path slugs.

A setting's slug lists only the hyperparameters that differ from the method's defaults
(``gamma=1e-4_lambda=0``), so a results path says what produced it; the default setting is
``default`` and always runs, whether or not the grid contains it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

DEFAULT_SLUG = "default"


def format_value(value: Any) -> str:
    """Short, filesystem-safe text of a hyperparameter value (``1e-4``, ``0.1``, ``true``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) or isinstance(value, int):
        if value == 0:
            return "0"
        if isinstance(value, float) and (abs(value) < 1e-3 or abs(value) >= 1e5):
            mantissa, exponent = f"{value:.6e}".split("e")
            mantissa = mantissa.rstrip("0").rstrip(".")
            return f"{mantissa}e{int(exponent)}"
        return f"{value:g}"
    if value is None:
        return "none"
    text = str(value)
    return "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in text)


def setting_slug(defaults: dict[str, Any], params: dict[str, Any]) -> str:
    changed = [k for k in params if k not in defaults or params[k] != defaults[k]]
    if not changed:
        return DEFAULT_SLUG
    return "_".join(f"{k}={format_value(params[k])}" for k in changed)


def grid_entries(grid: Any) -> list[dict[str, list[Any]]]:
    """A grid is one mapping (every combination runs) or a list of them (the union)."""
    if not grid:
        return []
    return list(grid) if isinstance(grid, list) else [grid]


def expand_settings(method_config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Map slug -> full hyperparameters for one method's ``params`` and ``grid``."""
    defaults = dict(method_config.get("params") or {})
    settings = {DEFAULT_SLUG: defaults}
    for grid in grid_entries(method_config.get("grid")):
        keys = list(grid)
        for combo in itertools.product(*(grid[k] for k in keys)):
            params = {**defaults, **dict(zip(keys, combo, strict=True))}
            # Order the slug by grid keys so paths read the way the grid is written.
            ordered = {k: params[k] for k in keys} | {
                k: v for k, v in params.items() if k not in keys
            }
            settings.setdefault(setting_slug(defaults, ordered), params)
    return settings


def method_spec(config: dict[str, Any], dataset: str, method: str) -> dict[str, Any]:
    """A method's params and grid for one dataset: ``datasets.<d>.method_settings.<method>``
    overrides the global params key by key, and its grid (if given) replaces the global one."""
    spec = config["methods"][method] or {}
    local = ((config["datasets"][dataset].get("method_settings") or {}).get(method)) or {}
    merged = {"params": {**(spec.get("params") or {}), **(local.get("params") or {})}}
    grid = local["grid"] if "grid" in local else spec.get("grid")
    if grid:
        merged["grid"] = grid
    return merged


def dataset_settings(config: dict[str, Any]) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """dataset -> method -> slug -> hyperparameters, every method of the config expanded with the
    dataset's own overrides (a dataset without overrides gets the global settings unchanged)."""
    return {
        dataset: {
            method: expand_settings(method_spec(config, dataset, method))
            for method in config["methods"]
        }
        for dataset in config["datasets"]
    }


def config_hash(obj: Any) -> str:
    """Short stable hash of a JSON-able config fragment, recorded in checkpoint descriptions."""
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def dataset_runs(
    entries: list[str] | None, settings: dict[str, dict[str, dict[str, Any]]]
) -> list[tuple[str, str]]:
    """The (method, setting) pairs a dataset runs.

    ``entries`` is the dataset's ``methods`` list: ``psg`` runs every setting of psg,
    ``psg/default`` only that one; no list runs every setting of every method.
    """
    if not entries:
        return [(method, slug) for method, slugs in settings.items() for slug in slugs]
    runs: list[tuple[str, str]] = []
    for entry in entries:
        method, _, slug = entry.partition("/")
        slugs = [slug] if slug else list(settings.get(method, {}))
        runs += [(method, s) for s in slugs if (method, s) not in runs]
    return runs


def undefined_entry(
    entries: list[str], settings: dict[str, dict[str, dict[str, Any]]]
) -> tuple[str, list[str]] | None:
    """The first ``method`` or ``method/setting`` of ``entries`` that ``settings`` lacks, with
    the names to use instead (the methods, or that method's settings); None if all exist."""
    for entry in entries:
        method, _, slug = entry.partition("/")
        if method not in settings:
            return entry, sorted(settings)
        if slug and slug not in settings[method]:
            return entry, sorted(settings[method])
    return None


#: The folder of a condition's first retrain reference; the others are ``retrain_<r>``.
RETRAIN_FOLDER = "retrain"


def retrain_folder(replica: int) -> str:
    """``retrain`` for the first reference (replica 0), ``retrain_<r>`` for the others."""
    return RETRAIN_FOLDER if replica == 0 else f"{RETRAIN_FOLDER}_{replica}"


def retrain_replica(folder: str) -> int:
    """The replica number of a retrain folder name (inverse of :func:`retrain_folder`)."""
    if folder == RETRAIN_FOLDER:
        return 0
    prefix = f"{RETRAIN_FOLDER}_"
    if not folder.startswith(prefix) or not folder[len(prefix) :].isdigit():
        raise ValueError(f"{folder!r} is not a retrain folder name")
    return int(folder[len(prefix) :])


def replica_seed(seed: int, replica: int) -> int:
    """The training seed of one retrain reference: the run's seed for the first (so it is the
    model a single reference always was), and for the others a seed derived from (seed, replica)
    that no run seed picks by accident. Replicas differ in initialisation and batch order only."""
    if replica == 0:
        return seed
    digest = hashlib.sha256(f"retrain-replica:{seed}:{replica}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def retrain_count(config: dict[str, Any], dataset: str, condition: str) -> int:
    """How many retrain references a condition has: the condition's ``retrains``, else the
    dataset's, else ``evaluation.retrains`` (0 when the dataset switches its retrain off)."""
    spec = config["datasets"][dataset]
    if not spec.get("retrain", True):
        return 0
    local = spec["conditions"][condition].get("retrains")
    return int(local or spec.get("retrains") or config["evaluation"].get("retrains", 1))
