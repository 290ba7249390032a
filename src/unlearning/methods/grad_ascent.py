"""Gradient ascent on the forget set (Thudi et al. 2022, "Unrolling SGD"; the "GA" baseline of the
SalUn and Unlearn-Sparse benchmarks).

Maximise the cross-entropy of D_f: SGD on ``-CE(D_f batch)``, one epoch being one shuffled pass
over the forget set. The remain set is never touched, so nothing holds the rest of the model in
place; a small learning rate and few epochs are what keep it usable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from unlearning.methods.common import (
    check_optimizer,
    num_batches,
    progress_bar,
    require_samples,
    sgd,
    show_step,
    start_training,
)
from unlearning.methods.registry import UnlearningTask, register

log = logging.getLogger(__name__)


@dataclass
class Params:
    """Defaults are the CIFAR-10 GA setting of the authors' code (OPTML-Group/Unlearn-Sparse and
    Unlearn-Saliency READMEs: ``--unlearn GA --unlearn_epochs 5 --unlearn_lr 0.0001``) with the
    optimizer of their ``arg_parser.py`` (SGD, momentum 0.9, weight decay 5e-4, batch size 256)."""

    epochs: int = 5  # passes over the forget set
    lr: float = 1e-4
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256

    def __post_init__(self) -> None:
        check_optimizer("grad_ascent", self)


@register("grad_ascent", Params, "Gradient ascent on the forget set (Thudi et al. 2022)")
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
