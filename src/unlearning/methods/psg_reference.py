"""The reference code's arithmetic for psg's inner problem (``formulation: reference``).

The numbers of Nahass et al. (2025) were produced by this arithmetic (``adv_generator.py`` and
``boundary_unlearning.py`` of the authors' repository), which differs from the corrected ``pixel``
formulation of ``psg.py`` in four ways, each reproduced here on purpose:

1. the gradient is that of the batch-*mean* cross-entropy with respect to the *data-normalised*
   input, i.e. the per-sample pixel gradient times sigma / B, so gamma lives on that scale;
2. one FGSM step ``sign(g + lambda_t (x_n - x_nat) + gamma z)`` (the lambda term only when the
   configured lambda is > 0), where ``x_n`` is the data-normalised input and ``x_nat`` its
   "pixel" version, so lambda acts at K = 1 and pushes away from the input;
3. the attack inverse-normalises, clamps to the epsilon ball and [0, 1], rounds to 1/255 and
   normalises again with its *own* constants (CIFAR-10's, with a blue-channel mean of 0.2265; a
   grey image uses the first channel's), whatever the dataset's normalisation;
4. the boundary label is f0's output on that attack-normalised point fed to the network as if it
   were data-normalised.

Soft targets are the raw logits of f0 on that point used as cross-entropy targets (the
reference's ``use_logits``), and ``top_k`` keeps the k largest logits divided by their sum (its
``preprocess_logits``). Our models take pixels and normalise in their first layer, so this module
works on ``model.normalize`` and feeds ``model.head(model.features(.))`` directly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from unlearning.errors import UserError
from unlearning.lazy import F, torch

if TYPE_CHECKING:
    from torch import nn

#: The reference attack's normalisation constants (adv_generator.py), typo in the blue mean
#: included: psg's ``attack_mean`` and ``attack_std`` default to them.
REFERENCE_MEAN = (0.4914, 0.4822, 0.2265)
REFERENCE_STD = (0.2023, 0.1994, 0.2010)

#: The reference's lambda scalings over the outer iterations (its ``scaling`` argument).
LAMBDA_SCHEDULES = ("constant", "inverse", "exponential_decay", "linear_decay")


def scheduled_lambda(
    lam: float, schedule: str, iteration: int, total: int, decay_rate: float = 0.01
) -> float:
    """lambda at outer ``iteration`` (1-based, of ``total``), as the reference's scalings."""
    if schedule == "constant":
        return lam
    if schedule == "inverse":
        return lam / iteration
    if schedule == "exponential_decay":
        return lam * math.exp(-decay_rate * iteration)
    if schedule == "linear_decay":
        return lam * (1.0 - iteration / total)
    raise ValueError(f"unknown lambda schedule {schedule!r}; choose one of {LAMBDA_SCHEDULES}")


def _channel_constants(values: Sequence[float], channels: int, like: torch.Tensor) -> torch.Tensor:
    """Per-channel constants shaped for broadcasting; a grey image takes the first channel's."""
    if channels == 3:
        if len(values) != 3:
            raise UserError(
                f"attack_mean and attack_std need 3 values for colour images, got {list(values)}; "
                "fix them in the psg params of the config."
            )
        picked = list(values)
    elif channels == 1:
        picked = [values[0]]
    else:
        raise ValueError(f"the reference attack supports 1 or 3 channels, got {channels}")
    return torch.tensor(picked, dtype=like.dtype, device=like.device).view(1, -1, 1, 1)


def network(model: nn.Module, x_normalised: torch.Tensor) -> torch.Tensor:
    """Logits of a Classifier on an input that is already data-normalised."""
    return model.head(model.features(x_normalised))


def boundary_points(
    original: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epsilon: float,
    lam: float,
    lam_now: float,
    gamma: float,
    noise: torch.Tensor | None,
    attack_mean: Sequence[float] = REFERENCE_MEAN,
    attack_std: Sequence[float] = REFERENCE_STD,
) -> torch.Tensor:
    """The reference's FGSM point, attack-normalised (what it feeds f0), for pixel batch ``x``.

    ``lam`` is the configured lambda (its sign decides whether the term is present, as in the
    reference); ``lam_now`` its scheduled value at this iteration. ``noise`` is z (x's shape),
    or None when gamma = 0.
    """
    with torch.no_grad():
        x_n = original.normalize(x)
    mean = _channel_constants(attack_mean, x.shape[1], x_n)
    std = _channel_constants(attack_std, x.shape[1], x_n)
    with torch.enable_grad():
        x_in = x_n.detach().requires_grad_(True)
        loss = F.cross_entropy(network(original, x_in), y)  # batch mean, as nn.CrossEntropyLoss
        (grad,) = torch.autograd.grad(loss, x_in)
    x_nat = x_n * std + mean
    direction = grad
    if lam > 0:
        direction = direction + lam_now * (x_n - x_nat)
    if gamma > 0 and noise is not None:
        direction = direction + gamma * noise
    x_adv = x_nat + direction.sign() * epsilon
    delta = torch.clamp(x_adv - x_nat, -epsilon, epsilon)
    x_adv = torch.clamp(x_nat + delta, 0.0, 1.0)
    x_adv = torch.round(x_adv * 255) / 255
    return (x_adv - mean) / std


def boundary_targets(
    original: nn.Module, x_attack: torch.Tensor, targets: str = "hard", top_k: int = 0
) -> torch.Tensor:
    """Hard labels argmax f0(x'), or the reference's soft targets: raw logits (top-k kept and
    divided by their sum when ``top_k`` > 0)."""
    with torch.no_grad():
        logits = network(original, x_attack)
        if targets == "hard":
            return logits.argmax(dim=1)
        if top_k > 0:
            values, index = torch.topk(logits, min(top_k, logits.shape[1]), dim=1)
            sparse = torch.zeros_like(logits).scatter_(1, index, values)
            return sparse / sparse.sum(dim=1, keepdim=True)
        return logits


def remain_targets(original: nn.Module, x_r: torch.Tensor) -> torch.Tensor:
    """The reference's remain distillation targets: f0's raw logits on the remain batch."""
    with torch.no_grad():
        return original(x_r)
