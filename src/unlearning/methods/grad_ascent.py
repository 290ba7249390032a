"""Gradient ascent on the forget set (Thudi et al. 2022, "Unrolling SGD"; the "GA" baseline of the
SalUn and Unlearn-Sparse benchmarks).

Maximise the cross-entropy of D_f: SGD on ``-CE(D_f batch)``, one epoch being one shuffled pass
over the forget set. The remain set is never touched, so nothing holds the rest of the model in
place; a small learning rate and few epochs are what keep it usable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from unlearning.methods.base import SGDParams, param
from unlearning.methods.common import cross_entropy, fit, require_samples, start_training
from unlearning.methods.registry import UnlearningTask

if TYPE_CHECKING:
    import torch
    from torch import nn

DESCRIPTION = "Gradient ascent on the forget set (Thudi et al. 2022)"

_AUTHORS = (
    "CIFAR-10 GA setting of OPTML-Group/Unlearn-Sparse and Unlearn-Saliency "
    "(--unlearn GA --unlearn_epochs 5 --unlearn_lr 0.0001)"
)


@dataclass
class Params(SGDParams):
    """The authors' GA setting with the optimizer of their ``arg_parser.py`` (SGD, momentum 0.9,
    weight decay 5e-4, batch size 256). An epoch is a pass over the forget set."""

    lr: float = param(1e-4, source=_AUTHORS)
    batch_size: int = param(256, source="arg_parser.py of the same code")


def ascent(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return -cross_entropy(model, x, y)


def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples(params.method, "forget", task.forget)
    start_training(task.model)  # the authors' GA runs in train mode
    fit(task, params, task.forget, ascent, data_name="forget")
    return task.model
