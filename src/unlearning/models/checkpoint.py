"""Checkpoints: a ``state_dict`` in ``model.pt`` plus a JSON description in ``model.json``.

Loading uses ``torch.load(weights_only=True)``: a checkpoint from elsewhere can hold tensors only,
never code. Both files are written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from unlearning.atomic import atomic_path, write_json
from unlearning.errors import UserError
from unlearning.models.architectures import Classifier, build_from_description

DESCRIPTION_KEYS = ("architecture", "num_classes", "in_channels", "image_size", "mean", "std")


def sidecar_path(model_path: str | Path) -> Path:
    return Path(model_path).with_suffix(".json")


def save_checkpoint(path: str | Path, model: torch.nn.Module, description: dict[str, Any]) -> None:
    """Write the description first, then the weights, so ``model.pt`` appears last."""
    missing = [k for k in DESCRIPTION_KEYS if k not in description]
    if missing:
        raise ValueError(f"checkpoint description lacks {missing}")
    write_json(sidecar_path(path), description)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


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


def load_checkpoint(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[Classifier, dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        raise UserError(
            f"Checkpoint {path} does not exist; check the path or rerun the rule that writes it."
        )
    description = read_description(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise UserError(
            f"Checkpoint {path} is not a weights-only state_dict ({type(exc).__name__}); "
            "delete it and rerun the rule that writes it."
        ) from exc
    model = build_from_description(description)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError) as exc:
        raise UserError(
            f"Checkpoint {path} does not match its description in {sidecar_path(path).name} "
            f"({str(exc).splitlines()[0]}); delete both files and rerun the rule that writes them."
        ) from exc
    return model.to(map_location), description
