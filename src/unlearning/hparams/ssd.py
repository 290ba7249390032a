"""Hyperparameters of Selective Synaptic Dampening (the method is in
:mod:`unlearning.methods.ssd`)."""

from __future__ import annotations

from dataclasses import dataclass

from unlearning.hparams.checks import check_float, check_int

NAME = "ssd"
DESCRIPTION = "Selective Synaptic Dampening by Fisher importance (Foster et al. 2024)"


@dataclass
class Params:
    """Defaults of the authors' ResNet18 CIFAR experiments (``forget_full_class_main.py``):
    selection weighting alpha = 10, dampening constant lambda = 1, batch size 64 (``-b``); they
    use the whole training set for ``I_D`` (max_samples 0 = no cap). Config key ``lambda`` is
    the field ``lambda_``."""

    alpha: float = 10.0  # selection weighting: dampen where I_f > alpha I_D
    lambda_: float = 1.0  # dampening constant: beta = min(lambda I_D / I_f, 1)
    batch_size: int = 64  # batch of the importance estimate
    max_samples: int = 0  # at most this many samples of D for I_D; 0 = all

    def __post_init__(self) -> None:
        self.alpha = check_float(NAME, "alpha", self.alpha, low=0.0)
        self.lambda_ = check_float(NAME, "lambda_", self.lambda_, low=0.0)
        self.batch_size = check_int(NAME, "batch_size", self.batch_size, low=1)
        self.max_samples = check_int(NAME, "max_samples", self.max_samples, low=0)
