"""NegGrad+ (Kurmanji et al., "Towards Unbounded Machine Unlearning", NeurIPS 2023).

Descend on the remain set while ascending on the forget set, weighted by alpha:
``alpha * CE(D_r batch) - (1 - alpha) * CE(D_f batch)``. One epoch is one pass over D_r; forget
batches cycle alongside, as in the authors' ``train_negrad`` loop (zip with ``cycle``).
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

from unlearning.hparams.neggrad import DESCRIPTION, NAME, Params
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


@register(NAME, Params, DESCRIPTION)
def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples("neggrad", "forget", task.forget)
    require_samples("neggrad", "remain", task.remain)
    model, device, generator = task.model, task.device, task.generator
    start_training(model)
    optimizer = sgd(model, params.lr, params.momentum, params.weight_decay)
    forget = task.forget.forever(params.batch_size, device=device, generator=generator)
    total = params.epochs * num_batches(len(task.remain), params.batch_size)
    loss = torch.zeros(())
    with progress_bar(task, total, "neggrad") as bar:
        for epoch in range(params.epochs):
            batches = task.remain.batches(
                params.batch_size, device=device, shuffle=True, generator=generator
            )
            for x_r, y_r in batches:
                x_f, y_f = next(forget)
                loss = params.alpha * F.cross_entropy(model(x_r), y_r) - (
                    1.0 - params.alpha
                ) * F.cross_entropy(model(x_f), y_f)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                show_step(bar, epoch, loss)
    log.info(
        "neggrad: %d epochs over %d remain samples; final loss %.4f",
        params.epochs,
        len(task.remain),
        float(loss.detach()),
    )
    return model
