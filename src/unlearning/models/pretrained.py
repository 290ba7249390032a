"""ImageNet initialisation of the torchvision ResNets (``model.pretrained: imagenet``).

Weights come from torchvision's own download, which verifies them and keeps them in the torch
hub cache; offline, they must already be in that cache, and the error says where.
"""

from __future__ import annotations

from pathlib import Path

import torch

from unlearning.errors import UserError
from unlearning.models.architectures import Classifier

WEIGHTS = {"resnet18": "ResNet18_Weights", "resnet50": "ResNet50_Weights"}
#: ``pretrained`` value -> torchvision weight version; ``imagenet_v2`` is ``ResNet50_Weights.
#: DEFAULT``, what the paper's reference code loads for its clinical ResNet-50.
VERSIONS = {"imagenet": "IMAGENET1K_V1", "imagenet_v2": "IMAGENET1K_V2"}


def imagenet_state(architecture: str, version: str = "imagenet") -> dict[str, torch.Tensor]:
    import torchvision

    if architecture not in WEIGHTS:
        raise UserError(
            f"pretrained: imagenet is available for {sorted(WEIGHTS)}, not '{architecture}'; "
            "remove pretrained or change the architecture."
        )
    family = getattr(torchvision.models, WEIGHTS[architecture])
    if not hasattr(family, VERSIONS[version]):
        raise UserError(
            f"pretrained: {version} is not available for {architecture}; use pretrained: imagenet."
        )
    weights = getattr(family, VERSIONS[version])
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    try:
        return weights.get_state_dict(progress=False, check_hash=True)
    except Exception as exc:  # URLError, socket errors, HTTP errors: all mean "not reachable"
        raise UserError(
            f"ImageNet weights for {architecture} are not in the torch cache and cannot be "
            f"downloaded ({type(exc).__name__}); put {Path(weights.url).name} at {cached} "
            "(torchvision's file) and rerun."
        ) from exc


def load_imagenet(model: Classifier, architecture: str, version: str = "imagenet") -> None:
    """Copy ImageNet weights into ``model.features``; the head stays freshly initialised.

    A stem adapted to small or non-RGB images keeps its own initialisation where shapes differ,
    except that a 7x7 stem on grey images takes the RGB kernels summed over colour.
    """
    state = {
        k: v for k, v in imagenet_state(architecture, version).items() if not k.startswith("fc.")
    }
    own = model.features.state_dict()
    conv1 = state.get("conv1.weight")
    if conv1 is not None and own["conv1.weight"].shape != conv1.shape:
        if own["conv1.weight"].shape == (conv1.shape[0], 1, *conv1.shape[2:]):
            state["conv1.weight"] = conv1.sum(dim=1, keepdim=True)
        else:
            del state["conv1.weight"]
    model.features.load_state_dict(state, strict=False)
