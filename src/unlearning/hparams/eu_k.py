"""Hyperparameters of EU-k (the method is in :mod:`unlearning.methods.eu_k`)."""

from __future__ import annotations

from dataclasses import dataclass

from unlearning.hparams.checks import check_int, check_optimizer

NAME = "eu_k"
DESCRIPTION = "Re-initialise the last k layers, then train them on D_r (Goel et al.)"


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
