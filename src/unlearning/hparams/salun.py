"""Hyperparameters of SalUn (the method is in :mod:`unlearning.methods.salun`)."""

from __future__ import annotations

from dataclasses import dataclass

from unlearning.hparams.checks import check_float, check_optimizer
from unlearning.hparams.random_label import check_epoch_structure

NAME = "salun"
DESCRIPTION = "SalUn: random labels on the most forget-salient weights (Fan 2024)"


@dataclass
class Params:
    """Defaults: ``mask_fraction`` 0.5 is the paper's sparsity of the saliency mask; 10 epochs at
    lr 0.1 are the SalUn command of the authors' Classification README (``main_random.py
    --unlearn RL --unlearn_epochs 10 --unlearn_lr 0.1 --path <mask>``), with the optimizer of
    their ``arg_parser.py`` (SGD, momentum 0.9, weight decay 5e-4, batch size 256). With the
    default ``epoch_structure: paired`` one epoch is one pass over D_f with a remain batch per
    step (as in ``random_label``); ``salun`` gives the authors' pass over D_f followed by a pass
    over D_r."""

    mask_fraction: float = 0.5  # share of all weights that may change
    epochs: int = 10  # passes over the forget set (``salun``: then one over the remain set)
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256
    epoch_structure: str = "paired"

    def __post_init__(self) -> None:
        self.mask_fraction = check_float(
            "salun", "mask_fraction", self.mask_fraction, low=0.0, high=1.0, low_open=True
        )
        check_optimizer("salun", self)
        check_epoch_structure("salun", self)
