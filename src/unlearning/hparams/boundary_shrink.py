"""Hyperparameters of Boundary Shrink (the method is in :mod:`unlearning.methods.boundary_shrink`,
which runs psg with gamma = lambda = phi = 0)."""

from __future__ import annotations

from dataclasses import dataclass

from unlearning.hparams import psg

NAME = "boundary_shrink"
DESCRIPTION = "Boundary Shrink (Chen et al. 2023): psg with gamma=lambda=phi=0"


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
    attack_mean: tuple[float, ...] = psg.REFERENCE_MEAN  # reference formulation only
    attack_std: tuple[float, ...] = psg.REFERENCE_STD  # reference formulation only

    def __post_init__(self) -> None:
        psg.check_boundary_params("boundary_shrink", self)
