"""Hyperparameters of gradient ascent (the method is in :mod:`unlearning.methods.grad_ascent`)."""

from __future__ import annotations

from dataclasses import dataclass

from unlearning.hparams.checks import check_optimizer

NAME = "grad_ascent"
DESCRIPTION = "Gradient ascent on the forget set (Thudi et al. 2022)"


@dataclass
class Params:
    """Defaults are the CIFAR-10 GA setting of the authors' code (OPTML-Group/Unlearn-Sparse and
    Unlearn-Saliency READMEs: ``--unlearn GA --unlearn_epochs 5 --unlearn_lr 0.0001``) with the
    optimizer of their ``arg_parser.py`` (SGD, momentum 0.9, weight decay 5e-4, batch size 256)."""

    epochs: int = 5  # passes over the forget set
    lr: float = 1e-4
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256

    def __post_init__(self) -> None:
        check_optimizer("grad_ascent", self)
