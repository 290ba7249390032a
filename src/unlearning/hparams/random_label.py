"""Hyperparameters of random-label unlearning (the method is in
:mod:`unlearning.methods.random_label`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from unlearning.hparams.checks import check_choice, check_optimizer

NAME = "random_label"
DESCRIPTION = "Random wrong labels on forget, true labels on remain (Hayase)"

EPOCH_STRUCTURES = ("paired", "salun")


@dataclass
class Params:
    """Defaults are the unlearning defaults of the SalUn / Unlearn-Sparse ``arg_parser.py``
    (``--unlearn_epochs 10``, ``--unlearn_lr 0.01``, SGD momentum 0.9, weight decay 5e-4, batch
    size 256); SalUn's appendix searches RL's learning rate in [0.01, 0.1] over 10 epochs.
    ``epoch_structure`` is ``paired`` or ``salun`` (see the module docstring)."""

    epochs: int = 10  # passes over the forget set (``salun``: then one over the remain set)
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256
    epoch_structure: str = "paired"

    def __post_init__(self) -> None:
        check_optimizer("random_label", self)
        check_epoch_structure("random_label", self)


def check_epoch_structure(method: str, params: Any) -> None:
    """Validate ``params.epoch_structure`` in place (shared with SalUn's parameters)."""
    params.epoch_structure = check_choice(
        method, "epoch_structure", params.epoch_structure, EPOCH_STRUCTURES
    )
