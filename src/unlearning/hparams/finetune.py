"""Hyperparameters of fine-tuning (the method is in :mod:`unlearning.methods.finetune`)."""

from __future__ import annotations

from dataclasses import dataclass

from unlearning.hparams.checks import check_optimizer

NAME = "finetune"
DESCRIPTION = "Fine-tune on the remain set (Golatkar et al. 2020)"


@dataclass
class Params:
    """SGD on D_r; defaults follow the usual CIFAR fine-tuning baseline (a few epochs, lr 0.01)."""

    epochs: int = 5
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 64

    def __post_init__(self) -> None:
        check_optimizer("finetune", self)
