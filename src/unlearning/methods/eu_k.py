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

from torch import nn

from unlearning.hparams.eu_k import DESCRIPTION, NAME, Params
from unlearning.methods.cf_k import train_units
from unlearning.methods.common import require_samples
from unlearning.methods.registry import UnlearningTask, register
from unlearning.models.layers import last_k_layers, reinitialise

log = logging.getLogger(__name__)


@register(NAME, Params, DESCRIPTION)
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
