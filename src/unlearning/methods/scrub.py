"""SCRUB (Kurmanji et al., "Towards Unbounded Machine Unlearning", NeurIPS 2023).

SCRUB is teacher-student unlearning. The teacher is the original model, frozen; the student starts
as a copy of it and is the model being unlearned. With ``KL_T(s, t) = T^2 * KL(softmax(t / T) ||
softmax(s / T))`` averaged over the batch (the ``DistillKL`` of the authors' code), every epoch is

- a *max-step* (only in the first ``max_steps`` epochs): one pass over D_f in batches of
  ``forget_batch_size``, descending on ``-KL_T(student, teacher)``, i.e. moving away from the
  teacher on the forget set;
- a *min-step*: one pass over D_r in batches of ``batch_size``, descending on
  ``alpha * KL_T(student, teacher) + gamma * CE(student, y)``, i.e. staying with the teacher and
  the labels on the remain set.

This is the structure of the authors' code (``meghdadk/SCRUB``: the epoch loop of
``large_scale_unlearning.ipynb`` with ``train_distill`` of ``thirdparty/repdistiller/helper/
loops.py``): one SGD optimizer shared by both steps, the student in train mode (batch-norm
statistics update), the teacher in eval mode under ``no_grad``. Their learning-rate decay at
epochs 3, 5, 9 never fires within their 3 epochs and is left out.

The teacher is ``task.original``, a separate frozen model. (The reference code of the paper under
reproduction passes one object as both teacher and student, so its "teacher" drifts with every
step; here the student must not share a weight with the teacher, which is checked.)

SCRUB+R, which rewinds SCRUB to an earlier epoch, is :mod:`unlearning.methods.scrub_r`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from unlearning.lazy import F, torch
from unlearning.methods import common
from unlearning.methods.base import Integer, Number, SGDParams, param
from unlearning.methods.registry import UnlearningTask

if TYPE_CHECKING:
    from torch import nn

log = logging.getLogger(__name__)

DESCRIPTION = "SCRUB: teacher-student max/min steps on forget/remain (Kurmanji 2023)"

_AUTHORS = "of meghdadk/SCRUB's CIFAR-10 class forgetting"


@dataclass
class Params(SGDParams):
    """The authors' CIFAR-10 class-forgetting settings (``large_scale_unlearning.ipynb``); each
    source names their variable."""

    lr: float = param(5e-4, source=f"sgda_learning_rate {_AUTHORS}")
    momentum: float = param(0.9, source=f"sgda_momentum {_AUTHORS}")
    weight_decay: float = param(5e-4, source=f"sgda_weight_decay {_AUTHORS}")
    epochs: int = param(3, source=f"sgda_epochs {_AUTHORS}")
    batch_size: int = param(128, source=f"sgda_batch_size (remain batches) {_AUTHORS}")
    alpha: float = param(0.001, Number(0.0), source=f"alpha (KL weight) {_AUTHORS}")
    gamma: float = param(0.99, Number(0.0), source=f"gamma (CE weight) {_AUTHORS}")
    kd_temperature: float = param(4.0, Number(0.0, low_open=True), source=f"kd_T {_AUTHORS}")
    max_steps: int = param(2, Integer(0), source=f"msteps {_AUTHORS}")
    forget_batch_size: int = param(
        32, Integer(1), source=f"del_batch_size (forget batches) {_AUTHORS}"
    )


def distill_kl(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """``T^2 * KL(softmax(teacher / T) || softmax(student / T))``, averaged over the batch."""
    return (
        F.kl_div(
            F.log_softmax(student / temperature, dim=1),
            F.log_softmax(teacher / temperature, dim=1),
            reduction="batchmean",
            log_target=True,
        )
        * temperature**2
    )


def frozen_teacher(task: UnlearningTask, method: str) -> nn.Module:
    """``task.original`` as the teacher, after checking it is frozen and shares no weight with the
    student (``task.model``)."""
    teacher, student = task.original, task.model
    student_weights = {(p.device, p.data_ptr()) for p in student.parameters()}
    if teacher is student or any(
        (p.device, p.data_ptr()) in student_weights for p in teacher.parameters()
    ):
        raise ValueError(f"{method}: the student shares weights with the teacher; pass a copy")
    if teacher.training or any(p.requires_grad for p in teacher.parameters()):
        raise ValueError(f"{method}: the teacher (task.original) must be frozen")
    return teacher


def scrub_epochs(task: UnlearningTask, params: Params) -> Iterator[int]:
    """Run SCRUB on ``task.model``, yielding the epoch index (from 0) after every epoch; errors
    name ``params.method`` (scrub or scrub_r)."""
    method = params.method
    common.require_samples(method, "forget", task.forget)
    common.require_samples(method, "remain", task.remain)
    model, device, generator = task.model, task.device, task.generator
    teacher = frozen_teacher(task, method)
    common.start_training(model)
    optimizer = common.sgd(model, params.lr, params.momentum, params.weight_decay)
    T = params.kd_temperature
    max_epochs = min(params.max_steps, params.epochs)
    total = max_epochs * common.num_batches(len(task.forget), params.forget_batch_size)
    total += params.epochs * common.num_batches(len(task.remain), params.batch_size)

    def step(loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    with common.progress_bar(task, total, method) as bar:
        for epoch in range(params.epochs):
            if epoch < params.max_steps:
                forget = task.forget.batches(
                    params.forget_batch_size, device=device, shuffle=True, generator=generator
                )
                for x, _ in forget:
                    with torch.no_grad():
                        target = teacher(x)
                    loss = -distill_kl(model(x), target, T)
                    step(loss)
                    common.show_step(bar, epoch, loss, params.epochs)
            remain = task.remain.batches(
                params.batch_size, device=device, shuffle=True, generator=generator
            )
            for x, y in remain:
                with torch.no_grad():
                    target = teacher(x)
                logits = model(x)
                loss = params.gamma * F.cross_entropy(logits, y) + params.alpha * distill_kl(
                    logits, target, T
                )
                step(loss)
                common.show_step(bar, epoch, loss, params.epochs)
            yield epoch


def run(task: UnlearningTask, params: Params) -> nn.Module:
    for _ in scrub_epochs(task, params):
        pass
    log.info(
        "scrub: %d epochs (%d with a max-step) over %d forget and %d remain samples",
        params.epochs,
        min(params.max_steps, params.epochs),
        len(task.forget),
        len(task.remain),
    )
    return task.model
