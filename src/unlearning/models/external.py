"""Bring your own model: load a user's trained weights as the original and check them against
the dataset before any unlearning runs on them.

Accepted checkpoints are weights only (``torch.load(weights_only=True)``), a state_dict of:

- this project's ``Classifier`` (keys ``normalize.*``, ``features.*``, ``head.*``);
- a plain torchvision ResNet (``conv1.*`` ... ``fc.*``), whose ``fc`` becomes the head;
- the paper's reference code (monkeygobah/unlearning_langevin, ``models.py``): its ``AllCNN``
  (``features.*``, head ``classifier.0``), whose ``features`` hold ``Identity`` (or dropout)
  placeholders at ``features.3`` and ``features.7`` and end in a fixed 8x8 average pool, and its
  ``CustomResNet`` (``resnet_base.*``, head ``_classifier.1`` after a dropout).

Models without a normalisation layer (all but this project's) use the description's mean and
std (the config's ``normalization`` or the dataset's statistics). A ``module.`` prefix (a model
saved inside ``DataParallel``) is dropped. A whole pickled model, which is how the reference code
saves its models, is refused with the one line that turns it into a state_dict.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from unlearning.errors import UserError
from unlearning.models.architectures import Classifier, build_from_description

#: The reference AllCNN's convolution blocks in its ``features``; 3 and 7 are its ``Identity``
#: (or dropout) placeholders, 10 its ``AvgPool2d(8)`` and 11 its flatten.
REFERENCE_ALLCNN_BLOCKS = (0, 1, 2, 4, 5, 6, 8, 9)

#: The side of the reference AllCNN's last feature map that its ``AvgPool2d(8)`` averages whole.
REFERENCE_ALLCNN_MAP = 8


def _holds_module(path: Path) -> bool:
    """Whether a checkpoint that is not weights-only pickles torch modules (a whole model)."""
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # not a zip checkpoint, or a torch without this helper
        return False
    return any(name.startswith(("torch.nn.modules.", "torch.nn.parallel.")) for name in names)


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    if not path.exists():
        raise UserError(
            f"Original checkpoint {path} does not exist; fix datasets.<name>.original.checkpoint "
            "in the config."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated files and pickled objects raise several types
        if _holds_module(path):
            raise UserError(
                f"Original checkpoint {path} holds a whole pickled model, not a state_dict; load "
                "it where its class is defined and save its weights with "
                "torch.save(model.state_dict(), path) (model.module.state_dict() for a model "
                "inside DataParallel)."
            ) from exc
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


def _normalize_state(model: Classifier) -> dict[str, torch.Tensor]:
    return {f"normalize.{k}": v for k, v in model.normalize.state_dict().items()}


def _from_reference_allcnn(
    path: Path, state: dict[str, torch.Tensor], model: Classifier, description: dict[str, Any]
) -> dict[str, Any]:
    """Rename a reference AllCNN's keys to ours: its blocks 0-2, 4-6, 8-9 are our conv blocks in
    order (the same indices when our AllCNN has dropout layers), ``classifier.0`` our head."""
    if description["architecture"] != "allcnn":
        raise UserError(
            f"Original checkpoint {path} is an AllCNN of the paper's reference code, not a "
            f"{description['architecture']}; set datasets.<name>.model.architecture to allcnn."
        )
    side = description["image_size"]
    final = math.ceil(math.ceil(side / 2) / 2)  # after two stride-2 convolutions
    if final != REFERENCE_ALLCNN_MAP:
        raise UserError(
            f"Original checkpoint {path} is an AllCNN of the paper's reference code, whose fixed "
            f"8x8 average pool gives its logits only for images of 29 to 32 px, not {side} px; "
            "prepare the data at image_size 32, as the reference did."
        )
    ours = [i for i, layer in enumerate(model.features) if isinstance(layer, nn.Sequential)]
    blocks = dict(zip(REFERENCE_ALLCNN_BLOCKS, ours, strict=True))
    mapped = _normalize_state(model)
    for key, value in state.items():
        parts = key.split(".", 2)
        if key.startswith("classifier.0."):
            mapped[f"head.{key.removeprefix('classifier.0.')}"] = value
        elif len(parts) == 3 and parts[0] == "features" and parts[1].isdigit():
            if int(parts[1]) not in blocks:
                raise UserError(
                    f"Original checkpoint {path} has {key}, which the reference AllCNN's "
                    "placeholders, pool and flatten do not have; export the AllCNN of the "
                    "reference's models.py unchanged."
                )
            mapped[f"features.{blocks[int(parts[1])]}.{parts[2]}"] = value
        else:
            raise UserError(
                f"Original checkpoint {path} has {key}, which the reference AllCNN does not "
                "have; export the AllCNN of the reference's models.py unchanged."
            )
    return mapped


def _from_reference_resnet(path: Path, state: dict[str, torch.Tensor], model: Classifier):
    """Rename a reference CustomResNet's keys to ours: ``resnet_base`` (its ``fc`` an
    ``Identity``) is our features, ``_classifier.1`` (after its dropout) our head."""
    mapped = _normalize_state(model)
    for key, value in state.items():
        if key.startswith("resnet_base."):
            mapped[f"features.{key.removeprefix('resnet_base.')}"] = value
        elif key.startswith("_classifier.1."):
            mapped[f"head.{key.removeprefix('_classifier.1.')}"] = value
        else:
            raise UserError(
                f"Original checkpoint {path} has {key}, which the reference CustomResNet does "
                "not have; export the CustomResNet of the reference's models.py unchanged."
            )
    return mapped


def _to_classifier_keys(
    path: Path, state: dict[str, torch.Tensor], model: Classifier, description: dict[str, Any]
) -> dict[str, Any]:
    if "classifier.0.weight" in state and "head.weight" not in state:
        return _from_reference_allcnn(path, state, model, description)
    if "_classifier.1.weight" in state:
        return _from_reference_resnet(path, state, model)
    if any(k.startswith("features.") for k in state):
        state = dict(state)
        for key, value in model.normalize.state_dict().items():
            state.setdefault(f"normalize.{key}", value)
        return state
    if "fc.weight" in state:  # a plain torchvision ResNet
        mapped = {f"features.{k}": v for k, v in state.items() if not k.startswith("fc.")}
        mapped["head.weight"], mapped["head.bias"] = state["fc.weight"], state["fc.bias"]
        mapped.update(_normalize_state(model))
        return mapped
    raise UserError(
        f"Original checkpoint {path} is a state_dict of neither this project's models, a "
        "torchvision ResNet nor the paper's reference AllCNN or CustomResNet; export it as one "
        "of them."
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
    state = _to_classifier_keys(path, _read_state(path), model, description)
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
