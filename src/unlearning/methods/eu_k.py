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

import logging
from dataclasses import dataclass

from torch import nn

from unlearning.methods.cf_k import train_units
from unlearning.methods.common import check_int, check_optimizer, require_samples
from unlearning.methods.registry import UnlearningTask, register
from unlearning.models.layers import last_k_layers, reinitialise

log = logging.getLogger(__name__)


@dataclass
class Params:
    """Defaults: k = 3 as for cf_k (inside Goel et al.'s sweep k = 1, 3, 5, 7). Goel et al. train
    the re-initialised layers with the original model's recipe; here SGD lr 0.01, momentum 0.9,
    weight decay 5e-4, batch 64 as for finetune and cf_k, for 10 epochs, twice cf_k's, since these
    layers start from scratch rather than from trained weights."""

    k: int = 3
    epochs: int = 10
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 64

    def __post_init__(self) -> None:
        self.k = check_int("eu_k", "k", self.k, low=1)
        check_optimizer("eu_k", self)


@register("eu_k", Params, "Re-initialise the last k layers, then train them on D_r (Goel et al.)")
def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples("eu_k", "remain", task.remain)
    units = last_k_layers(task.model, params.k, method="eu_k")
    reinitialise(units, task.generator)
    loss = train_units(task, units, params, "eu_k")
    log.info(
        "eu_k: re-initialised and trained the last %d layers, %d epochs over %d remain samples; "
        "final loss %.4f",
        params.k,
        params.epochs,
        len(task.remain),
        float(loss.detach()),
    )
    return task.model
