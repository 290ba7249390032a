"""Gradient ascent on the forget set (Thudi et al. 2022, "Unrolling SGD"; the "GA" baseline of the
SalUn and Unlearn-Sparse benchmarks).

Maximise the cross-entropy of D_f: SGD on ``-CE(D_f batch)``, one epoch being one shuffled pass
over the forget set. The remain set is never touched, so nothing holds the rest of the model in
place; a small learning rate and few epochs are what keep it usable.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

from unlearning.hparams.grad_ascent import DESCRIPTION, NAME, Params
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
    require_samples("grad_ascent", "forget", task.forget)
    model, device, generator = task.model, task.device, task.generator
    start_training(model)  # the authors' GA runs in train mode
    optimizer = sgd(model, params.lr, params.momentum, params.weight_decay)
    total = params.epochs * num_batches(len(task.forget), params.batch_size)
    loss = torch.zeros(())
    with progress_bar(task, total, "grad_ascent") as bar:
        for epoch in range(params.epochs):
            batches = task.forget.batches(
                params.batch_size, device=device, shuffle=True, generator=generator
            )
            for x, y in batches:
                loss = -F.cross_entropy(model(x), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                show_step(bar, epoch, loss, params.epochs)
    log.info(
        "grad_ascent: %d epochs over %d forget samples; final forget CE %.4f",
        params.epochs,
        len(task.forget),
        -float(loss.detach()),
    )
    return model
