"""EU-k, exact unlearning of the last k layers (Goel et al. 2022, "Towards Adversarial
Evaluations for Inexact Machine Unlearning").

Re-initialise the last k layers, freeze the rest, and train the last k layers on D_r: the frozen
part saw D_f, but the re-initialised part is trained as if D_f never existed. "The last k layers"
are defined in :mod:`unlearning.models.layers`; the re-initialisation is PyTorch's default one
drawn from the run's seeded generator, with fresh batch-norm statistics.

The reference code of the paper under reproduction copies the original weights into these layers
instead of re-initialising them, which turns EU-k into CF-k; this module re-initialises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from unlearning.methods import cf_k
from unlearning.methods.base import param
from unlearning.methods.cf_k import layers, train_units
from unlearning.methods.common import require_samples
from unlearning.methods.registry import UnlearningTask

if TYPE_CHECKING:
    from torch import nn

DESCRIPTION = "Re-initialise the last k layers, then train them on D_r (Goel et al.)"


@dataclass
class Params(cf_k.Params):
    """cf_k's parameters (k = 3, SGD as finetune). Goel et al. train the re-initialised layers
    with the original model's recipe; here they get twice cf_k's epochs, since they start from
    scratch rather than from trained weights."""

    epochs: int = param(10, source="twice cf_k's 5 (the layers start from scratch)")


def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples(params.method, "remain", task.remain)
    units = layers.last_k_layers(task.model, params.k, method=params.method)
    layers.reinitialise(units, task.generator)
    train_units(task, units, params)
    return task.model
