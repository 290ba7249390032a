"""What the SGD-trained methods share: the optimizer, the model's mode, and the one training loop
a method plugs its loss into (as Unlearn-Saliency's ``iterative_unlearn`` does), with the
progress bar and the closing log line.

Torch and the modules that import it load on first use (:mod:`unlearning.lazy`): method modules
import this one while the workflow parses.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from unlearning.errors import UserError
from unlearning.lazy import F, lazy, torch
from unlearning.methods.base import BN_MODES
from unlearning.methods.registry import UnlearningTask

if TYPE_CHECKING:
    from torch import nn
    from tqdm import tqdm

    from unlearning import progress
    from unlearning.data.imageset import ImageSet
else:
    progress = lazy("unlearning.progress")

log = logging.getLogger(__name__)

#: loss(model, x, y) on one batch of the data the loop walks over.
LossFn = Callable[["nn.Module", "torch.Tensor", "torch.Tensor"], "torch.Tensor"]


def require_samples(method: str, name: str, data: ImageSet) -> None:
    """An empty forget or remain set is a condition problem the user must fix, not a crash."""
    if len(data) == 0:
        raise UserError(
            f"{method}: the {name} set is empty; check the forget condition in the config."
        )


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
    return progress.progress_bar(total, desc, enabled=task.progress)


def show_step(bar: tqdm, epoch: int, loss: Any, epochs: int | None = None) -> None:
    progress.show_step(bar, epoch, loss, epochs)


def cross_entropy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(model(x), y)


def fit(
    task: UnlearningTask,
    params: Any,
    data: ImageSet | Sequence[tuple[ImageSet, LossFn]],
    loss_fn: LossFn = cross_entropy,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    after_backward: Callable[[int, int], None] | None = None,
    data_name: str = "remain",
) -> torch.Tensor:
    """``params.epochs`` shuffled passes over ``data`` with ``params.batch_size``, one optimizer
    step per batch on ``loss_fn``; returns the last batch's loss. The progress bar and the log
    line are labelled with ``params.method``.

    ``data`` may also be a sequence of (set, loss) pairs, walked in order within each epoch (the
    SalUn epoch: a pass over D_f, then one over D_r). The optimizer defaults to SGD with
    ``params``' lr, momentum and weight decay over the trainable weights.
    ``after_backward(step, total)`` may edit the gradients before each step (l1_sparse adds its
    penalty's there).
    """
    passes = list(data) if isinstance(data, list | tuple) else [(data, loss_fn)]
    model = task.model
    if optimizer is None:
        optimizer = sgd(model, params.lr, params.momentum, params.weight_decay)
    epochs, batch_size = params.epochs, params.batch_size
    total = epochs * sum(num_batches(len(part), batch_size) for part, _ in passes)
    loss = torch.zeros(())
    step = 0
    with progress_bar(task, total, params.method) as bar:
        for epoch in range(epochs):
            for part, part_loss in passes:
                batches = part.batches(
                    batch_size, device=task.device, shuffle=True, generator=task.generator
                )
                for x, y in batches:
                    loss = part_loss(model, x, y)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if after_backward is not None:
                        after_backward(step, total)
                    optimizer.step()
                    step += 1
                    show_step(bar, epoch, loss, epochs)
    log.info(
        "%s: %d epochs over %d %s samples; final loss %.4f",
        params.method,
        epochs,
        sum(len(part) for part, _ in passes),
        data_name,
        float(loss.detach()),
    )
    return loss
