"""Boundary Expanding (Chen et al., "Boundary Unlearning: Rapid Forgetting of Deep Networks via
Shifting the Decision Boundary", CVPR 2023).

The head gains one shadow output unit; the whole network is fine-tuned so that every forget sample
is classified into the shadow class; then the shadow unit is removed. The forget samples are left
in the region of feature space the shadow class took over, and without that unit they fall to
whichever remaining class is nearest.

Follows the authors' ``boundary_expanding``: the widened head copies the trained rows, the
shadow row is Xavier-normal with zero bias (their ``init_params``), all weights train with SGD
(lr 1e-5, momentum 0.9, no weight decay) for 10 passes over D_f (CIFAR; 8 on MNIST) with
batches of 64, and the pruned head keeps the first ``num_classes`` rows.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from unlearning.errors import UserError
from unlearning.lazy import F, nn, torch
from unlearning.methods.base import BN_MODES, Choice, SGDParams, param
from unlearning.methods.common import fit, require_samples, start_training
from unlearning.methods.registry import UnlearningTask

DESCRIPTION = "Boundary Expanding: train D_f into a shadow class (Chen et al. 2023)"

_CHEN = "Chen et al.'s CIFAR settings for boundary_expanding (SGD lr 1e-5, no weight decay)"

log = logging.getLogger(__name__)


@dataclass
class Params(SGDParams):
    """Chen et al.'s CIFAR settings: SGD lr 1e-5, momentum 0.9, no weight decay, 10 epochs over
    the forget set, batch size 64 (their ``--batch_size`` default)."""

    lr: float = param(1e-5, source=_CHEN)
    weight_decay: float = param(0.0, source=_CHEN)
    epochs: int = param(10, source="Chen et al.'s CIFAR setting (8 on MNIST)")
    bn_mode: str = param(
        "train",
        Choice(BN_MODES),
        source="their loop calls widen_model.train() (and as in boundary_shrink)",
    )


def linear_head(model: nn.Module) -> nn.Linear:
    head = getattr(model, "head", None)
    if not isinstance(head, nn.Linear):
        raise UserError(
            "boundary_expand: the model has no linear 'head' layer to widen; use a model built "
            "by unlearning.models (allcnn, resnet18, resnet50)."
        )
    return head


def _empty_linear(width: int, outputs: int, like: nn.Linear) -> nn.Linear:
    """An uninitialised Linear on ``like``'s device and dtype; built on the meta device so that
    no draw from the global random state is spent on values that are overwritten."""
    layer = nn.Linear(
        width, outputs, bias=like.bias is not None, device="meta", dtype=like.weight.dtype
    )
    return layer.to_empty(device=like.weight.device)


def widen(head: nn.Linear, generator: torch.Generator) -> nn.Linear:
    """A copy of ``head`` with one more output: rows 0..n-1 are the trained ones, row n (the
    shadow class) is Xavier-normal (fan_out = n + 1, as the authors initialise the whole widened
    layer before copying) with zero bias. The draw is made on the CPU from ``generator``."""
    n, width = head.out_features, head.in_features
    wide = _empty_linear(width, n + 1, head)
    std = math.sqrt(2.0 / (width + n + 1))
    shadow = torch.randn(width, generator=generator) * std
    with torch.no_grad():
        wide.weight[:n].copy_(head.weight)
        wide.weight[n].copy_(shadow.to(wide.weight))
        if head.bias is not None:
            wide.bias[:n].copy_(head.bias)
            wide.bias[n].zero_()
    return wide


def prune(wide: nn.Linear, num_classes: int) -> nn.Linear:
    """Drop the shadow unit: a Linear with the first ``num_classes`` rows of ``wide``."""
    narrow = _empty_linear(wide.in_features, num_classes, wide)
    with torch.no_grad():
        narrow.weight.copy_(wide.weight[:num_classes])
        if wide.bias is not None:
            narrow.bias.copy_(wide.bias[:num_classes])
    return narrow


def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples(params.method, "forget", task.forget)
    model, device = task.model, task.device
    head = linear_head(model)
    n = head.out_features
    model.head = widen(head, task.generator)
    start_training(model, params.bn_mode)
    in_shadow = torch.zeros((), dtype=torch.long, device=device)
    seen = 0  # forget samples of the current epoch so far

    def into_shadow(model: nn.Module, x: torch.Tensor, _: torch.Tensor) -> torch.Tensor:
        nonlocal seen
        if seen == len(task.forget):  # a new epoch: count its predictions only
            in_shadow.zero_()
            seen = 0
        seen += x.shape[0]
        logits = model(x)
        in_shadow.add_((logits.detach().argmax(dim=1) == n).sum())
        return F.cross_entropy(
            logits, torch.full((x.shape[0],), n, dtype=torch.long, device=device)
        )

    fit(task, params, task.forget, into_shadow, data_name="forget")
    model.head = prune(model.head, n)
    log.info(
        "boundary_expand: last epoch %.1f%% of the forget samples predicted as the shadow class",
        100.0 * int(in_shadow) / len(task.forget),
    )
    return model
