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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from unlearning.lazy import lazy
from unlearning.methods.base import Integer, SGDParams, param
from unlearning.methods.common import fit, require_samples
from unlearning.methods.registry import UnlearningTask

if TYPE_CHECKING:
    from torch import nn

    from unlearning.models import layers
else:
    layers = lazy("unlearning.models.layers")

DESCRIPTION = "Fine-tune only the last k layers on the remain set (Goel et al. 2022)"


@dataclass
class Params(SGDParams):
    """The SGD settings are the finetune baseline's, so CF-k differs from finetune only by the
    frozen layers."""

    k: int = param(3, Integer(1), source="inside Goel et al.'s sweep (their scripts: 1, 3, 5, 7)")


def train_units(task: UnlearningTask, units: list[nn.Module], params: Any) -> None:
    """SGD with cross-entropy on D_r over the parameters of ``units`` only; the rest is frozen
    (see :func:`unlearning.models.layers.train_only`). ``params`` are cf_k's or eu_k's."""
    layers.train_only(task.model, units)
    fit(task, params, task.remain)


def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples(params.method, "remain", task.remain)
    train_units(task, layers.last_k_layers(task.model, params.k, method=params.method), params)
    return task.model
