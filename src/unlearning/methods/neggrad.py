"""NegGrad+ (Kurmanji et al., "Towards Unbounded Machine Unlearning", NeurIPS 2023).

Descend on the remain set while ascending on the forget set, weighted by alpha:
``alpha * CE(D_r batch) - (1 - alpha) * CE(D_f batch)``. One epoch is one pass over D_r; forget
batches cycle alongside, as in the authors' ``train_negrad`` loop (zip with ``cycle``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from unlearning.methods.base import Number, SGDParams, param
from unlearning.methods.common import cross_entropy, fit, require_samples, start_training
from unlearning.methods.registry import UnlearningTask

if TYPE_CHECKING:
    import torch
    from torch import nn

DESCRIPTION = "NegGrad+: descend on remain, ascend on forget (Kurmanji et al. 2023)"


@dataclass
class Params(SGDParams):
    """SGD with momentum 0.9 and weight decay 5e-4 is the optimizer of Kurmanji et al.'s SCRUB
    code; lr 0.01 for 5 epochs matches the finetune baseline, so the two differ only by the
    forget term."""

    alpha: float = param(
        0.99,
        Number(0.0, 1.0),
        source="the NegGrad+ weighting used with Kurmanji et al.'s loop in later benchmarks",
    )


def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples(params.method, "forget", task.forget)
    require_samples(params.method, "remain", task.remain)
    start_training(task.model)
    forget = task.forget.forever(params.batch_size, device=task.device, generator=task.generator)

    def loss(model: nn.Module, x_r: torch.Tensor, y_r: torch.Tensor) -> torch.Tensor:
        x_f, y_f = next(forget)
        return params.alpha * cross_entropy(model, x_r, y_r) - (1.0 - params.alpha) * cross_entropy(
            model, x_f, y_f
        )

    fit(task, params, task.remain, loss)
    return task.model
