"""Boundary Shrink (Chen et al., CVPR 2023): psg with gamma = lambda = phi = 0.

Sign-gradient search for the nearest boundary of the original model, then fine-tune the forget
samples onto the label found there. The same code as psg, not a copy, so the baseline
and the method differ only in the values that the paper varies.
"""

from __future__ import annotations

from torch import nn

from unlearning.hparams.boundary_shrink import DESCRIPTION, NAME, Params
from unlearning.methods import psg
from unlearning.methods.registry import UnlearningTask, register


def as_psg(params: Params) -> psg.Params:
    """The psg setting that is Boundary Shrink: no noise, no closeness term, no remain loss."""
    return psg.Params(
        formulation=params.formulation,
        attack_mean=params.attack_mean,
        attack_std=params.attack_std,
        augment=params.augment,
        epsilon=params.epsilon,
        steps=params.steps,
        step_size=params.step_size,
        lambda_=0.0,
        gamma=0.0,
        phi=0.0,
        targets="hard",
        top_k=0,
        remain_distill=False,
        bn_mode=params.bn_mode,
        lr=params.lr,
        momentum=params.momentum,
        weight_decay=params.weight_decay,
        epochs=params.epochs,
        batch_size=params.batch_size,
    )


@register(NAME, Params, DESCRIPTION)
def run(task: UnlearningTask, params: Params) -> nn.Module:
    return psg.unlearn(task, as_psg(params), "boundary_shrink")
