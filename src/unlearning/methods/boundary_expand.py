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

import torch
import torch.nn.functional as F
from torch import nn

from unlearning.errors import UserError
from unlearning.hparams.boundary_expand import DESCRIPTION, NAME, Params
from unlearning.methods.common import (
    num_batches,
    progress_bar,
    require_samples,
    sgd,
    show_step,
    start_training,
)
from unlearning.methods.registry import UnlearningTask, register

log = logging.getLogger(__name__)


def linear_head(model: nn.Module) -> nn.Linear:
    head = getattr(model, "head", None)
    if not isinstance(head, nn.Linear):
        raise UserError(
            f"{NAME}: the model has no linear 'head' layer to widen; use a model built by "
            "unlearning.models (allcnn, resnet18, resnet50)."
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


@register(NAME, Params, DESCRIPTION)
def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples(NAME, "forget", task.forget)
    model, device, generator = task.model, task.device, task.generator
    head = linear_head(model)
    n = head.out_features
    model.head = widen(head, generator)
    start_training(model, params.bn_mode)
    optimizer = sgd(model, params.lr, params.momentum, params.weight_decay)
    total = params.epochs * num_batches(len(task.forget), params.batch_size)
    loss = torch.zeros(())
    in_shadow = torch.zeros((), dtype=torch.long, device=device)
    with progress_bar(task, total, NAME) as bar:
        for epoch in range(params.epochs):
            in_shadow.zero_()
            batches = task.forget.batches(
                params.batch_size, device=device, shuffle=True, generator=generator
            )
            for x, _ in batches:
                shadow = torch.full((x.shape[0],), n, dtype=torch.long, device=device)
                logits = model(x)
                loss = F.cross_entropy(logits, shadow)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                in_shadow += (logits.detach().argmax(dim=1) == n).sum()
                show_step(bar, epoch, loss)
    model.head = prune(model.head, n)
    log.info(
        "%s: %d epochs over %d forget samples; last epoch %.1f%% predicted as the shadow class; "
        "final loss %.4f",
        NAME,
        params.epochs,
        len(task.forget),
        100.0 * int(in_shadow) / len(task.forget),
        float(loss.detach()),
    )
    return model
