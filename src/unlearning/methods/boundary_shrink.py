"""Boundary Shrink (Chen et al., CVPR 2023): psg with gamma = lambda = phi = 0.

Sign-gradient search for the nearest boundary of the original model, then fine-tune the forget
samples onto the label found there. DESIGN §4: the same code as psg, not a copy, so the baseline
and the method differ only in the values that the paper varies.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from unlearning.methods import psg
from unlearning.methods.registry import UnlearningTask, register


@dataclass
class Params:
    """Chen et al.'s settings: one FGSM step of 0.1, SGD lr 1e-5, momentum 0.9, 10 epochs.

    ``formulation: reference`` runs the paper's reference arithmetic (see ``psg_reference.py``):
    with gamma = lambda = 0 the gradient's scale cannot change a sign, so what differs is the
    attack's own normalisation constants.
    """

    formulation: str = "pixel"
    epsilon: float = 0.1
    steps: int = 1
    step_size: float | None = None  # None means step_size = epsilon
    lr: float = 1e-5
    momentum: float = 0.9
    weight_decay: float = 0.0
    epochs: int = 10
    batch_size: int = 64
    bn_mode: str = "train"
    augment: str = "none"  # augmentation of the forget batches while unlearning
    attack_mean: tuple[float, ...] = psg.reference.REFERENCE_MEAN  # reference formulation only
    attack_std: tuple[float, ...] = psg.reference.REFERENCE_STD  # reference formulation only

    def __post_init__(self) -> None:
        psg.check_boundary_params("boundary_shrink", self)


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


@register(
    "boundary_shrink", Params, "Boundary Shrink (Chen et al. 2023): psg with gamma=lambda=phi=0"
)
def run(task: UnlearningTask, params: Params) -> nn.Module:
    return psg.unlearn(task, as_psg(params), "boundary_shrink")
