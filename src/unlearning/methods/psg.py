"""Perturbed sign gradient boundary unlearning ("psg"; Nahass et al. 2025).

Inner problem: for each forget batch, a perturbed sign-gradient step (or a few) on the frozen
original model finds a nearby point across its decision boundary. Outer problem: the model being
unlearned is trained so that forget samples take the label (or distribution) of that point,
optionally while staying accurate on a remain batch.

Two formulations of the inner problem (``formulation``):

- ``pixel`` (the default for new work): every perturbation, clamp and distance is in pixel space
  [0, 1]; the gradient is each sample's own; the closeness term -lambda (x' - x) pulls toward x
  (so it is zero at K = 1 and acts only for K >= 2).
- ``reference``: the arithmetic of the paper's reference code, kept exactly so that the paper's
  numbers come back (``psg_reference.py`` lists each difference).

With gamma = lambda = phi = 0 this is Boundary Shrink (Chen et al. 2023), which
``boundary_shrink.py`` runs through :func:`unlearn`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from unlearning.errors import UserError
from unlearning.lazy import F, torch
from unlearning.methods import common
from unlearning.methods import psg_reference as reference
from unlearning.methods.base import (
    AUGMENTATIONS,
    BN_MODES,
    Choice,
    Flag,
    Integer,
    Number,
    Optional,
    PerChannel,
    SGDParams,
    param,
)
from unlearning.methods.psg_reference import LAMBDA_SCHEDULES, REFERENCE_MEAN, REFERENCE_STD
from unlearning.methods.registry import UnlearningTask

if TYPE_CHECKING:
    from torch import nn

DESCRIPTION = "Perturbed sign gradient boundary unlearning (Nahass et al. 2025)"

NOISE_LAWS = ("gaussian", "laplace", "cauchy", "uniform")
TARGETS = ("hard", "soft")
FORMULATIONS = ("pixel", "reference")
LEVELS = 255.0  # pixels live on the 1/255 grid of 8-bit images

_GRID_TOL = 1e-4  # in grid units: absorbs float error when x ± epsilon lands exactly on the grid

_CHEN = "Chen et al. 2023's Boundary Shrink (one FGSM step of 0.1, SGD lr 1e-5, 10 epochs)"
_ATTACK = "adv_generator.py of the reference code (CIFAR-10's, typo in the blue mean included)"

log = logging.getLogger(__name__)


# --- parameters -------------------------------------------------------------------------------


@dataclass
class BoundaryParams(SGDParams):
    """The fields psg shares with boundary_shrink, a preset of it; each names its own config
    section in its messages. ``step_size`` null means alpha = epsilon; ``attack_mean`` and
    ``attack_std`` act only in the reference formulation."""

    lr: float = param(1e-5, source=_CHEN)
    weight_decay: float = param(0.0, source=_CHEN)
    epochs: int = param(10, source=_CHEN)  # passes over the forget set
    formulation: str = param("pixel", Choice(FORMULATIONS))  # reference: the paper's code
    epsilon: float = param(0.1, Number(1 / LEVELS, 1.0), source=_CHEN)  # L-inf radius, pixels
    steps: int = param(1, Integer(1), source="one FGSM step, as Chen et al. and the reference")
    step_size: float | None = param(None, Optional(Number(0.0, low_open=True)))
    bn_mode: str = param("train", Choice(BN_MODES))  # mode of the model in the outer updates
    augment: str = param("none", Choice(AUGMENTATIONS))  # of the forget (and remain) batches
    attack_mean: tuple[float, ...] = param(REFERENCE_MEAN, PerChannel(Number()), source=_ATTACK)
    attack_std: tuple[float, ...] = param(
        REFERENCE_STD, PerChannel(Number(0.0, low_open=True)), source=_ATTACK
    )

    def check(self) -> None:
        method = self.method
        if self.formulation == "reference":
            if self.steps != 1 or self.step_size not in (None, self.epsilon):
                raise UserError(
                    f"{method}: the reference formulation takes one step of size epsilon, got "
                    f"steps {self.steps} and step_size {self.step_size}; set steps: 1 and "
                    f"step_size: null, or use formulation: pixel, in methods.{method}.params."
                )
        elif (self.attack_mean, self.attack_std) != (REFERENCE_MEAN, REFERENCE_STD):
            raise UserError(
                f"{method}: attack_mean and attack_std act only in the reference formulation; "
                f"remove them or set formulation: reference in methods.{method}.params."
            )


@dataclass
class Params(BoundaryParams):
    """psg's search and outer-loss fields on top of the boundary search's; config key
    ``lambda`` is the field ``lambda_``. ``top_k`` acts only with soft targets and
    ``remain_distill`` only with ``phi > 0`` (see :meth:`computation`).

    ``draw_every_iteration`` draws the noise z and a remain batch at every step and iteration,
    used or not, as the reference code does (its FGSM draws z even at gamma = 0, and its loop
    takes a remain batch even at phi = 0). Both come from the generator that also shuffles and
    augments, so with it, settings that differ only in gamma or phi see the same forget batches
    (paired cells); without it (the default), each is drawn only when it is used."""

    lambda_: float = param(0.0, Number(0.0))  # closeness weight (pixel: only when steps >= 2)
    lambda_schedule: str = param("constant", Choice(LAMBDA_SCHEDULES))  # over outer iterations
    lambda_decay_rate: float = param(
        0.01, Number(0.0), source="the exponential_decay scaling of the reference code"
    )
    gamma: float = param(1e-4, Number(0.0))  # scale of the random perturbation z
    noise: str = param("gaussian", Choice(NOISE_LAWS))  # law of z (uniform: on [-1, 1])
    phi: float = param(0.0, Number(0.0))  # weight of the remain loss; 0 draws no remain batch
    targets: str = param("hard", Choice(TARGETS))  # argmax f0(x') or softmax f0(x')
    top_k: int = param(0, Integer(0))  # soft targets: keep the top k and renormalise; 0: all
    remain_distill: bool = param(False, Flag())  # remain targets from f0 instead of y_r
    draw_every_iteration: bool = param(
        False, Flag(), source="the reference code draws z and a remain batch at every iteration"
    )

    def computation(self) -> dict[str, Any]:
        """The values with every one that cannot change the result set to its default."""
        out = self.resolved()
        if out["step_size"] is None:
            out["step_size"] = out["epsilon"]
        if out["formulation"] == "pixel" and out["steps"] == 1:
            out["lambda"] = 0.0  # the closeness term is zero at the only step
        if out["lambda"] == 0:
            out["lambda_schedule"] = "constant"
        if out["lambda_schedule"] != "exponential_decay":
            out["lambda_decay_rate"] = Params.lambda_decay_rate
        if out["gamma"] == 0 and not out["draw_every_iteration"]:
            out["noise"] = "gaussian"  # no z is drawn
        if out["gamma"] > 0 and out["phi"] > 0:
            out["draw_every_iteration"] = False  # both are drawn anyway
        if out["targets"] == "hard":
            out["top_k"] = 0
        if out["phi"] == 0:
            out["remain_distill"] = False
        return out


# --- inner problem ----------------------------------------------------------------------------


def draw_noise(
    law: str, shape: torch.Size | tuple[int, ...], generator: torch.Generator
) -> torch.Tensor:
    """Zero-centred noise of unit scale from ``generator`` on the CPU, so runs repeat exactly."""
    if law == "gaussian":
        return torch.randn(shape, generator=generator)
    if law == "laplace":  # difference of two unit exponentials is Laplace(0, 1)
        first = torch.empty(shape).exponential_(1.0, generator=generator)
        return first - torch.empty(shape).exponential_(1.0, generator=generator)
    if law == "cauchy":
        return torch.empty(shape).cauchy_(0.0, 1.0, generator=generator)
    if law == "uniform":
        return torch.rand(shape, generator=generator) * 2.0 - 1.0
    raise ValueError(f"unknown noise law {law!r}; choose one of {NOISE_LAWS}")


def to_grid(x: torch.Tensor) -> torch.Tensor:
    """Round pixels to the nearest 1/255 level, as an 8-bit image would store them."""
    return torch.round(x * LEVELS) / LEVELS


def grid_ball(x: torch.Tensor, epsilon: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel bounds of the on-grid points of [0, 1] within ``epsilon`` of ``x``.

    Both bounds are grid levels, so rounding a value between them stays between them: the result
    is on the grid, in [0, 1] and within epsilon of x (up to float error of ~4e-7).
    """
    low = torch.ceil((x - epsilon) * LEVELS - _GRID_TOL).clamp_(min=0.0) / LEVELS
    high = torch.floor((x + epsilon) * LEVELS + _GRID_TOL).clamp_(max=LEVELS) / LEVELS
    return low, high


def input_gradient(original: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample gradient of CE(f0(x_i), y_i) w.r.t. each input only; f0 gets no .grad.

    The loss is summed, not averaged, over the batch: each x_i affects only its own loss, so this
    is every sample's own gradient, independent of the batch size. (A batch mean, as in the
    reference code, shrinks the gradient by 1/batch_size against the noise term gamma * z.)
    """
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        loss = F.cross_entropy(original(x), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    return grad


def boundary_search(
    original: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epsilon: float,
    steps: int,
    step_size: float | None = None,
    lam: float = 0.0,
    gamma: float = 0.0,
    noise: str = "gaussian",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Nearby points across f0's decision boundary (the inner problem; docs/architecture.md).

    Starting at x' = x, each of ``steps`` steps does
    ``d = sign(grad_x' CE(f0(x'), y) - lam (x' - x) + gamma z)``, z fresh noise, then
    ``x' <- round_to_grid(clip(x' + step_size d))``. The clip is to the on-grid part of the
    L-inf ball of radius epsilon around x intersected with [0, 1] (see :func:`grid_ball`):
    clipping to the exact ball and then rounding could leave it by up to 1/510, so the ball's
    bounds are rounded inward to the grid first. For x on the grid and epsilon = 0.1 the
    effective radius is 25/255 ≈ 0.098.

    The gradient is each sample's own (see :func:`input_gradient`), so the balance between
    gradient, closeness and noise does not depend on the batch size. A confident f0 can have
    input gradients far below 1e-4, where gamma z sets most signs: the run log reports the share
    of forget samples whose boundary label differs from their label. ``original`` must be in
    eval mode; only input gradients are computed. Noise is drawn on the CPU from ``generator``
    (required when gamma > 0) and moved to x's device.
    """
    if gamma > 0 and generator is None:
        raise ValueError("boundary_search needs a generator when gamma > 0")
    alpha = epsilon if step_size is None else step_size
    x = x.detach()
    low, high = grid_ball(x, epsilon)
    x_adv = x.clone()
    for _ in range(steps):
        direction = input_gradient(original, x_adv, y)
        if lam > 0:
            direction = direction - lam * (x_adv - x)
        if gamma > 0:
            z = draw_noise(noise, x.shape, generator).to(x.device, x.dtype, non_blocking=True)
            direction = direction + gamma * z
        x_adv = to_grid(torch.minimum(torch.maximum(x_adv + alpha * direction.sign(), low), high))
    return x_adv


def keep_top_k(probs: torch.Tensor, k: int) -> torch.Tensor:
    """Zero all but the k largest probabilities per row and renormalise; k = 0 keeps all."""
    if k <= 0 or k >= probs.shape[1]:
        return probs
    values, index = probs.topk(k, dim=1)
    kept = torch.zeros_like(probs).scatter_(1, index, values)
    return kept / kept.sum(dim=1, keepdim=True)


def boundary_targets(
    original: nn.Module, x_adv: torch.Tensor, targets: str = "hard", top_k: int = 0
) -> torch.Tensor:
    """Targets of the outer problem: hard labels argmax f0(x') (int64) or soft distributions."""
    with torch.no_grad():
        logits = original(x_adv)
        if targets == "hard":
            return logits.argmax(dim=1)
        if targets == "soft":
            return keep_top_k(logits.softmax(dim=1), top_k)
    raise ValueError(f"unknown targets {targets!r}; choose one of {TARGETS}")


# --- outer problem ----------------------------------------------------------------------------


def remain_loss(
    task: UnlearningTask,
    batch: tuple[torch.Tensor, torch.Tensor],
    distill: bool,
    formulation: str = "pixel",
) -> torch.Tensor:
    """CE of the model on a remain batch, against y_r or (distill) the original's softmax (the
    reference formulation: the original's raw logits)."""
    x_r, y_r = batch
    if distill:
        if formulation == "reference":
            y_r = reference.remain_targets(task.original, x_r)
        else:
            with torch.no_grad():
                y_r = task.original(x_r).softmax(dim=1)
    return F.cross_entropy(task.model(x_r), y_r)


def search_targets(
    task: UnlearningTask,
    params: Params,
    x: torch.Tensor,
    y: torch.Tensor,
    iteration: int,
    total: int,
) -> torch.Tensor:
    """Targets of the outer problem for one forget batch at outer ``iteration`` (1-based)."""
    lam_now = reference.scheduled_lambda(
        params.lambda_, params.lambda_schedule, iteration, total, params.lambda_decay_rate
    )
    if params.formulation == "reference":
        noise = None
        if params.gamma > 0 or params.draw_every_iteration:
            noise = draw_noise(params.noise, x.shape, task.generator).to(x.device, x.dtype)
        x_attack = reference.boundary_points(
            task.original,
            x,
            y,
            epsilon=params.epsilon,
            lam=params.lambda_,
            lam_now=lam_now,
            gamma=params.gamma,
            noise=noise,
            attack_mean=params.attack_mean,
            attack_std=params.attack_std,
        )
        return reference.boundary_targets(task.original, x_attack, params.targets, params.top_k)
    x_adv = boundary_search(
        task.original,
        x,
        y,
        epsilon=params.epsilon,
        steps=params.steps,
        step_size=params.step_size,
        lam=lam_now,
        gamma=params.gamma,
        noise=params.noise,
        generator=task.generator,
    )
    if params.draw_every_iteration and params.gamma == 0:
        for _ in range(params.steps):  # the z each step would have drawn
            draw_noise(params.noise, x.shape, task.generator)
    return boundary_targets(task.original, x_adv, params.targets, params.top_k)


def unlearn(task: UnlearningTask, params: Params, name: str | None = None) -> nn.Module:
    """The psg loop; ``name`` labels the progress bar and log when another method runs it
    (boundary_shrink), else ``params.method``."""
    name = name or params.method
    common.require_samples(name, "forget", task.forget)
    if params.phi > 0:
        common.require_samples(name, "remain", task.remain)
    model, device, generator = task.model, task.device, task.generator
    common.start_training(model, params.bn_mode)
    optimizer = common.sgd(model, params.lr, params.momentum, params.weight_decay)
    draw_remain = params.phi > 0 or (params.draw_every_iteration and len(task.remain) > 0)
    remain = (
        task.remain.forever(
            params.batch_size, device=device, generator=generator, augment=params.augment
        )
        if draw_remain
        else None
    )
    flipped = torch.zeros((), dtype=torch.long, device=device)
    total = params.epochs * common.num_batches(len(task.forget), params.batch_size)
    iteration = 0
    loss = torch.zeros(())
    with common.progress_bar(task, total, name) as bar:
        for epoch in range(params.epochs):
            flipped.zero_()
            batches = task.forget.batches(
                params.batch_size,
                device=device,
                shuffle=True,
                generator=generator,
                augment=params.augment,
            )
            for x, y in batches:
                iteration += 1
                target = search_targets(task, params, x, y, iteration, total)
                hard = target if target.ndim == 1 else target.argmax(dim=1)
                flipped += (hard != y).sum()
                loss = F.cross_entropy(model(x), target)
                if remain is not None:
                    remain_batch = next(remain)  # drawn even at phi = 0 with draw_every_iteration
                    if params.phi > 0:
                        loss = loss + params.phi * remain_loss(
                            task, remain_batch, params.remain_distill, params.formulation
                        )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                common.show_step(bar, epoch, loss)
    log.info(
        "%s (%s formulation): %d epochs over %d forget samples; last epoch boundary labels "
        "differ from y for %.1f%% of them; final loss %.4f",
        name,
        params.formulation,
        params.epochs,
        len(task.forget),
        100.0 * int(flipped) / len(task.forget),
        float(loss.detach()),
    )
    return model


def run(task: UnlearningTask, params: Params) -> nn.Module:
    return unlearn(task, params)
