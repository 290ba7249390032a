"""Forget conditions: which training samples form D_f, and the matching eval subsets.

A condition is a small dict from the config (``kind`` plus its fields). :func:`make_split` turns
it into partition-local index lists for every subset, plus which subsets are the headline
forget/remain accuracies. Selection is vectorised; randomness comes only from the given seed.

Kinds:

- ``class``: ``{kind: class, class: 3}``; every training sample of the class. A value equal to
  a class name (``3`` or ``"3"``) is that class; an integer that is no class name is an index,
  accepted only when no class name is a number (:func:`_class_index`). The split records and logs
  the chosen class's index and name.
- ``class_fraction``: ``{kind: class_fraction, class: 0, fraction: 0.1}``; a seeded fraction of
  the class. The test set holds none of the forgotten samples, so the headline is the train split.
- ``metadata_equals``: ``{kind: metadata_equals, column: device, value: "Cirrus 800 FA"}``; rows
  whose metadata column equals the value. Values compare as text after ``str()`` (surrounding
  spaces ignored), since YAML may hand over ``800`` as an int; a number (not a bool) also matches
  cells of equal numeric value, so ``11`` matches ``"11.0"`` and ``11.0`` matches ``"11"``.
- ``metadata_threshold``: ``{kind: metadata_threshold, column: a, op: ">", threshold: 11.0}`` or
  ``columns: [a, b]``; rows where the column (or the mean of the columns) passes the threshold
  (``op`` one of ``>``, ``<``, ``>=``, ``<=``). A row with an empty/NA cell in any listed column
  never matches (it stays in the remain set); any other non-numeric cell is an error.

- ``random``: ``{kind: random, fraction: 0.1}`` or with ``classes: [0, 3]``; a seeded uniform
  draw of that fraction of the training split (of those classes only, when given). Like a class
  fraction, the test set holds none of the forgotten samples, so the headline is the train split;
  the val/test "forget" subsets are the images of the listed classes (none without ``classes``).
  The retrain keeps a high forget accuracy here (it generalises to the drawn images), so nothing
  may assume it forgets them.

For the metadata kinds, D_f is the matching training rows and the matching validation/test rows
are the val/test forget subsets, so the headline is test_forget/test_remain, as for a class. Every
kind accepts ``max_forget``: a seeded random subset of that size when D_f is larger.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from typing import Any

import numpy as np
import pandas as pd

from unlearning.data.prepared import PreparedData
from unlearning.errors import UserError

log = logging.getLogger(__name__)

CONDITION_KINDS = ("class", "class_fraction", "metadata_equals", "metadata_threshold", "random")
METADATA_KINDS = ("metadata_equals", "metadata_threshold")
THRESHOLD_OPS = (">", "<", ">=", "<=")
# Cells that mean "no value" in a numeric column (compared lower-case, after stripping).
_MISSING = frozenset({"", "na", "nan", "n/a", "null", "none", "-"})
_PARTS = ("train", "val", "test")
CLASS_HEADLINE = {"forget": "test_forget", "remain": "test_remain"}
# The test set holds no forgotten samples of a class fraction, so its headline is the train split.
FRACTION_HEADLINE = {"forget": "train_forget", "remain": "train_remain"}


def _looks_numeric(name: str) -> bool:
    try:
        return math.isfinite(float(name))
    except ValueError:
        return False


def _class_index(name: str, condition: dict[str, Any], classes: list[str]) -> int:
    """The class a condition names: a value equal to a class name (``7`` or ``"7"``) is that
    class; an integer that is no class name is an index, but only where no class name is a
    number, so that ``class: 1`` never picks folder ``2/`` of folders ``1/ 2/ 3/``."""
    value = condition["class"]
    text = value.strip() if isinstance(value, str) else str(value)
    # "café" typed (NFC) and "café" from a macOS folder name (NFD) look alike and differ in bytes
    text = unicodedata.normalize("NFC", text)
    normalized = [unicodedata.normalize("NFC", c) for c in classes]
    if not isinstance(value, bool) and text in normalized:
        return normalized.index(text)
    numeric = any(_looks_numeric(c) for c in classes)
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if is_int and not numeric and 0 <= value < len(classes):
        return value
    why = " (its class names are numbers, so a number names a class, never an index)"
    hint = f"one of {classes}"
    if not numeric:
        hint += f" or an index in 0..{len(classes) - 1}"
    raise UserError(
        f"Condition '{name}' names class {value!r}, which the dataset does not have"
        f"{why if numeric and is_int else ''}; use {hint}."
    )


def _metadata(name: str, condition: dict[str, Any], data: PreparedData) -> pd.DataFrame:
    if data.metadata is None:
        raise UserError(
            f"Condition '{name}' ({condition.get('kind')}) filters on metadata, but dataset "
            f"{data.folder} has no metadata.csv; prepare it from an image folder with a "
            "metadata_csv, or use a class condition."
        )
    return data.metadata


def _column(name: str, column: Any, metadata: pd.DataFrame) -> pd.Series:
    if not isinstance(column, str) or column not in metadata.columns:
        raise UserError(
            f"Condition '{name}' names metadata column {column!r}, which the dataset does not "
            f"have; use one of {list(metadata.columns)}."
        )
    return metadata[column].astype(str).str.strip()


def _field(name: str, condition: dict[str, Any], key: str) -> Any:
    if key not in condition:
        raise UserError(
            f"Condition '{name}' ({condition.get('kind')}) lacks '{key}'; add it to the "
            "condition in the config."
        )
    return condition[key]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _equals_mask(name: str, condition: dict[str, Any], data: PreparedData) -> np.ndarray:
    metadata = _metadata(name, condition, data)
    column = _field(name, condition, "column")
    value = _field(name, condition, "value")
    cells = _column(name, column, metadata)
    mask = (cells == str(value).strip()).to_numpy()
    if _is_number(value):
        numeric = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)
        mask = mask | (numeric == float(value))
    if not mask.any():
        seen = cells.value_counts().index[:8].tolist()
        raise UserError(
            f"Condition '{name}' asks for {column} == {value!r}, which no row of the dataset "
            f"has; use a value that occurs, e.g. one of {seen}."
        )
    return mask


def _numeric(name: str, column: str, cells: pd.Series) -> np.ndarray:
    missing = cells.str.lower().isin(_MISSING)
    numeric = pd.to_numeric(cells.where(~missing), errors="coerce")
    bad = numeric.isna() & ~missing
    if bad.any():
        raise UserError(
            f"Condition '{name}' thresholds metadata column {column!r}, which holds the "
            f"non-numeric value {cells[bad].iloc[0]!r}; choose a numeric column or fix the CSV."
        )
    return numeric.to_numpy(dtype=np.float64)


def _threshold_mask(name: str, condition: dict[str, Any], data: PreparedData) -> np.ndarray:
    metadata = _metadata(name, condition, data)
    if "columns" in condition:
        columns = condition["columns"]
        if isinstance(columns, str):
            columns = [columns]
    else:
        columns = [_field(name, condition, "column")]
    if not isinstance(columns, (list, tuple)) or not columns:
        raise UserError(
            f"Condition '{name}' has columns {columns!r}; give a non-empty list of metadata "
            "column names."
        )
    op = _field(name, condition, "op")
    if op not in THRESHOLD_OPS:
        raise UserError(f"Condition '{name}' has op {op!r}; use one of {list(THRESHOLD_OPS)}.")
    threshold = _field(name, condition, "threshold")
    if not _is_number(threshold):
        raise UserError(f"Condition '{name}' has threshold {threshold!r}; give a number.")
    values = np.stack([_numeric(name, c, _column(name, c, metadata)) for c in columns], axis=1)
    mean = values.mean(axis=1)  # NaN where any listed cell is missing: never matches
    with np.errstate(invalid="ignore"):
        return {
            ">": mean > threshold,
            "<": mean < threshold,
            ">=": mean >= threshold,
            "<=": mean <= threshold,
        }[op]


def _fraction(name: str, condition: dict[str, Any]) -> float:
    fraction = float(condition["fraction"])
    if not 0 < fraction <= 1:
        raise UserError(f"Condition '{name}' has fraction {fraction}; use a value in (0, 1].")
    return fraction


#: A forget set this small gives accuracies in steps of 20 % or more: worth a warning.
FEW_IMAGES = 5


def _draw(
    candidates: np.ndarray, fraction: float, rng: np.random.Generator, name: str = ""
) -> np.ndarray:
    """A seeded draw of ``fraction`` of ``candidates`` (at least one), in index order."""
    n = max(1, int(round(fraction * len(candidates)))) if len(candidates) else 0
    if 0 < n < FEW_IMAGES:
        log.warning(
            "Condition '%s': fraction %g of %d training images rounds to %d image(s), fewer "
            "than %d, so its forget accuracy moves in steps of %.0f %%; raise the fraction.",
            name, fraction, len(candidates), n, FEW_IMAGES, 100 / n,
        )  # fmt: skip
    return np.sort(rng.choice(candidates, size=n, replace=False)) if n else candidates


def _random_members(
    name: str, condition: dict[str, Any], data: PreparedData
) -> dict[str, np.ndarray]:
    """Per partition, the images a random condition may draw from: every one, or those of the
    listed classes."""
    classes = condition.get("classes")
    if not classes:
        return {part: np.ones(len(data.indices(part)), dtype=bool) for part in _PARTS}
    names = data.info["classes"]
    chosen = [_class_index(name, {"class": value}, names) for value in classes]
    return {part: np.isin(data.part_labels(part), chosen) for part in _PARTS}


def _cap(forget: np.ndarray, max_forget: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_forget is None or len(forget) <= max_forget:
        return forget
    return np.sort(rng.choice(forget, size=max_forget, replace=False))


def forget_mask(
    name: str, condition: dict[str, Any], data: PreparedData, seed: int
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, str]]:
    """Return the train forget indices, per-partition "of the kind" masks, and the headline."""
    kind = condition.get("kind")
    classes = data.info["classes"]
    rng = np.random.default_rng(seed)
    if kind in ("class", "class_fraction"):
        cls = _class_index(name, condition, classes)
        members = {part: data.part_labels(part) == cls for part in ("train", "val", "test")}
        candidates = np.flatnonzero(members["train"])
        if kind == "class":
            forget = candidates
            headline = CLASS_HEADLINE
        else:
            forget = _draw(candidates, _fraction(name, condition), rng, name)
            headline = FRACTION_HEADLINE
    elif kind == "random":
        pool = _random_members(name, condition, data)
        forget = _draw(np.flatnonzero(pool["train"]), _fraction(name, condition), rng, name)
        # Held-out images are never forgotten; without a class restriction none is "of the kind".
        members = pool if condition.get("classes") else {p: ~m for p, m in pool.items()}
        headline = FRACTION_HEADLINE
    elif kind in METADATA_KINDS:
        mask = (_equals_mask if kind == "metadata_equals" else _threshold_mask)(
            name, condition, data
        )
        members = {part: mask[data.indices(part)] for part in ("train", "val", "test")}
        forget = np.flatnonzero(members["train"])
        headline = CLASS_HEADLINE
        if len(forget) == 0:
            where = (
                f"its {int(mask.sum())} matching rows are all in the validation or test partition"
                if mask.any()
                else "no row of the dataset matches it"
            )
            raise UserError(
                f"Condition '{name}' selects no training sample (empty forget set): {where}; "
                "loosen the condition or change the split."
            )
    else:
        raise UserError(
            f"Condition '{name}' has unknown kind {kind!r}; use one of {list(CONDITION_KINDS)}."
        )
    forget = _cap(forget, condition.get("max_forget"), rng)
    if len(forget) == 0:
        raise UserError(
            f"Condition '{name}' selects no training sample (empty forget set); check its "
            "class or filter against the dataset."
        )
    return forget, members, headline


def make_split(name: str, condition: dict[str, Any], data: PreparedData, seed: int) -> dict:
    """The JSON-ready split of one condition; indices are local to each partition."""
    forget, members, headline = forget_mask(name, condition, data, seed)
    n_train = len(members["train"])
    remain = np.setdiff1d(np.arange(n_train), forget, assume_unique=True)
    kind, forget_class, fraction = condition["kind"], None, None
    if kind == "random":
        fraction = condition["fraction"]
    elif kind in ("class", "class_fraction"):
        # what the metrics label the condition with: a class condition forgets all its class
        fraction = condition["fraction"] if kind == "class_fraction" else 1.0
        index = _class_index(name, condition, data.info["classes"])
        forget_class = {"index": index, "name": data.info["classes"][index]}
        log.info("Condition '%s' forgets class '%s' (index %d).", name, forget_class["name"], index)
    split: dict[str, Any] = {
        "condition": name,
        "definition": condition,
        "kind": kind,
        "fraction": fraction,
        "seed": seed,
        "headline": headline,
        # the class the condition resolved to, so a reader need not redo the name/index rule
        "forget_class": forget_class,
        "train_forget": forget.tolist(),
        "train_remain": remain.tolist(),
    }
    for part in ("val", "test"):
        split[f"{part}_forget"] = np.flatnonzero(members[part]).tolist()
        split[f"{part}_remain"] = np.flatnonzero(~members[part]).tolist()
    split["counts"] = {
        key: len(split[key])
        for key in (
            "train_forget",
            "train_remain",
            "val_forget",
            "val_remain",
            "test_forget",
            "test_remain",
        )
    }
    return split
