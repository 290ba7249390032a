"""Random-label unlearning (Hayase et al. 2020; Golatkar et al. 2020; the "RL" baseline of SalUn).

Train the forget samples toward labels drawn uniformly from the *wrong* classes while training the
remain samples on their true labels. One epoch is one shuffled pass over D_f; every step takes a
forget batch (random wrong labels) and the next remain batch (true labels) from an endless
shuffled stream of D_r, and both go through one forward pass (one cross-entropy over the union),
so batch-norm statistics see both sets at once.

The training loop, :func:`train_random_labels`, is shared with SalUn (``salun.py``), which only
adds a gradient hook that keeps the weights outside its saliency mask fixed.

Difference from the SalUn authors' ``RL.py``: there the CIFAR-10 labels are drawn with
``torch.randint(0, num_classes)``, which returns the true label one time in ``num_classes``; here
the true label is never drawn, as in the method's description.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from unlearning.errors import UserError
from unlearning.methods.common import (
    check_optimizer,
    num_batches,
    progress_bar,
    require_samples,
    sgd,
    show_step,
    start_training,
)
from unlearning.methods.registry import UnlearningTask, register

log = logging.getLogger(__name__)


@dataclass
class Params:
    """Defaults are the unlearning defaults of the SalUn / Unlearn-Sparse ``arg_parser.py``
    (``--unlearn_epochs 10``, ``--unlearn_lr 0.01``, SGD momentum 0.9, weight decay 5e-4, batch
    size 256); SalUn's appendix searches RL's learning rate in [0.01, 0.1] over 10 epochs."""

    epochs: int = 10  # passes over the forget set
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256

    def __post_init__(self) -> None:
        check_optimizer("random_label", self)


def random_wrong_labels(
    labels: torch.Tensor, num_classes: int, generator: torch.Generator
) -> torch.Tensor:
    """A label drawn uniformly from the ``num_classes - 1`` classes other than each true label.

    The draw is a shift in [1, num_classes - 1] modulo ``num_classes``, made on the CPU with
    ``generator`` (so CPU and GPU runs draw the same labels) and moved to the labels' device.
    """
    if num_classes < 2:
        raise UserError(
            f"random-label unlearning needs at least 2 classes to draw a wrong label, "
            f"got {num_classes}; check the dataset in the config."
        )
    shift = torch.randint(1, num_classes, labels.shape, generator=generator)
    return (labels + shift.to(labels.device)).remainder_(num_classes)


def train_random_labels(
    task: UnlearningTask,
    params: Params,
    method: str,
    optimizer: torch.optim.Optimizer,
    before_step: Callable[[], None] | None = None,
) -> torch.Tensor:
    """Run the random-label loop on ``task.model`` (already in its training mode) and return the
    last loss. ``before_step`` runs after each backward pass, just before ``optimizer.step()``."""
    require_samples(method, "forget", task.forget)
    require_samples(method, "remain", task.remain)
    model, device, generator = task.model, task.device, task.generator
    remain = task.remain.forever(params.batch_size, device=device, generator=generator)
    total = params.epochs * num_batches(len(task.forget), params.batch_size)
    loss = torch.zeros(())
    with progress_bar(task, total, method) as bar:
        for epoch in range(params.epochs):
            batches = task.forget.batches(
                params.batch_size, device=device, shuffle=True, generator=generator
            )
            for x_f, y_f in batches:
                wrong = random_wrong_labels(y_f, task.num_classes, generator)
                x_r, y_r = next(remain)
                loss = F.cross_entropy(model(torch.cat([x_f, x_r])), torch.cat([wrong, y_r]))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if before_step is not None:
                    before_step()
                optimizer.step()
                show_step(bar, epoch, loss, params.epochs)
    return loss


@register("random_label", Params, "Random wrong labels on forget, true labels on remain (Hayase)")
def run(task: UnlearningTask, params: Params) -> nn.Module:
    model = task.model
    start_training(model)
    optimizer = sgd(model, params.lr, params.momentum, params.weight_decay)
    loss = train_random_labels(task, params, "random_label", optimizer)
    log.info(
        "random_label: %d epochs over %d forget samples; final loss %.4f",
        params.epochs,
        len(task.forget),
        float(loss.detach()),
    )
    return model
