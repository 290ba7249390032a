"""Fine-tuning on the remain set (Golatkar et al. 2020; Warnecke et al. 2023).

The simplest baseline: keep training on D_r and rely on catastrophic forgetting to erase D_f.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from unlearning.methods.base import SGDParams
from unlearning.methods.common import fit, require_samples, start_training
from unlearning.methods.registry import UnlearningTask

if TYPE_CHECKING:
    from torch import nn

DESCRIPTION = "Fine-tune on the remain set (Golatkar et al. 2020)"


@dataclass
class Params(SGDParams):
    """SGD on D_r with :class:`~unlearning.methods.base.SGDParams`' defaults, the usual CIFAR
    fine-tuning baseline: 5 epochs at lr 0.01, momentum 0.9, weight decay 5e-4, batch 64."""


def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples(params.method, "remain", task.remain)
    start_training(task.model)
    fit(task, params, task.remain)
    return task.model
