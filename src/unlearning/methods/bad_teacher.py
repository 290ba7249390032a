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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from unlearning.lazy import F, lazy, torch
from unlearning.methods import base
from unlearning.methods.base import Integer, Number, param
from unlearning.methods.common import fit, require_samples, start_training
from unlearning.methods.registry import UnlearningTask

if TYPE_CHECKING:
    from torch import nn

    from unlearning.data import imageset
    from unlearning.data.imageset import ImageSet
else:
    imageset = lazy("unlearning.data.imageset")

DESCRIPTION = "Bad Teaching: distil from competent and random teachers (Chundawat 2023)"

_AUTHORS = "the blindspot_unlearner call of the authors' CIFAR-Super20 notebook"


@dataclass
class Params(base.Params):
    """The authors' settings: Adam lr 1e-4, 1 epoch, batch size 256, KL temperature 1, a random
    30 % of the retain set."""

    lr: float = param(1e-4, Number(0.0, low_open=True), source=_AUTHORS)  # Adam's
    epochs: int = param(1, Integer(1), source=_AUTHORS)
    batch_size: int = param(256, Integer(1), source=_AUTHORS)
    kl_temperature: float = param(1.0, Number(0.0, low_open=True), source=_AUTHORS)
    remain_fraction: float = param(0.3, Number(0.0, 1.0), source=_AUTHORS)


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
    return imageset.ImageSet.concat([forget, remain.subset(chosen)]).relabel(is_forget)


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


def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples(params.method, "forget", task.forget)
    if params.remain_fraction > 0:
        require_samples(params.method, "remain", task.remain)
    model, generator = task.model, task.generator
    incompetent = incompetent_teacher(task.original, generator)
    data = unlearning_set(task.forget, task.remain, params.remain_fraction, generator)
    start_training(model)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=params.lr)
    temperature = params.kl_temperature

    def distil(model: nn.Module, x: torch.Tensor, is_forget: torch.Tensor) -> torch.Tensor:
        target = teacher_targets(task.original, incompetent, x, is_forget, temperature)
        log_student = F.log_softmax(model(x) / temperature, dim=1)
        return F.kl_div(log_student, target, reduction="batchmean")

    fit(
        task,
        params,
        data,
        distil,
        optimizer=optimizer,
        data_name="forget and remain",
    )
    return model
