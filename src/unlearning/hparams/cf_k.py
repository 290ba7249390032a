"""Hyperparameters of CF-k (the method is in :mod:`unlearning.methods.cf_k`)."""

from __future__ import annotations

from dataclasses import dataclass

from unlearning.hparams.checks import check_int, check_optimizer

NAME = "cf_k"
DESCRIPTION = "Fine-tune only the last k layers on the remain set (Goel et al. 2022)"


@dataclass
class Params:
    """Defaults: k = 3 lies inside Goel et al.'s sweep (their scripts run k = 1, 3, 5, 7); the SGD
    settings are the finetune baseline's (lr 0.01, momentum 0.9, weight decay 5e-4, 5 epochs,
    batch 64), so CF-k differs from finetune only by the frozen layers."""

    k: int = 3
    epochs: int = 5
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 64

    def __post_init__(self) -> None:
        self.k = check_int("cf_k", "k", self.k, low=1)
        check_optimizer("cf_k", self)
