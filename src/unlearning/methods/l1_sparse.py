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

import logging

import torch
import torch.nn.functional as F
from torch import nn

from unlearning.hparams.l1_sparse import DESCRIPTION, NAME, Params
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


def l1_coefficient(alpha: float, step: int, total: int) -> float:
    """The ℓ1 weight at step ``step`` (0-based) of ``total``: ``alpha`` at the first step, falling
    linearly to 0 at ``step == total`` (the end of training)."""
    return alpha * max(0.0, 1.0 - step / total)


@register(NAME, Params, DESCRIPTION)
def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples("l1_sparse", "remain", task.remain)
    model, device, generator = task.model, task.device, task.generator
    start_training(model)
    optimizer = sgd(model, params.lr, params.momentum, params.weight_decay)
    weights = [p for p in model.parameters() if p.requires_grad]
    total = params.epochs * num_batches(len(task.remain), params.batch_size)
    loss = torch.zeros(())
    step = 0
    with progress_bar(task, total, "l1_sparse") as bar:
        for epoch in range(params.epochs):
            batches = task.remain.batches(
                params.batch_size, device=device, shuffle=True, generator=generator
            )
            for x, y in batches:
                loss = F.cross_entropy(model(x), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                alpha_t = l1_coefficient(params.alpha, step, total)
                if alpha_t > 0.0:
                    with torch.no_grad():
                        for p in weights:
                            if p.grad is not None:
                                p.grad.add_(p.sign(), alpha=alpha_t)
                optimizer.step()
                step += 1
                show_step(bar, epoch, loss, params.epochs)
    log.info(
        "l1_sparse: %d epochs over %d remain samples, l1 weight %.3g -> 0; final CE %.4f",
        params.epochs,
        len(task.remain),
        params.alpha,
        float(loss.detach()),
    )
    return model
