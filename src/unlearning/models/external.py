"""Bring your own model: load a user's trained weights as the original and check them against
the dataset before any unlearning runs on them.

Accepted checkpoints are weights only (``torch.load(weights_only=True)``): a state_dict of this
project's ``Classifier`` (keys ``normalize.*``, ``features.*``, ``head.*``), or of a plain
torchvision ResNet (``conv1.*`` ... ``fc.*``), whose ``fc`` becomes the head. A plain ResNet has
no normalisation layer, so the description's mean and std (the config's ``normalization`` or the
dataset's statistics) are used for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from unlearning.errors import UserError
from unlearning.models.architectures import Classifier, build_from_description


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    if not path.exists():
        raise UserError(
            f"Original checkpoint {path} does not exist; fix datasets.<name>.original.checkpoint "
            "in the config."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated files and pickled objects raise several types
        raise UserError(
            f"Original checkpoint {path} is not a readable weights-only state_dict "
            f"({type(exc).__name__}); save it with torch.save(model.state_dict(), path)."
        ) from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(
            f"Original checkpoint {path} does not hold a state_dict of tensors; save it with "
            "torch.save(model.state_dict(), path)."
        )
    return {k.removeprefix("module."): v for k, v in state.items()}


def _to_classifier_keys(state: dict[str, torch.Tensor], model: Classifier) -> dict[str, Any]:
    if any(k.startswith("features.") for k in state):
        state = dict(state)
        for key, value in model.normalize.state_dict().items():
            state.setdefault(f"normalize.{key}", value)
        return state
    if "fc.weight" in state:  # a plain torchvision ResNet
        mapped = {f"features.{k}": v for k, v in state.items() if not k.startswith("fc.")}
        mapped["head.weight"], mapped["head.bias"] = state["fc.weight"], state["fc.bias"]
        mapped.update({f"normalize.{k}": v for k, v in model.normalize.state_dict().items()})
        return mapped
    raise UserError(
        "The original checkpoint is neither a state_dict of this project's models nor of a "
        "torchvision ResNet; export it as one of them."
    )


def _allcnn_width(state: dict[str, Any]) -> float | None:
    """The simplest AllCNN width_factor that gives a state_dict's two channel widths, if any."""
    first, wide = state.get("features.0.0.weight"), state.get("features.2.0.weight")
    if first is None or wide is None:
        return None
    for digits in (1, 2, 3, 4, 6):
        for factor in (round(wide.shape[0] / 192, digits), round(first.shape[0] / 96, digits)):
            if factor > 0 and (max(1, round(96 * factor)), max(1, round(192 * factor))) == (
                first.shape[0],
                wide.shape[0],
            ):
                return factor
    return None


def _misfit(
    path: Path,
    description: dict[str, Any],
    model: Classifier,
    state: dict[str, Any],
    exc: Exception,
) -> UserError:
    """Name the cause of a state_dict that does not load: another architecture (other layer
    names) or the same one at another size (same names, other shapes)."""
    architecture = description["architecture"]
    first_line = str(exc).splitlines()[0]
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        detail = f"it lacks {missing[0]}" if missing else f"it has {unexpected[0]}"
        return UserError(
            f"Original checkpoint {path} does not fit architecture '{architecture}' ({detail}, "
            f"one of {len(missing)} missing and {len(unexpected)} unexpected entries); set "
            "datasets.<name>.model.architecture to the one it was trained as."
        )
    key = next((k for k in own if own[k].shape != state[k].shape), None)
    mismatch = (
        f"{key} is {tuple(state[key].shape)}, not {tuple(own[key].shape)}" if key else first_line
    )
    width = _allcnn_width(state) if architecture == "allcnn" else None
    if width is not None:
        return UserError(
            f"Original checkpoint {path} does not fit architecture 'allcnn' at width_factor "
            f"{description.get('width_factor', 1.0):g}, being an allcnn of width_factor "
            f"{width:g} ({mismatch}); set datasets.<name>.model.width_factor to {width:g}."
        )
    fix = (
        "model.width_factor"
        if architecture == "allcnn"
        else "image_size (images of 64 px or less get a 3x3 stem, larger ones a 7x7 stem)"
    )
    return UserError(
        f"Original checkpoint {path} does not fit architecture '{architecture}' as configured, "
        f"having its layers at other sizes ({mismatch}); set datasets.<name>.{fix} to what it "
        "was trained with."
    )


def import_original(path: str | Path, description: dict[str, Any]) -> Classifier:
    """Build the architecture the description names, load the user's weights, and check that
    the model fits the dataset: its classes, channels and input size."""
    path = Path(path)
    model = build_from_description(description)
    state = _to_classifier_keys(_read_state(path), model)
    head = state.get("head.weight")
    if head is not None and head.shape[0] != description["num_classes"]:
        raise UserError(
            f"Original checkpoint {path} predicts {head.shape[0]} classes but the dataset has "
            f"{description['num_classes']}; use a model trained on this dataset's classes."
        )
    first_conv = next(
        (v for k, v in state.items() if k.startswith("features.") and v.ndim == 4), None
    )
    if first_conv is not None and first_conv.shape[1] != description["in_channels"]:
        raise UserError(
            f"Original checkpoint {path} takes {first_conv.shape[1]}-channel images but the "
            f"dataset has {description['in_channels']} channels; prepare the data with matching "
            "channels or use a matching model."
        )
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise _misfit(path, description, model, state, exc) from exc
    size = description["image_size"]
    try:
        with torch.inference_mode():
            out = model.eval()(torch.zeros(2, description["in_channels"], size, size))
    except RuntimeError as exc:
        raise UserError(
            f"Original checkpoint {path} cannot take {size}x{size} inputs "
            f"({str(exc).splitlines()[0]}); prepare the data at the size the model expects."
        ) from exc
    if out.shape != (2, description["num_classes"]):
        raise UserError(
            f"Original checkpoint {path} gives outputs of shape {tuple(out.shape[1:])} instead of "
            f"({description['num_classes']},); use a classifier for this dataset."
        )
    return model
