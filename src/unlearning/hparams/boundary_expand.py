"""Hyperparameters of Boundary Expanding (the method is in
:mod:`unlearning.methods.boundary_expand`)."""

from __future__ import annotations

from dataclasses import dataclass

from unlearning.hparams.checks import BN_MODES, check_choice, check_optimizer

NAME = "boundary_expand"
DESCRIPTION = "Boundary Expanding: train D_f into a shadow class (Chen et al. 2023)"


@dataclass
class Params:
    """Chen et al.'s CIFAR settings: SGD lr 1e-5, momentum 0.9, no weight decay, 10 epochs over
    the forget set, batch size 64 (their ``--batch_size`` default); ``bn_mode`` train as their
    loop calls ``widen_model.train()`` (and as in boundary_shrink)."""

    lr: float = 1e-5
    momentum: float = 0.9
    weight_decay: float = 0.0
    epochs: int = 10
    batch_size: int = 64
    bn_mode: str = "train"

    def __post_init__(self) -> None:
        self.bn_mode = check_choice(NAME, "bn_mode", self.bn_mode, BN_MODES)
        check_optimizer(NAME, self)
