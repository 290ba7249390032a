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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from unlearning.errors import UserError
from unlearning.lazy import torch
from unlearning.methods.base import Choice, SGDParams, param
from unlearning.methods.common import cross_entropy, fit, require_samples, sgd, start_training
from unlearning.methods.registry import UnlearningTask

if TYPE_CHECKING:
    from torch import nn

log = logging.getLogger(__name__)

DESCRIPTION = "Random wrong labels on forget, true labels on remain (Hayase)"

EPOCH_STRUCTURES = ("paired", "salun")

_ARG_PARSER = "the unlearning defaults of the SalUn / Unlearn-Sparse arg_parser.py"


@dataclass
class Params(SGDParams):
    """The optimizer of the SalUn / Unlearn-Sparse ``arg_parser.py`` (SGD, momentum 0.9, weight
    decay 5e-4). An epoch is a pass over D_f (``salun``: then one over D_r); see the module
    docstring for ``epoch_structure``."""

    lr: float = param(
        0.01,
        source=f"--unlearn_lr, {_ARG_PARSER}; SalUn's appendix searches RL's lr in [0.01, 0.1]",
    )
    epochs: int = param(10, source=f"--unlearn_epochs, {_ARG_PARSER}")
    batch_size: int = param(256, source=f"--batch_size, {_ARG_PARSER}")
    epoch_structure: str = param(
        "paired", Choice(EPOCH_STRUCTURES), source="salun: Classification/unlearn/RL.py of SalUn"
    )


#: ``after_backward(step, total)``: edits the gradients between the backward pass and the step.
AfterBackward = Callable[[int, int], None]


def _require_two_classes(num_classes: int) -> None:
    if num_classes < 2:
        raise UserError(
            f"random-label unlearning needs at least 2 classes to draw a random label, "
            f"got {num_classes}; check the dataset in the config."
        )


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
    optimizer: torch.optim.Optimizer | None = None,
    after_backward: AfterBackward | None = None,
) -> None:
    """Run the random-label loop that ``params.epoch_structure`` names on ``task.model`` (already
    in its training mode), with SGD of ``params`` unless an ``optimizer`` is given.
    ``after_backward`` runs after each backward pass, just before ``optimizer.step()``."""
    require_samples(params.method, "forget", task.forget)
    require_samples(params.method, "remain", task.remain)
    if optimizer is None:
        optimizer = sgd(task.model, params.lr, params.momentum, params.weight_decay)
    if params.epoch_structure == "salun":
        _train_salun_epochs(task, params, optimizer, after_backward)
        return
    remain = task.remain.forever(params.batch_size, device=task.device, generator=task.generator)

    def loss(model: nn.Module, x_f: torch.Tensor, y_f: torch.Tensor) -> torch.Tensor:
        wrong = random_wrong_labels(y_f, task.num_classes, task.generator)
        x_r, y_r = next(remain)
        return cross_entropy(model, torch.cat([x_f, x_r]), torch.cat([wrong, y_r]))

    fit(
        task,
        params,
        task.forget,
        loss,
        optimizer=optimizer,
        after_backward=after_backward,
        data_name="forget",
    )


def _train_salun_epochs(
    task: UnlearningTask,
    params: Params,
    optimizer: torch.optim.Optimizer,
    after_backward: AfterBackward | None,
) -> None:
    """The ``salun`` epoch: a pass over D_f (random labels over all classes), then a pass over
    D_r (true labels), one optimizer step per batch; every draw comes from ``task.generator``."""

    def relabelled(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return cross_entropy(model, x, random_any_labels(y, task.num_classes, task.generator))

    fit(
        task,
        params,
        [(task.forget, relabelled), (task.remain, cross_entropy)],
        optimizer=optimizer,
        after_backward=after_backward,
        data_name="forget and remain",
    )


def run(task: UnlearningTask, params: Params) -> nn.Module:
    start_training(task.model)
    train_random_labels(task, params)
    return task.model
