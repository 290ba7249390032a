"""ℓ1-sparse unlearning (Jia et al., "Model Sparsity Can Simplify Machine Unlearning", NeurIPS
2023): fine-tune on D_r with the loss ``CE + alpha_t * ||theta||_1``.

The ℓ1 weight ``alpha_t`` decays linearly from ``alpha`` at the first step to 0 at the end of
training (the paper's "linear decay" scheme, which it found best). The authors' ``FT_l1`` applies
``alpha * (1 - epoch / epochs)`` per epoch; here the same line is followed per step,
``alpha * (1 - t / T)`` for step t of T. As in their ``l1_regularization``, the norm covers every
parameter (biases and batch-norm affine weights too).

The penalty's gradient, ``alpha_t * sign(theta)``, is added to the parameter gradients directly
after the cross-entropy backward pass: the same gradient as back-propagating through the norm,
without building the norm into the autograd graph at every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from unlearning.lazy import torch
from unlearning.methods.base import Number, SGDParams, param
from unlearning.methods.common import fit, require_samples, start_training
from unlearning.methods.registry import UnlearningTask

if TYPE_CHECKING:
    from torch import nn

DESCRIPTION = "Fine-tune on remain with a decaying l1 penalty (Jia et al. 2023)"


@dataclass
class Params(SGDParams):
    """The authors' l1-sparse command, with the optimizer of their ``arg_parser.py`` (SGD,
    momentum 0.9, weight decay 5e-4, batch size 256). An epoch is a pass over the remain set."""

    alpha: float = param(
        5e-4,
        Number(0.0),
        source="the l1 weight (the paper's gamma) of Jia et al.'s sparsity-aware unlearning; "
        "decayed linearly to 0",
    )
    epochs: int = param(
        10, source="README of OPTML-Group/Unlearn-Sparse (--unlearn_lr 0.01 --unlearn_epochs 10)"
    )
    batch_size: int = param(256, source="arg_parser.py of the same code")


def l1_coefficient(alpha: float, step: int, total: int) -> float:
    """The ℓ1 weight at step ``step`` (0-based) of ``total``: ``alpha`` at the first step, falling
    linearly to 0 at ``step == total`` (the end of training)."""
    return alpha * max(0.0, 1.0 - step / total)


def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples(params.method, "remain", task.remain)
    model = task.model
    start_training(model)
    weights = [p for p in model.parameters() if p.requires_grad]

    def add_penalty(step: int, total: int) -> None:
        alpha_t = l1_coefficient(params.alpha, step, total)
        if alpha_t > 0.0:
            with torch.no_grad():
                for p in weights:
                    if p.grad is not None:
                        p.grad.add_(p.sign(), alpha=alpha_t)

    fit(task, params, task.remain, after_backward=add_penalty)
    return model
