"""Forget conditions (DESIGN §6): which training samples form D_f, and the matching eval subsets.

A condition is a small dict from the config (``kind`` plus its fields). :func:`make_split` turns
it into partition-local index lists for every subset, plus which subsets are the headline
forget/remain accuracies. Selection is vectorised; randomness comes only from the given seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from unlearning.data.prepared import PreparedData
from unlearning.errors import UserError

CONDITION_KINDS = ("class", "class_fraction")
CLASS_HEADLINE = {"forget": "test_forget", "remain": "test_remain"}
# The test set holds no forgotten samples of a class fraction, so its headline is the train split.
FRACTION_HEADLINE = {"forget": "train_forget", "remain": "train_remain"}


def _class_index(name: str, condition: dict[str, Any], classes: list[str]) -> int:
    value = condition["class"]
    if isinstance(value, int) and 0 <= value < len(classes):
        return value
    if str(value) in classes:
        return classes.index(str(value))
    raise UserError(
        f"Condition '{name}' names class {value!r}, which the dataset does not have; use an index "
        f"in 0..{len(classes) - 1} or one of {classes}."
    )


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
            fraction = float(condition["fraction"])
            if not 0 < fraction <= 1:
                raise UserError(
                    f"Condition '{name}' has fraction {fraction}; use a value in (0, 1]."
                )
            n = max(1, int(round(fraction * len(candidates)))) if len(candidates) else 0
            forget = np.sort(rng.choice(candidates, size=n, replace=False)) if n else candidates
            headline = FRACTION_HEADLINE
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
    split: dict[str, Any] = {
        "condition": name,
        "definition": condition,
        "seed": seed,
        "headline": headline,
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
