"""Hyperparameters of l1-sparse unlearning (the method is in
:mod:`unlearning.methods.l1_sparse`)."""

from __future__ import annotations

from dataclasses import dataclass

from unlearning.hparams.checks import check_float, check_optimizer

NAME = "l1_sparse"
DESCRIPTION = "Fine-tune on remain with a decaying l1 penalty (Jia et al. 2023)"


@dataclass
class Params:
    """Defaults: alpha (the paper's gamma) 5e-4 is the ℓ1 weight of Jia et al.'s sparsity-aware
    unlearning; 10 epochs at lr 0.01 are the l1-sparse command of the authors' READMEs
    (``--unlearn FT_prune --unlearn_lr 0.01 --unlearn_epochs 10``), with the optimizer of their
    ``arg_parser.py`` (SGD, momentum 0.9, weight decay 5e-4, batch size 256)."""

    alpha: float = 5e-4  # initial ℓ1 weight, decayed linearly to 0
    epochs: int = 10  # passes over the remain set
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256

    def __post_init__(self) -> None:
        self.alpha = check_float("l1_sparse", "alpha", self.alpha, low=0.0)
        check_optimizer("l1_sparse", self)
