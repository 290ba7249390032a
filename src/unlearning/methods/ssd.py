"""Selective Synaptic Dampening (Foster, Schoepf and Brintrup, "Fast Machine Unlearning without
Retraining through Selective Synaptic Dampening", AAAI 2024).

No gradient training. With the diagonal Fisher importance ``I_f`` of each weight on the forget
set and ``I_D`` (the paper's []_D) on the full training set D = D_f ∪ D_r, every weight with
``I_f > alpha · I_D`` is multiplied by ``beta = min(lambda · I_D / I_f, 1)``; all other
weights are left as they are.

The importance follows the authors' ``ParameterPerturber.calc_importance``: per batch, the square
of the gradient of the batch-mean cross-entropy, summed over batches and divided by the number of
batches (a batch-level, not per-sample, Fisher estimate; its value depends on the batch size).
The model is in eval mode, as in their ``ssd_tuning``. D is taken in stored order, remain set
then forget set, without shuffling (their ``full_train_dl`` is an unshuffled
``ConcatDataset(retain, forget)``). ``max_samples`` caps D at a seeded random subset (kept in
stored order) for speed; the forget set is never subsampled, so every forget sample counts.

Scale of alpha: D's forget part is batched on its own, so ``I_D >= (b_f / b_D) I_f`` up to the
one batch that straddles D_r and D_f (b = number of batches): no weight is selected unless alpha
is below about ``|D| / |D_f|``. The paper's alpha 10 suits CIFAR-20/100 class forgetting (ratio
20 or 100); with one class of ten forgotten it dampens (almost) nothing. A ``max_samples`` cap
mixes the few sampled forget images with remain images in one batch and so shifts this scale.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from unlearning.lazy import F, lazy, torch
from unlearning.methods import base
from unlearning.methods.base import Integer, Number, param
from unlearning.methods.common import (
    num_batches,
    progress_bar,
    require_samples,
    show_step,
)
from unlearning.methods.registry import UnlearningTask

if TYPE_CHECKING:
    from torch import nn

    from unlearning.data import imageset
    from unlearning.data.imageset import ImageSet
else:
    imageset = lazy("unlearning.data.imageset")

DESCRIPTION = "Selective Synaptic Dampening by Fisher importance (Foster et al. 2024)"

_AUTHORS = "the authors' ResNet18 CIFAR experiments (forget_full_class_main.py)"

log = logging.getLogger(__name__)


@dataclass
class Params(base.Params):
    """Defaults of the authors' ResNet18 CIFAR experiments; config key ``lambda`` is the field
    ``lambda_``."""

    #: selection weighting: dampen where I_f > alpha I_D
    alpha: float = param(10.0, Number(0.0), source=_AUTHORS)
    #: dampening constant: beta = min(lambda I_D / I_f, 1)
    lambda_: float = param(1.0, Number(0.0), source=_AUTHORS)
    #: batch of the importance estimate
    batch_size: int = param(64, Integer(1), source=f"-b of {_AUTHORS}")
    #: at most this many samples of D for I_D; 0 = all
    max_samples: int = param(0, Integer(0), source=f"the whole training set, as in {_AUTHORS}")


def union(first: ImageSet, second: ImageSet, indices: torch.Tensor | None = None) -> ImageSet:
    """The samples ``indices`` (default: all) of ``first`` followed by ``second``, in that order.

    Selections of one memory-mapped source stay index-only: the full training set is never
    copied into memory."""
    both = imageset.ImageSet.concat([first, second])
    return both if indices is None else both.subset(indices)


def full_training_set(
    remain: ImageSet, forget: ImageSet, max_samples: int, generator: torch.Generator
) -> ImageSet:
    """D = D_r then D_f; with ``max_samples`` > 0 and a larger D, a seeded random subset of
    that size, kept in stored order."""
    n = len(remain) + len(forget)
    if max_samples <= 0 or max_samples >= n:
        return union(remain, forget)
    chosen = torch.randperm(n, generator=generator)[:max_samples].sort().values
    return union(remain, forget, chosen)


def fisher_importance(
    model: nn.Module,
    parameters: Sequence[nn.Parameter],
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    step: Callable[[torch.Tensor], None] | None = None,
) -> list[torch.Tensor]:
    """Mean over batches of the squared gradient of the batch-mean CE, one tensor per parameter.

    Gradients come from ``torch.autograd.grad``, so no ``.grad`` is left on the model. ``step``
    (optional) is called with each batch's loss, for the progress bar.
    """
    importance = [torch.zeros_like(p) for p in parameters]
    count = 0
    for x, y in batches:
        loss = F.cross_entropy(model(x), y)
        grads = torch.autograd.grad(loss, parameters, allow_unused=True)
        for imp, g in zip(importance, grads, strict=True):
            if g is not None:
                imp.add_(g.square())
        count += 1
        if step is not None:
            step(loss)
    if count == 0:
        raise ValueError("fisher_importance needs at least one batch")
    for imp in importance:
        imp.div_(count)
    return importance


def dampen(
    parameters: Sequence[torch.Tensor],
    forget_importance: Sequence[torch.Tensor],
    full_importance: Sequence[torch.Tensor],
    alpha: float,
    lam: float,
) -> int:
    """SSD's selection and dampening, in place; returns the number of weights dampened.

    A weight is selected where ``forget > alpha * full``; it is multiplied by
    ``min(lam * full / forget, 1)`` (never increased). Unselected weights are untouched.
    """
    selected = 0
    with torch.no_grad():
        for p, imp_f, imp_d in zip(parameters, forget_importance, full_importance, strict=True):
            chosen = imp_f > alpha * imp_d  # implies imp_f > 0: the division below is safe there
            beta = (lam * imp_d[chosen] / imp_f[chosen]).clamp(max=1.0)
            p[chosen] = p[chosen] * beta.to(p.dtype)
            selected += int(chosen.sum())
    return selected


def run(task: UnlearningTask, params: Params) -> nn.Module:
    require_samples(params.method, "forget", task.forget)
    model, device = task.model, task.device
    full = full_training_set(task.remain, task.forget, params.max_samples, task.generator)
    model.eval()
    model.requires_grad_(True)
    parameters = list(model.parameters())
    total = num_batches(len(task.forget), params.batch_size) + num_batches(
        len(full), params.batch_size
    )
    with progress_bar(task, total, params.method) as bar:
        forget_imp = fisher_importance(
            model,
            parameters,
            task.forget.batches(params.batch_size, device=device),
            lambda loss: show_step(bar, 0, loss),
        )
        full_imp = fisher_importance(
            model,
            parameters,
            full.batches(params.batch_size, device=device),
            lambda loss: show_step(bar, 0, loss),
        )
    selected = dampen(parameters, forget_imp, full_imp, params.alpha, params.lambda_)
    n_weights = sum(p.numel() for p in parameters)
    log.info(
        "ssd: importances on %d forget and %d training samples; dampened %d of %d weights "
        "(%.3f%%) with alpha %g, lambda %g",
        len(task.forget),
        len(full),
        selected,
        n_weights,
        100.0 * selected / n_weights,
        params.alpha,
        params.lambda_,
    )
    return model
