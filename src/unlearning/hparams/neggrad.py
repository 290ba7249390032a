"""Hyperparameters of NegGrad+ (the method is in :mod:`unlearning.methods.neggrad`)."""

from __future__ import annotations

from dataclasses import dataclass

from unlearning.hparams.checks import check_float, check_optimizer

NAME = "neggrad"
DESCRIPTION = "NegGrad+: descend on remain, ascend on forget (Kurmanji et al. 2023)"


@dataclass
class Params:
    """Defaults: alpha = 0.99 is the NegGrad+ weighting used with Kurmanji et al.'s loop in
    later benchmarks; SGD with momentum 0.9 and weight decay 5e-4 is the optimizer of their
    SCRUB code; lr 0.01 for 5 epochs matches the finetune baseline, so the two differ only by
    the forget term."""

    alpha: float = 0.99
    epochs: int = 5
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 64

    def __post_init__(self) -> None:
        self.alpha = check_float("neggrad", "alpha", self.alpha, low=0.0, high=1.0)
        check_optimizer("neggrad", self)
