"""Hyperparameters of Bad Teaching (the method is in :mod:`unlearning.methods.bad_teacher`)."""

from __future__ import annotations

from dataclasses import dataclass

from unlearning.hparams.checks import check_float, check_int

NAME = "bad_teacher"
DESCRIPTION = "Bad Teaching: distil from competent and random teachers (Chundawat 2023)"


@dataclass
class Params:
    """The authors' settings (``blindspot_unlearner`` call in their CIFAR-Super20 notebook):
    Adam lr 1e-4, 1 epoch, batch size 256, KL temperature 1, a random 30 % of the retain set."""

    lr: float = 1e-4
    epochs: int = 1
    batch_size: int = 256
    kl_temperature: float = 1.0
    remain_fraction: float = 0.3

    def __post_init__(self) -> None:
        self.lr = check_float(NAME, "lr", self.lr, low=0.0, low_open=True)
        self.epochs = check_int(NAME, "epochs", self.epochs, low=1)
        self.batch_size = check_int(NAME, "batch_size", self.batch_size, low=1)
        self.kl_temperature = check_float(
            NAME, "kl_temperature", self.kl_temperature, low=0.0, low_open=True
        )
        self.remain_fraction = check_float(
            NAME, "remain_fraction", self.remain_fraction, low=0.0, high=1.0
        )
