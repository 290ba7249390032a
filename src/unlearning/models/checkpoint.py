"""Checkpoints: a ``state_dict`` in ``model.pt`` plus a JSON description in ``model.json``.

Loading uses ``torch.load(weights_only=True)``: a checkpoint from elsewhere can hold tensors only,
never code. Both files are written atomically. The description records the sha256 of the
weights file, so a file changed after it was written (a disk fault, a partial copy, an edit that
kept the modification time, which Snakemake cannot see) is refused when a job loads it instead
of feeding wrong numbers downstream. Non-finite weights are refused on save and on load: they
come from a diverged step, and their predictions (every one class 0) look like results.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from unlearning.atomic import atomic_path, write_json
from unlearning.errors import UserError
from unlearning.models.architectures import Classifier, build_from_description

DESCRIPTION_KEYS = ("architecture", "num_classes", "in_channels", "image_size", "mean", "std")
#: The rule that writes a checkpoint of each ``kind`` (the rule to rerun when one is damaged).
RULES = {"original": "train_original", "retrain": "train_retrain", "unlearned": "unlearn"}


def sidecar_path(model_path: str | Path) -> Path:
    return Path(model_path).with_suffix(".json")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def first_non_finite(state: Mapping[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor holding a NaN or an infinity, else None."""
    for key, value in state.items():
        if (
            isinstance(value, torch.Tensor)
            and value.is_floating_point()
            and not bool(torch.isfinite(value).all())
        ):
            return key
    return None


def rule_of(description: dict[str, Any]) -> str:
    """``rule <name>`` for the rule that writes a checkpoint of this kind, for messages."""
    rule = RULES.get(description.get("kind"))
    return f"rule {rule}" if rule else "the rule that wrote it"


def save_checkpoint(path: str | Path, model: torch.nn.Module, description: dict[str, Any]) -> None:
    """Write the weights to a temporary file, their sha256 into the description, then move the
    weights into place, so ``model.pt`` appears last and always matches its ``model.json``."""
    missing = [k for k in DESCRIPTION_KEYS if k not in description]
    if missing:
        raise ValueError(f"checkpoint description lacks {missing}")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    bad = first_non_finite(state)
    if bad is not None:
        raise UserError(
            f"The weights to be saved as {path} are not finite ({bad} holds NaN or infinity); "
            "the step that trained them diverged, so lower its learning rate in the config."
        )
    # Serialised in memory: saved to a file, torch names the archive's records after the
    # (random) temporary name, and identical weights would not give identical bytes.
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getvalue()
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
        write_json(sidecar_path(path), {**description, "sha256": sha256_bytes(data)})


def read_description(path: str | Path) -> dict[str, Any]:
    side = sidecar_path(path)
    if not side.exists():
        raise UserError(
            f"Checkpoint description {side} is missing; keep model.json next to {Path(path).name} "
            "or rerun the rule that wrote it."
        )
    try:
        return json.loads(side.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(
            f"Checkpoint description {side} is not valid JSON ({exc}); rerun the rule "
            "that wrote it."
        ) from exc


def checkpoint_problem(path: str | Path) -> str | None:
    """What is wrong with a saved checkpoint, as a short phrase, or None when it is sound: its
    description missing or unreadable, its bytes not matching the recorded sha256, a file that is
    not a weights-only state_dict, or non-finite weights. ``snakemake verify`` runs this on every
    checkpoint under results/, since a file changed with its modification time kept is invisible
    to Snakemake until a job loads it."""
    path = Path(path)
    side = sidecar_path(path)
    try:
        description = json.loads(side.read_text())
    except FileNotFoundError:
        return f"{side.name} is missing"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"{side.name} is unreadable ({type(exc).__name__})"
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    expected = description.get("sha256") if isinstance(description, dict) else None
    if expected is not None and sha256_bytes(data) != expected:
        return f"its bytes do not match the sha256 recorded in {side.name}"
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        return f"it is not a weights-only state_dict ({type(exc).__name__})"
    if not isinstance(state, dict):
        return "it does not hold a state_dict"
    bad = first_non_finite(state)
    if bad is not None:
        return f"its weights are not finite ({bad} holds NaN or infinity)"
    return None


def load_checkpoint(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[Classifier, dict[str, Any]]:
    """Load a checkpoint after checking its bytes against the recorded sha256 (descriptions
    written before checksums were recorded have none and are not checked)."""
    path = Path(path)
    if not path.exists():
        raise UserError(
            f"Checkpoint {path} does not exist; check the path or rerun the rule that writes it."
        )
    description = read_description(path)
    data = path.read_bytes()
    expected = description.get("sha256")
    if expected is not None and sha256_bytes(data) != expected:
        raise UserError(
            f"Checkpoint {path} is corrupt (its bytes do not match the sha256 recorded in "
            f"{sidecar_path(path).name}); delete it and run snakemake again, which reruns "
            f"{rule_of(description)} for it and every job that depends on it."
        )
    try:  # on the CPU: the weights are checked there (no GPU sync per tensor) and then moved
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise UserError(
            f"Checkpoint {path} is not a weights-only state_dict ({type(exc).__name__}); "
            "delete it and rerun the rule that writes it."
        ) from exc
    if isinstance(state, dict):
        bad = first_non_finite(state)
        if bad is not None:
            raise UserError(
                f"Checkpoint {path} holds non-finite weights ({bad} has NaN or infinity); "
                "delete it and run snakemake again to retrain it, with a lower learning rate "
                "if its training diverged."
            )
    model = build_from_description(description)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError) as exc:
        raise UserError(
            f"Checkpoint {path} does not match its description in {sidecar_path(path).name} "
            f"({str(exc).splitlines()[0]}); delete both files and rerun the rule that writes them."
        ) from exc
    return model.to(map_location), description
