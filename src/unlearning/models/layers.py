"""What "the last k layers" of a model are, defined once for every architecture; re-initialisation.

CF-k and EU-k (Goel et al. 2022) fine-tune or re-initialise "the last k layers". A *layer* here is
a unit that a network is built from, counted from the output side:

- **AllCNN**: each conv block of ``features`` (an ``nn.Sequential`` of Conv-BN-ReLU; there are
  eight) and the classifier ``head``. Dropout, pooling and flatten hold no weights and are not
  units.
- **ResNet** (torchvision resnet18 / resnet50): each residual block (``BasicBlock`` or
  ``Bottleneck``) of ``layer1`` .. ``layer4`` (8 for resnet18, 16 for resnet50) and the ``head``.
  The stem (``conv1``, ``bn1``) is not a unit, so it is never among the last k.

So k = 1 is the head alone, k = 2 the head and the last conv block / last residual block, and so
on. Goel et al.'s code counts every Conv2d and Linear separately instead; blocks are used here so
that a unit is the same kind of thing in both families and a residual block is never split
(a block whose second convolution is trained but whose first is frozen is not a meaningful layer
of a ResNet).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from unlearning.errors import UserError

RESNET_STAGES = ("layer1", "layer2", "layer3", "layer4")


def layer_units(model: nn.Module) -> list[nn.Module]:
    """Every unit of ``model`` in forward order (input side first, the head last).

    ``model`` is a :class:`~unlearning.models.architectures.Classifier`; the family is recognised
    from its ``features`` (a torchvision ResNet has ``layer1`` .. ``layer4``, AllCNN is a
    ``Sequential`` of conv blocks).
    """
    features = getattr(model, "features", None)
    head = getattr(model, "head", None)
    if features is None or not isinstance(head, nn.Module):
        raise ValueError("layer_units needs a Classifier (normalize -> features -> head)")
    if all(hasattr(features, stage) for stage in RESNET_STAGES):
        blocks = [block for stage in RESNET_STAGES for block in getattr(features, stage)]
    elif isinstance(features, nn.Sequential):
        blocks = [
            block
            for block in features
            if isinstance(block, nn.Sequential) and any(isinstance(m, nn.Conv2d) for m in block)
        ]
    else:
        raise ValueError(
            f"unknown feature extractor {type(features).__name__}; expected AllCNN or ResNet"
        )
    if not blocks:
        raise ValueError("the feature extractor has no conv or residual blocks")
    return [*blocks, head]


def last_k_layers(model: nn.Module, k: int, *, method: str | None = None) -> list[nn.Module]:
    """The last ``k`` units of ``model`` (see the module docstring), ordered from the input side.

    A ``k`` outside 1 .. number of units is a user error naming the config key
    ``methods.<method>.params.k``.
    """
    units = layer_units(model)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(units):
        where = f"methods.{method}.params.k" if method else "k"
        prefix = f"{method}: " if method else ""
        raise UserError(
            f"{prefix}k must be an integer from 1 to {len(units)} for this model "
            f"({len(units) - 1} blocks and the head), got {k!r}; fix {where} in the config."
        )
    return units[-k:]


def reinitialise(modules: Iterable[nn.Module], generator: torch.Generator) -> None:
    """Re-initialise every weight inside ``modules``, deterministically from ``generator``.

    Convolutions and linear layers get PyTorch's default initialisation (their own
    ``reset_parameters``), driven by a seed drawn from ``generator``: the draws happen on the CPU
    under a forked RNG, so the result is the same on every device and the global RNG is untouched.
    Batch-norm layers get weight 1, bias 0 and fresh running statistics.
    """
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        for module in modules:
            for m in module.modules():
                if isinstance(m, _BatchNorm):
                    m.reset_parameters()  # running stats, weight 1, bias 0; draws nothing
                elif hasattr(m, "reset_parameters") and any(True for _ in m.parameters(False)):
                    device = next(m.parameters(False)).device
                    m.to("cpu")
                    m.reset_parameters()
                    m.to(device)


def train_only(model: nn.Module, units: Iterable[nn.Module]) -> None:
    """Freeze ``model`` except ``units``: only their parameters get gradients, and batch-norm
    layers outside them keep their running statistics (eval mode) while the model trains.

    Everything else (e.g. dropout) is in train mode, as in ordinary training.
    """
    model.requires_grad_(False)
    model.train()
    trainable: set[int] = set()
    for unit in units:
        unit.requires_grad_(True)
        trainable.update(id(m) for m in unit.modules())
    for m in model.modules():
        if isinstance(m, _BatchNorm) and id(m) not in trainable:
            m.eval()
