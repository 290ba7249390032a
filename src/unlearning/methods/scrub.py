"""SCRUB and SCRUB+R (Kurmanji et al., "Towards Unbounded Machine Unlearning", NeurIPS 2023).

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

SCRUB+R (``scrub_r``, "SCRUB and Rewind", Section 3 of the paper) runs SCRUB, keeps the student's
weights after every epoch, and returns the epoch whose forget-set error is closest to a reference
error: the error of the final SCRUB model on held-out data distributed like the forget set, an
estimate of what a model that never saw D_f would get on it. The held-out data are
``task.validation`` restricted to the classes of the forget set whenever the forget set holds only
some of the classes (a forgotten class, or part of one: the validation images of that class),
else the whole validation set (a forget set spread over every class). Ties go to the latest
epoch: SCRUB+R rewinds only when an earlier epoch is strictly closer. (When the errors saturate,
as for a forgotten class whose forget and held-out errors are both 100 %, SCRUB+R returns SCRUB's
result.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from unlearning.data.imageset import ImageSet
from unlearning.errors import UserError
from unlearning.hparams.scrub import (
    DESCRIPTION,
    NAME,
    REWIND_DESCRIPTION,
    REWIND_NAME,
    Params,
    RewindParams,
)
from unlearning.methods.common import (
    num_batches,
    progress_bar,
    require_samples,
    sgd,
    show_step,
    start_training,
)
from unlearning.methods.registry import UnlearningTask, register
from unlearning.metrics.predict import predict_logits

log = logging.getLogger(__name__)


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


def scrub_epochs(task: UnlearningTask, params: Params, method: str = "scrub") -> Iterator[int]:
    """Run SCRUB on ``task.model``, yielding the epoch index (from 0) after every epoch."""
    require_samples(method, "forget", task.forget)
    require_samples(method, "remain", task.remain)
    model, device, generator = task.model, task.device, task.generator
    teacher = frozen_teacher(task, method)
    start_training(model)
    optimizer = sgd(model, params.lr, params.momentum, params.weight_decay)
    T = params.kd_temperature
    max_epochs = min(params.max_steps, params.epochs)
    total = max_epochs * num_batches(len(task.forget), params.forget_batch_size)
    total += params.epochs * num_batches(len(task.remain), params.batch_size)

    def step(loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    with progress_bar(task, total, method) as bar:
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
                    show_step(bar, epoch, loss, params.epochs)
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
                show_step(bar, epoch, loss, params.epochs)
            yield epoch


@register(NAME, Params, DESCRIPTION)
def run(task: UnlearningTask, params: Params) -> nn.Module:
    for _ in scrub_epochs(task, params, "scrub"):
        pass
    log.info(
        "scrub: %d epochs (%d with a max-step) over %d forget and %d remain samples",
        params.epochs,
        min(params.max_steps, params.epochs),
        len(task.forget),
        len(task.remain),
    )
    return task.model


# --- SCRUB+R ----------------------------------------------------------------------------------


def error(model: nn.Module, data: ImageSet, device: torch.device) -> float:
    """Top-1 error of ``model`` on ``data`` (eval mode; the model's train/eval flags are kept)."""
    logits = predict_logits(model, data, device)
    return 1.0 - (logits.argmax(dim=1) == data.labels).float().mean().item()


def reference_set(forget: ImageSet, validation: ImageSet, method: str = "scrub_r") -> ImageSet:
    """Held-out data distributed like the forget set: the validation images whose label is among
    the forget set's labels when those labels are only some of the classes in the validation set,
    else the whole validation set (see the module docstring)."""
    if len(validation) == 0:
        raise UserError(
            f"{method}: the validation set is empty, and rewinding needs held-out data; "
            "set datasets.<name>.val_fraction above 0 in the config."
        )
    forget_labels = forget.labels.unique()
    same = torch.isin(validation.labels, forget_labels)
    if same.any() and not same.all():
        return validation.subset(torch.where(same)[0])
    return validation


def select_epoch(forget_errors: list[float], reference: float) -> int:
    """Index of the epoch whose forget error is closest to ``reference``; on ties the latest, so
    SCRUB+R rewinds only when an earlier epoch is strictly closer (a later epoch has had more
    min-steps to restore the remain set)."""
    if not forget_errors:
        raise ValueError("select_epoch needs at least one epoch")
    gaps = [abs(e - reference) for e in forget_errors]
    return max(i for i, gap in enumerate(gaps) if gap == min(gaps))


@register(REWIND_NAME, RewindParams, REWIND_DESCRIPTION)
def run_rewind(task: UnlearningTask, params: RewindParams) -> nn.Module:
    held_out = reference_set(task.forget, task.validation, "scrub_r")
    model = task.model
    states: list[dict[str, torch.Tensor]] = []
    forget_errors: list[float] = []
    for _ in scrub_epochs(task, params, "scrub_r"):
        states.append({k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()})
        forget_errors.append(error(model, task.forget, task.device))
    reference = error(model, held_out, task.device)
    chosen = select_epoch(forget_errors, reference)
    model.load_state_dict(states[chosen])
    log.info(
        "scrub_r: forget error per epoch %s; reference error %.4f on %d held-out images; "
        "rewound to epoch %d of %d",
        [round(e, 4) for e in forget_errors],
        reference,
        len(held_out),
        chosen + 1,
        params.epochs,
    )
    return model
