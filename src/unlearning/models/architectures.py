"""AllCNN and torchvision ResNets behind one interface: pixels in [0, 1] -> logits.

Normalisation is the model's first layer, so every perturbation, clamp and distance in the
methods stays in pixel space (docs/architecture.md, Pixel space). Each model is
``normalize -> features -> head``: ``features`` ends in the flat penultimate embedding and
``head`` is the final linear layer, which is what model composition and the t-SNE embeddings
need.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from unlearning.errors import UserError

ARCHITECTURES = ("allcnn", "resnet18", "resnet50")


class Normalize(nn.Module):
    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer(
            "mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1)
        )
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class Classifier(nn.Module):
    def __init__(self, normalize: Normalize, features: nn.Module, head: nn.Linear) -> None:
        super().__init__()
        self.normalize = normalize
        self.features = features
        self.head = head

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer embedding of pixel inputs."""
        return self.features(self.normalize(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def _conv_block(c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def allcnn_features(in_channels: int, width_factor: float = 1.0, dropout: float = 0.0) -> nn.Module:
    """AllCNN (Springenberg et al. 2015) with batch norm, as in Boundary Shrink and the paper."""
    w1 = max(1, round(96 * width_factor))
    w2 = max(1, round(192 * width_factor))
    layers: list[nn.Module] = [
        _conv_block(in_channels, w1),
        _conv_block(w1, w1),
        _conv_block(w1, w2, stride=2),
    ]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers += [
        _conv_block(w2, w2),
        _conv_block(w2, w2),
        _conv_block(w2, w2, stride=2),
    ]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers += [
        _conv_block(w2, w2),
        _conv_block(w2, w2, kernel=1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    ]
    return nn.Sequential(*layers)


def _resnet_features(
    arch: str, in_channels: int, image_size: int, dropout: float = 0.0
) -> tuple[nn.Module, int]:
    """A randomly initialised torchvision ResNet without its ``fc``.

    ``dropout`` > 0 puts dropout before the head, as the paper's clinical ResNet-50 has it
    (``Dropout(0.5)`` then ``Linear``); it takes the place of ``fc``, so it holds no weights and
    the state-dict keys do not change.

    For inputs of 64 pixels or less the stem becomes a 3x3 stride-1 convolution without max
    pooling (the usual CIFAR adaptation); otherwise a 7x7 stride-2 stem as in torchvision,
    rebuilt only when the channel count differs from 3.
    """
    import torchvision  # imported here: it costs about a second, and AllCNN runs do not need it

    net = getattr(torchvision.models, arch)(weights=None)
    if image_size <= 64:
        net.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
    elif in_channels != 3:
        net.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
    width = net.fc.in_features
    net.fc = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
    return net, width


def build_model(
    architecture: str,
    num_classes: int,
    in_channels: int,
    image_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    width_factor: float = 1.0,
    dropout: float = 0.0,
) -> Classifier:
    if architecture == "allcnn":
        features = allcnn_features(in_channels, width_factor, dropout)
        width = max(1, round(192 * width_factor))
    elif architecture in ("resnet18", "resnet50"):
        if width_factor != 1:
            raise UserError(
                f"width_factor {width_factor} was asked of {architecture}, which is built at its "
                "standard width only; remove model.width_factor or use architecture allcnn."
            )
        features, width = _resnet_features(architecture, in_channels, image_size, dropout)
    else:
        raise ValueError(f"unknown architecture {architecture!r}; choose one of {ARCHITECTURES}")
    return Classifier(Normalize(mean, std), features, nn.Linear(width, num_classes))


def build_from_description(description: dict) -> Classifier:
    """A fresh model of the architecture a checkpoint description (``model.json``) names."""
    return build_model(
        description["architecture"],
        description["num_classes"],
        description["in_channels"],
        description["image_size"],
        description["mean"],
        description["std"],
        width_factor=description.get("width_factor", 1.0),
        dropout=description.get("dropout", 0.0),
    )
