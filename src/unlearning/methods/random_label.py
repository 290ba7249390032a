"""Random-label unlearning (Hayase et al. 2020; Golatkar et al. 2020; the "RL" baseline of SalUn).

Train the forget samples toward random labels while training the remain samples on their true
labels. ``epoch_structure`` chooses how an epoch is built:

* ``paired`` (default): one epoch is one shuffled pass over D_f; every step takes a forget batch
  (labels drawn uniformly from the *wrong* classes) and the next remain batch (true labels) from an
  endless shuffled stream of D_r, and both go through one forward pass (one cross-entropy over the
  union), so batch-norm statistics see both sets at once.
* ``salun``: the CIFAR-10 branch of the SalUn authors' ``Classification/unlearn/RL.py``. One epoch
  is a shuffled pass over D_f with random labels, each forget batch its own optimizer step, then a
  shuffled pass over D_r with true labels, each remain batch its own step; both passes use
  ``batch_size``, and nothing changes the learning rate (the authors' default ``--warmup 0`` and
  ``--decreasing_lr 91,136`` never act within their 10 unlearning epochs).

The training loop, :func:`train_random_labels`, is shared with SalUn (``salun.py``), which only
adds a gradient hook that keeps the weights outside its saliency mask fixed (on every step of
either structure).

Labels: ``salun`` mode draws them as the authors do, ``torch.randint(0, num_classes)`` over all
classes, so the true label comes up one time in ``num_classes``; ``paired`` mode never draws the
true label, as in the method's description.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from unlearning.errors import UserError
from unlearning.hparams.random_label import DESCRIPTION, NAME, Params
from unlearning.methods.common import (
    num_batches,
    progress_bar,
    require_samples,
    sgd,
    show_step,
    start_training,
)
from unlearning.methods.registry import UnlearningTask, register

log = logging.getLogger(__name__)


def _require_two_classes(num_classes: int) -> None:
    if num_classes < 2:
        raise UserError(
            f"random-label unlearning needs at least 2 classes to draw a random label, "
            f"got {num_classes}; check the dataset in the config."
        )


def _sgd_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    before_step: Callable[[], None] | None,
) -> torch.Tensor:
    """One cross-entropy step; ``before_step`` runs between the backward pass and the update."""
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if before_step is not None:
        before_step()
    optimizer.step()
    return loss


def random_wrong_labels(
    labels: torch.Tensor, num_classes: int, generator: torch.Generator
) -> torch.Tensor:
    """A label drawn uniformly from the ``num_classes - 1`` classes other than each true label.

    The draw is a shift in [1, num_classes - 1] modulo ``num_classes``, made on the CPU with
    ``generator`` (so CPU and GPU runs draw the same labels) and moved to the labels' device.
    """
    _require_two_classes(num_classes)
    shift = torch.randint(1, num_classes, labels.shape, generator=generator)
    return (labels + shift.to(labels.device)).remainder_(num_classes)


def random_any_labels(
    labels: torch.Tensor, num_classes: int, generator: torch.Generator
) -> torch.Tensor:
    """A label drawn uniformly from all ``num_classes`` classes, the true one included (the SalUn
    authors' ``torch.randint(0, num_classes, target.shape)``), drawn on the CPU with ``generator``
    and moved to the labels' device."""
    _require_two_classes(num_classes)
    drawn = torch.randint(0, num_classes, labels.shape, generator=generator, dtype=labels.dtype)
    return drawn.to(labels.device)


def train_random_labels(
    task: UnlearningTask,
    params: Params,
    method: str,
    optimizer: torch.optim.Optimizer,
    before_step: Callable[[], None] | None = None,
) -> torch.Tensor:
    """Run the random-label loop on ``task.model`` (already in its training mode) and return the
    last loss. ``before_step`` runs after each backward pass, just before ``optimizer.step()``.
    ``params.epoch_structure`` picks the loop (``paired`` or ``salun``)."""
    require_samples(method, "forget", task.forget)
    require_samples(method, "remain", task.remain)
    if params.epoch_structure == "salun":
        return _train_salun_epochs(task, params, method, optimizer, before_step)
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
                x, y = torch.cat([x_f, x_r]), torch.cat([wrong, y_r])
                loss = _sgd_step(model, optimizer, x, y, before_step)
                show_step(bar, epoch, loss, params.epochs)
    return loss


def _train_salun_epochs(
    task: UnlearningTask,
    params: Params,
    method: str,
    optimizer: torch.optim.Optimizer,
    before_step: Callable[[], None] | None,
) -> torch.Tensor:
    """The ``salun`` epoch: a pass over D_f (random labels over all classes), then a pass over
    D_r (true labels), one optimizer step per batch; every draw comes from ``task.generator``."""
    model, device, generator = task.model, task.device, task.generator
    size = params.batch_size
    per_epoch = num_batches(len(task.forget), size) + num_batches(len(task.remain), size)
    loss = torch.zeros(())
    with progress_bar(task, params.epochs * per_epoch, method) as bar:
        for epoch in range(params.epochs):
            for x_f, y_f in task.forget.batches(
                size, device=device, shuffle=True, generator=generator
            ):
                y_random = random_any_labels(y_f, task.num_classes, generator)
                loss = _sgd_step(model, optimizer, x_f, y_random, before_step)
                show_step(bar, epoch, loss, params.epochs)
            for x_r, y_r in task.remain.batches(
                size, device=device, shuffle=True, generator=generator
            ):
                loss = _sgd_step(model, optimizer, x_r, y_r, before_step)
                show_step(bar, epoch, loss, params.epochs)
    return loss


@register(NAME, Params, DESCRIPTION)
def run(task: UnlearningTask, params: Params) -> nn.Module:
    model = task.model
    start_training(model)
    optimizer = sgd(model, params.lr, params.momentum, params.weight_decay)
    loss = train_random_labels(task, params, "random_label", optimizer)
    log.info(
        "random_label: %d %s epochs over %d forget samples; final loss %.4f",
        params.epochs,
        params.epoch_structure,
        len(task.forget),
        float(loss.detach()),
    )
    return model
