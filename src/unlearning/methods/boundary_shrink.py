"""Boundary Shrink (Chen et al., CVPR 2023): psg with gamma = lambda = phi = 0.

Sign-gradient search for the nearest boundary of the original model, then fine-tune the forget
samples onto the label found there. The same code as psg, not a copy, so the baseline
and the method differ only in the values that the paper varies.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from unlearning.methods import psg
from unlearning.methods.registry import UnlearningTask

if TYPE_CHECKING:
    from torch import nn

DESCRIPTION = "Boundary Shrink (Chen et al. 2023): psg with gamma=lambda=phi=0"


@dataclass
class Params(psg.BoundaryParams):
    """psg's boundary-search and optimizer fields with their defaults and checks (Chen et al.'s
    settings: one FGSM step of 0.1, SGD lr 1e-5, momentum 0.9, 10 epochs).

    ``formulation: reference`` runs the paper's reference arithmetic (see ``psg_reference.py``):
    with gamma = lambda = 0 the gradient's scale cannot change a sign, so what differs is the
    attack's own normalisation constants.
    """


def as_psg(params: Params) -> psg.Params:
    """The psg setting that is Boundary Shrink: no noise, no closeness term, no remain loss,
    hard labels."""
    return psg.Params(**dataclasses.asdict(params), gamma=0.0, lambda_=0.0, phi=0.0, targets="hard")


def run(task: UnlearningTask, params: Params) -> nn.Module:
    return psg.unlearn(task, as_psg(params), params.method)
