"""SalUn, saliency unlearning (Fan et al., "SalUn: Empowering Machine Unlearning via Gradient-based
Weight Saliency in Both Image Classification and Generation", ICLR 2024).

1. Saliency mask: the gradient of the forget loss (cross-entropy summed over D_f, model in eval
   mode) with respect to every weight; the mask keeps the ``mask_fraction`` of weights with the
   largest absolute gradient, one global threshold over all parameters (the paper's
   ``m_S = 1(|grad l_f| >= gamma)`` with gamma the top-k value; the authors' ``generate_mask.py``
   ranks the concatenated gradients the same way).
2. Random-label unlearning (``random_label.py``, whose loop this reuses) in which only masked
   weights move. Before each optimizer step the weight decay is added to the gradient by hand and
   the gradient of every unmasked weight is set to zero; the optimizer itself runs without weight
   decay. SGD's momentum buffer of an unmasked weight therefore stays exactly zero and the weight
   is bit-for-bit unchanged, while masked weights get exactly the update SGD with weight decay
   would give them. Tensors with no masked entry are frozen altogether (no gradient computed).
   ``epoch_structure`` is random_label's: ``paired`` (default) or ``salun``, the authors' forget
   pass then remain pass per epoch with labels drawn over all classes; the mask holds on every
   step of both passes, as in their ``RL.py``.

Batch-norm running statistics are buffers, not weights: they follow the model's train mode as in
the authors' code.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from unlearning.lazy import F, torch
from unlearning.methods import random_label
from unlearning.methods.base import Number, param
from unlearning.methods.common import require_samples, sgd, start_training
from unlearning.methods.registry import UnlearningTask

if TYPE_CHECKING:
    from torch import nn

    from unlearning.data.imageset import ImageSet

log = logging.getLogger(__name__)

DESCRIPTION = "SalUn: random labels on the most forget-salient weights (Fan 2024)"

_README = (
    "SalUn command of the authors' Classification README (main_random.py --unlearn RL "
    "--unlearn_epochs 10 --unlearn_lr 0.1 --path <mask>)"
)


@dataclass
class Params(random_label.Params):
    """random_label's parameters (the optimizer of the authors' ``arg_parser.py``: SGD, momentum
    0.9, weight decay 5e-4, batch size 256) at the authors' SalUn setting, and the share of all
    weights that may change."""

    lr: float = param(0.1, source=_README)
    epochs: int = param(10, source=_README)
    mask_fraction: float = param(
        0.5, Number(0.0, 1.0, low_open=True), source="the sparsity of the paper's saliency mask"
    )


def saliency_mask(
    model: nn.Module,
    forget: ImageSet,
    fraction: float,
    device: torch.device,
    batch_size: int,
) -> dict[str, torch.Tensor]:
    """Boolean masks (one per named parameter, on the parameter's device) that are True for the
    ``round(fraction * n)`` weights with the largest ``|d CE_sum(D_f) / d w|`` over the model.

    Ties at the threshold go to the weight that comes first in ``named_parameters`` order (a
    stable sort), so exactly that many weights are kept, on any device. The model's mode and
    ``requires_grad`` flags are restored and no ``.grad`` is written.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if len(forget) == 0:
        raise ValueError("the forget set is empty")
    named = list(model.named_parameters())
    params = [p for _, p in named]
    flags = [p.requires_grad for p in params]
    was_training = model.training
    sums = [torch.zeros_like(p) for p in params]
    try:
        model.eval()
        for p in params:
            p.requires_grad_(True)
        with torch.enable_grad():
            for x, y in forget.batches(batch_size, device=device):
                loss = F.cross_entropy(model(x), y, reduction="sum")
                grads = torch.autograd.grad(loss, params, allow_unused=True)
                for total, g in zip(sums, grads, strict=True):
                    if g is not None:
                        total.add_(g)
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)
        model.train(was_training)

    scores = torch.cat([g.abs().flatten() for g in sums])
    n = scores.numel()
    keep = min(n, max(1, math.floor(fraction * n + 0.5)))
    order = torch.sort(scores, descending=True, stable=True).indices
    flat = torch.zeros(n, dtype=torch.bool, device=scores.device)
    flat[order[:keep]] = True
    masks, start = {}, 0
    for (name, p), g in zip(named, sums, strict=True):
        masks[name] = flat[start : start + g.numel()].view_as(g).to(p.device)
        start += g.numel()
    return masks


def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples(params.method, "forget", task.forget)
    require_samples(params.method, "remain", task.remain)
    model = task.model
    mask = saliency_mask(model, task.forget, params.mask_fraction, task.device, params.batch_size)
    start_training(model)
    masked: list[tuple[torch.Tensor, torch.Tensor]] = []  # (weight, its unmasked entries)
    for name, p in model.named_parameters():
        if mask[name].any():
            masked.append((p, ~mask[name]))
        else:
            p.requires_grad_(False)  # no entry may change: compute no gradient for it
    optimizer = sgd(model, params.lr, params.momentum, weight_decay=0.0)
    decay = params.weight_decay

    def restrict_to_mask(step: int, total: int) -> None:
        with torch.no_grad():
            for p, frozen in masked:
                if p.grad is None:
                    continue
                if decay:
                    p.grad.add_(p, alpha=decay)  # what SGD's weight_decay would add
                p.grad.masked_fill_(frozen, 0.0)

    random_label.train_random_labels(task, params, optimizer, restrict_to_mask)
    model.requires_grad_(True)  # leave the model as the other methods do
    log.info(
        "salun: %d of %d weights were salient and could change",
        sum(int(m.sum()) for m in mask.values()),
        sum(m.numel() for m in mask.values()),
    )
    return model
