"""CF-k, catastrophic forgetting of the last k layers (Goel et al. 2022, "Towards Adversarial
Evaluations for Inexact Machine Unlearning").

Freeze the network except its last k layers and fine-tune those on D_r. "The last k layers" are
defined per architecture in :mod:`unlearning.models.layers` (k = 1 is the head, each further layer
is a conv block of AllCNN or a residual block of a ResNet). Frozen means frozen: the frozen
layers' parameters get no gradients and their batch-norm statistics do not move. (Goel et al.'s
code only switches off gradients, so the running statistics of its frozen batch-norm layers keep
updating during the fine-tuning.)
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from unlearning.hparams.cf_k import DESCRIPTION, NAME, Params
from unlearning.methods.common import (
    fit_remain,
    require_samples,
    sgd,
)
from unlearning.methods.registry import UnlearningTask, register
from unlearning.models.layers import last_k_layers, train_only

log = logging.getLogger(__name__)


def train_units(
    task: UnlearningTask, units: list[nn.Module], params: Any, name: str
) -> torch.Tensor:
    """SGD with cross-entropy on D_r over the parameters of ``units`` only; the rest is frozen
    (see :func:`unlearning.models.layers.train_only`). ``params`` has the SGD fields (epochs, lr,
    momentum, weight_decay, batch_size) of cf_k's or eu_k's Params. Returns the last batch's
    loss."""
    model = task.model
    train_only(model, units)
    optimizer = sgd(model, params.lr, params.momentum, params.weight_decay)
    return fit_remain(task, model, optimizer, params.epochs, params.batch_size, name)


@register(NAME, Params, DESCRIPTION)
def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples("cf_k", "remain", task.remain)
    units = last_k_layers(task.model, params.k, method="cf_k")
    loss = train_units(task, units, params, "cf_k")
    log.info(
        "cf_k: last %d layers, %d epochs over %d remain samples; final loss %.4f",
        params.k,
        params.epochs,
        len(task.remain),
        float(loss.detach()),
    )
    return task.model
