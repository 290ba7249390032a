"""Pieces every method shares: parameter checks, the optimizer, batch-norm mode, the progress bar.

Keeping them here means every method shows the same progress bar. The parameter checks live in
:mod:`unlearning.hparams.checks` (torch-free, for the workflow) and are re-exported here.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from unlearning.data.imageset import ImageSet
from unlearning.errors import UserError
from unlearning.hparams.checks import (  # noqa: F401 (re-exported for the methods)
    BN_MODES,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_optimizer,
)
from unlearning.methods.registry import UnlearningTask
from unlearning.progress import progress_bar as shared_progress_bar
from unlearning.progress import show_step  # noqa: F401 (re-exported for the methods)


def require_samples(method: str, name: str, data: ImageSet) -> None:
    """An empty forget or remain set is a condition problem the user must fix, not a crash."""
    if len(data) == 0:
        raise UserError(
            f"{method}: the {name} set is empty; check the forget condition in the config."
        )


# --- training helpers -------------------------------------------------------------------------


def sgd(model: nn.Module, lr: float, momentum: float, weight_decay: float) -> torch.optim.SGD:
    """SGD over the trainable parameters, the optimizer of the reference implementations."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(trainable, lr=lr, momentum=momentum, weight_decay=weight_decay)


def start_training(model: nn.Module, bn_mode: str = "train") -> None:
    """Make every weight trainable and set the mode of the outer updates.

    ``train`` lets batch-norm statistics update during unlearning; ``eval`` freezes them. The whole
    model follows the mode (dropout too), since a mode is a property of the model.
    """
    if bn_mode not in BN_MODES:
        raise ValueError(f"bn_mode must be one of {BN_MODES}, got {bn_mode!r}")
    model.requires_grad_(True)
    model.train(bn_mode == "train")


def num_batches(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)


def progress_bar(task: UnlearningTask, total: int, desc: str) -> tqdm:
    """The shared progress bar, silent when the task asks for no progress output."""
    return shared_progress_bar(total, desc, enabled=task.progress)


def fit_remain(
    task: UnlearningTask,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    batch_size: int,
    name: str,
) -> torch.Tensor:
    """Cross-entropy on shuffled D_r batches with ``optimizer``: the loop of finetune, CF-k,
    EU-k and compose's fine-tuning. Returns the last batch's loss."""
    total = epochs * num_batches(len(task.remain), batch_size)
    loss = torch.zeros(())
    with progress_bar(task, total, name) as bar:
        for epoch in range(epochs):
            batches = task.remain.batches(
                batch_size, device=task.device, shuffle=True, generator=task.generator
            )
            for x, y in batches:
                loss = F.cross_entropy(model(x), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                show_step(bar, epoch, loss, epochs)
    return loss
