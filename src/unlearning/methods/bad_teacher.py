"""Bad Teaching (Chundawat, Tarun, Mandal and Kankanhalli, "Can Bad Teaching Induce Forgetting?
Unlearning in Deep Networks Using an Incompetent Teacher", AAAI 2023).

Two frozen teachers: the competent one is the original model, the incompetent one a randomly
initialised model of the same architecture. The student (the model being unlearned, starting as
the original) is distilled on a shuffled mix of the forget set, whose targets come from the
incompetent teacher, and a random ``remain_fraction`` of the remain set, whose targets come from
the competent one: ``KL(teacher_T || student_T)`` with both softmaxes at temperature T.

Follows the authors' ``blindspot_unlearner`` and their CIFAR notebook: Adam, lr 1e-4, 1 epoch,
batch size 256, KL temperature 1, 30 % of the retain set. Differences: the KL is averaged per
sample (``batchmean``, the true KL) where theirs uses ``F.kl_div``'s element mean, which divides
it by the number of classes (Adam's updates barely depend on that scale); each teacher runs only
on the samples it teaches, not on the whole batch (the targets are the same, as both are in eval
mode).
"""

from __future__ import annotations

import copy
import logging

import torch
import torch.nn.functional as F
from torch import nn

from unlearning.data.imageset import ImageSet
from unlearning.hparams.bad_teacher import DESCRIPTION, NAME, Params
from unlearning.methods.common import (
    num_batches,
    progress_bar,
    require_samples,
    show_step,
    start_training,
)
from unlearning.methods.registry import UnlearningTask, register

log = logging.getLogger(__name__)


def incompetent_teacher(original: nn.Module, generator: torch.Generator) -> nn.Module:
    """A frozen, randomly initialised model with the architecture of ``original``.

    A deep copy of ``original`` whose every parameterised module is re-initialised by its own
    ``reset_parameters`` (the architecture's default initialisation; batch norm also resets its
    running statistics), on the CPU, with the global CPU random state seeded from one draw of
    ``generator`` and restored afterwards, so the teacher depends only on ``generator`` and not
    on the device. Buffers of other modules (the input normalisation) are kept.
    """
    device = next(original.parameters()).device
    teacher = copy.deepcopy(original).cpu()
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        for name, module in teacher.named_modules():
            if not any(True for _ in module.parameters(recurse=False)):
                continue
            reset = getattr(module, "reset_parameters", None)
            if reset is None:
                raise ValueError(f"cannot re-initialise module {name!r} ({type(module).__name__})")
            reset()
    return teacher.to(device).eval().requires_grad_(False)


def unlearning_set(
    forget: ImageSet, remain: ImageSet, fraction: float, generator: torch.Generator
) -> ImageSet:
    """D_f with label 1 and a random ``int(fraction * |D_r|)`` of D_r with label 0 (the
    authors' ``UnLearningData`` over ``random.sample(retain, int(0.3 * len(retain)))``)."""
    k = int(fraction * len(remain))
    chosen = torch.randperm(len(remain), generator=generator)[:k].sort().values
    is_forget = torch.cat(
        [torch.ones(len(forget), dtype=torch.long), torch.zeros(k, dtype=torch.long)]
    )
    return ImageSet.concat([forget, remain.subset(chosen)]).relabel(is_forget)


def teacher_targets(
    competent: nn.Module,
    incompetent: nn.Module,
    x: torch.Tensor,
    is_forget: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """softmax(incompetent(x) / T) for forget samples, softmax(competent(x) / T) for the rest."""
    forget = is_forget.bool()
    logits: torch.Tensor | None = None
    with torch.no_grad():
        for teacher, rows in ((incompetent, forget), (competent, ~forget)):
            if rows.any():
                out = teacher(x[rows])
                if logits is None:
                    logits = out.new_empty((x.shape[0], out.shape[1]))
                logits[rows] = out
    assert logits is not None  # a batch has at least one sample
    return (logits / temperature).softmax(dim=1)


@register(NAME, Params, DESCRIPTION)
def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples(NAME, "forget", task.forget)
    if params.remain_fraction > 0:
        require_samples(NAME, "remain", task.remain)
    model, device, generator = task.model, task.device, task.generator
    incompetent = incompetent_teacher(task.original, generator)
    data = unlearning_set(task.forget, task.remain, params.remain_fraction, generator)
    start_training(model)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=params.lr)
    total = params.epochs * num_batches(len(data), params.batch_size)
    loss = torch.zeros(())
    with progress_bar(task, total, NAME) as bar:
        for epoch in range(params.epochs):
            batches = data.batches(
                params.batch_size, device=device, shuffle=True, generator=generator
            )
            for x, is_forget in batches:
                target = teacher_targets(
                    task.original, incompetent, x, is_forget, params.kl_temperature
                )
                log_student = F.log_softmax(model(x) / params.kl_temperature, dim=1)
                loss = F.kl_div(log_student, target, reduction="batchmean")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                show_step(bar, epoch, loss)
    log.info(
        "%s: %d epochs over %d forget and %d remain samples; final KL %.4f",
        NAME,
        params.epochs,
        len(task.forget),
        len(data) - len(task.forget),
        float(loss.detach()),
    )
    return model
