"""The audit's forget set, its shadow and target splits, and its models' seeds (numpy only).

One forget set D_f, a seeded uniform draw of ``forget_size`` examples from the training
partition, is shared by every split. A split adds a seeded random half of the rest of the
training partition, R_k: its original trains on D_f ∪ R_k, its retrains on R_k, and every audited
method unlearns D_f from its original with R_k as the remain set. So each forget example is a
forget example on every split, and each shadow split gives one observation of its confidence
under "unlearned" and one under "retrained".

Splits are named ``shadow<k>`` (the attack fits its Gaussians on these) and ``target<k>`` (held
out: the attack is scored on these). Each name has its own random stream, so adding shadows or
targets leaves the existing splits, and their cached models, as they were.

Indices are partition-local (row ``i`` of the training partition), like a condition's split.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from unlearning.errors import UserError

SHADOW, TARGET = "shadow", "target"
_KINDS = {SHADOW: 1, TARGET: 2}
#: The models trained on every split besides the unlearned ones, and the seed stream of each:
#: the original, the retrain (the "retrained" hypothesis) and a second retrain with other
#: seeds, which stands in for an unlearning method in the sanity row (retrain against retrain).
REFERENCES = ("original", "retrain", "retrain_again")
_ROLES = {"original": 1, "retrain": 2, "retrain_again": 3, "unlearn": 4}
SPLIT_PATTERN = rf"({SHADOW}|{TARGET})\d+"


def split_names(shadows: int, targets: int) -> tuple[list[str], list[str]]:
    return [f"{SHADOW}{k}" for k in range(shadows)], [f"{TARGET}{k}" for k in range(targets)]


def _parse(name: str) -> tuple[int, int]:
    match = re.fullmatch(SPLIT_PATTERN, name)
    if not match:
        raise ValueError(f"an audit split is named shadow<k> or target<k>, not {name!r}")
    return _KINDS[match.group(1)], int(name[len(match.group(1)) :])


def forget_set(n_train: int, size: int, seed: int) -> np.ndarray:
    """``size`` sorted training indices drawn uniformly without replacement."""
    if not 0 < size <= n_train - 2:
        raise UserError(
            f"audit.forget_size is {size}, but the training partition has {n_train} images and "
            "each split needs at least two more besides the forget set; make audit.forget_size "
            f"smaller than {max(n_train - 1, 1)}."
        )
    rng = np.random.default_rng([seed, 0])
    return np.sort(rng.choice(n_train, size=size, replace=False))


def draw_split(n_train: int, forget: np.ndarray, seed: int, name: str) -> dict[str, Any]:
    """The split ``name``: the shared forget set and a seeded random half of the rest."""
    rest = np.setdiff1d(np.arange(n_train), forget)
    rng = np.random.default_rng([seed, *_parse(name)])
    half = np.sort(rng.permutation(rest)[: len(rest) // 2])
    return {
        "split": name,
        "seed": seed,
        "train_forget": [int(i) for i in forget],
        "train_remain": [int(i) for i in half],
    }


def model_seed(seed: int, split: str, role: str) -> int:
    """The training or unlearning seed of one model: its own stream for every split and role
    (``original``, ``retrain``, ``retrain_again`` or ``unlearn``), so no two models share an
    initialisation or a batch order unless they are the same model."""
    state = np.random.SeedSequence([seed, *_parse(split), _ROLES[role]]).generate_state(1)
    return int(state[0] >> 1)  # 31 bits: every seeding API takes it


def write_split(
    data_folder: str | Path,
    name: str,
    forget_size: int,
    seed: int,
    out_split: str | Path,
    out_original: str | Path,
) -> str:
    """Write the split ``name`` twice, in the form the library's train and unlearn steps read
    (``train_forget``, ``train_remain``): ``out_split`` for the retrains and the unlearning runs
    (remain = R_k), ``out_original`` for the original (remain = D_f ∪ R_k, no forget list)."""
    from unlearning.atomic import write_json
    from unlearning.data.prepared import load_prepared

    n_train = len(load_prepared(data_folder).indices("train"))
    split = draw_split(n_train, forget_set(n_train, forget_size, seed), seed, name)
    write_json(out_split, split)
    everything = sorted(split["train_forget"] + split["train_remain"])
    write_json(out_original, {**split, "train_forget": [], "train_remain": everything})
    return (
        f"{name}: {len(split['train_forget'])} forget and {len(split['train_remain'])} remain "
        f"images of {n_train}"
    )
