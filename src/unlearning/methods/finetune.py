"""Fine-tuning on the remain set (Golatkar et al. 2020; Warnecke et al. 2023).

The simplest baseline: keep training on D_r and rely on catastrophic forgetting to erase D_f.
"""

from __future__ import annotations

import logging

from torch import nn

from unlearning.hparams.finetune import DESCRIPTION, NAME, Params
from unlearning.methods.common import (
    fit_remain,
    require_samples,
    sgd,
    start_training,
)
from unlearning.methods.registry import UnlearningTask, register

log = logging.getLogger(__name__)


@register(NAME, Params, DESCRIPTION)
def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples("finetune", "remain", task.remain)
    model = task.model
    start_training(model)
    optimizer = sgd(model, params.lr, params.momentum, params.weight_decay)
    loss = fit_remain(task, model, optimizer, params.epochs, params.batch_size, "finetune")
    log.info(
        "finetune: %d epochs over %d remain samples; final loss %.4f",
        params.epochs,
        len(task.remain),
        float(loss.detach()),
    )
    return model
