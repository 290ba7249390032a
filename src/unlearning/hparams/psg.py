"""Hyperparameters of psg and the checks it shares with boundary_shrink (the method is in
:mod:`unlearning.methods.psg`, the reference arithmetic in :mod:`unlearning.methods.psg_reference`).

The constants the checks need (the reference attack's normalisation, the lambda schedules, the
pixel grid) are defined here, torch-free, and imported by the method modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from unlearning.errors import UserError
from unlearning.hparams.checks import (
    AUGMENTATIONS,
    BN_MODES,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_optimizer,
)

NAME = "psg"
DESCRIPTION = "Perturbed sign gradient boundary unlearning (Nahass et al. 2025)"

NOISE_LAWS = ("gaussian", "laplace", "cauchy", "uniform")
TARGETS = ("hard", "soft")
FORMULATIONS = ("pixel", "reference")
LEVELS = 255.0  # pixels live on the 1/255 grid of 8-bit images

#: The reference attack's constants (adv_generator.py), typo in the blue mean included.
REFERENCE_MEAN = (0.4914, 0.4822, 0.2265)
REFERENCE_STD = (0.2023, 0.1994, 0.2010)
LAMBDA_SCHEDULES = ("constant", "inverse", "exponential_decay", "linear_decay")


@dataclass
class Params:
    """Hyperparameters of psg; config key ``lambda`` is the field ``lambda_``.

    ``top_k`` acts only with soft targets and ``remain_distill`` only with ``phi > 0``; otherwise
    they are ignored, and :meth:`computation` drops them, so the config check can refuse two
    settings that compute the same thing.
    """

    formulation: str = "pixel"  # pixel (corrected) | reference (the paper's code, exactly)
    epsilon: float = 0.1  # L-inf radius of the boundary search, in pixels
    steps: int = 1  # K, sign steps of the inner problem (the reference takes one)
    step_size: float | None = None  # alpha; None means alpha = epsilon
    lambda_: float = 0.0  # closeness weight (pixel: acts only when steps >= 2)
    lambda_schedule: str = "constant"  # over outer iterations: inverse, exponential/linear_decay
    lambda_decay_rate: float = 0.01  # rate of the exponential_decay schedule
    gamma: float = 1e-4  # scale of the random perturbation z
    noise: str = "gaussian"  # law of z: gaussian, laplace, cauchy, uniform (on [-1, 1])
    attack_mean: tuple[float, ...] = REFERENCE_MEAN  # reference formulation only
    attack_std: tuple[float, ...] = REFERENCE_STD  # reference formulation only
    augment: str = "none"  # augmentation of the forget (and remain) batches while unlearning
    phi: float = 0.0  # weight of the remain-set loss; 0 draws no remain batch
    targets: str = "hard"  # hard: argmax f0(x'); soft: softmax f0(x') (reference: raw logits)
    top_k: int = 0  # soft targets: keep the top-k probabilities and renormalise; 0 keeps all
    remain_distill: bool = False  # remain targets come from f0 instead of y_r
    bn_mode: str = "train"  # mode of the model during the outer updates
    lr: float = 1e-5
    momentum: float = 0.9
    weight_decay: float = 0.0
    epochs: int = 10  # passes over the forget set
    batch_size: int = 64

    def __post_init__(self) -> None:
        check_boundary_params("psg", self)
        self.lambda_ = check_float("psg", "lambda_", self.lambda_, low=0.0)
        self.lambda_schedule = check_choice(
            "psg", "lambda_schedule", self.lambda_schedule, LAMBDA_SCHEDULES
        )
        self.lambda_decay_rate = check_float(
            "psg", "lambda_decay_rate", self.lambda_decay_rate, low=0.0
        )
        self.gamma = check_float("psg", "gamma", self.gamma, low=0.0)
        self.noise = check_choice("psg", "noise", self.noise, NOISE_LAWS)
        self.phi = check_float("psg", "phi", self.phi, low=0.0)
        self.targets = check_choice("psg", "targets", self.targets, TARGETS)
        self.top_k = check_int("psg", "top_k", self.top_k, low=0)
        self.remain_distill = check_bool("psg", "remain_distill", self.remain_distill)

    def computation(self) -> dict[str, Any]:
        """The parameters with every value that cannot change the result set to its default:
        two settings with equal computations run the same arithmetic."""
        out = dict(vars(self))
        if out["step_size"] is None:
            out["step_size"] = out["epsilon"]
        if out["formulation"] == "pixel" and out["steps"] == 1:
            out["lambda_"] = 0.0  # the closeness term is zero at the only step
        if out["lambda_"] == 0:
            out["lambda_schedule"] = "constant"
        if out["lambda_schedule"] != "exponential_decay":
            out["lambda_decay_rate"] = Params.lambda_decay_rate
        if out["gamma"] == 0:
            out["noise"] = "gaussian"
        if out["targets"] == "hard":
            out["top_k"] = 0
        if out["phi"] == 0:
            out["remain_distill"] = False
        return out


def check_boundary_params(method: str, params: Any) -> None:
    """Checks shared by psg and boundary_shrink, so each names its own config section."""
    params.formulation = check_choice(method, "formulation", params.formulation, FORMULATIONS)
    params.epsilon = check_float(method, "epsilon", params.epsilon, low=1 / LEVELS, high=1.0)
    params.steps = check_int(method, "steps", params.steps, low=1)
    if params.step_size is not None:
        params.step_size = check_float(
            method, "step_size", params.step_size, low=0.0, low_open=True
        )
    params.bn_mode = check_choice(method, "bn_mode", params.bn_mode, BN_MODES)
    params.augment = check_choice(method, "augment", params.augment, AUGMENTATIONS)
    params.attack_mean = _constants(method, "attack_mean", params.attack_mean, positive=False)
    params.attack_std = _constants(method, "attack_std", params.attack_std, positive=True)
    if params.formulation == "reference":
        if params.steps != 1 or params.step_size not in (None, params.epsilon):
            raise UserError(
                f"{method}: the reference formulation takes one step of size epsilon, got "
                f"steps {params.steps} and step_size {params.step_size}; set steps: 1 and "
                f"step_size: null, or use formulation: pixel, in methods.{method}.params."
            )
    elif (params.attack_mean, params.attack_std) != (REFERENCE_MEAN, REFERENCE_STD):
        raise UserError(
            f"{method}: attack_mean and attack_std act only in the reference formulation; "
            f"remove them or set formulation: reference in methods.{method}.params."
        )
    check_optimizer(method, params)


def _constants(method: str, key: str, values: Any, *, positive: bool) -> tuple[float, ...]:
    """One to three finite numbers (per channel), as a tuple so settings compare by value."""
    if not isinstance(values, list | tuple) or not 1 <= len(values) <= 3:
        raise UserError(
            f"{method}: {key} must be a list of 1 to 3 numbers (per channel), got {values!r}; "
            f"fix methods.{method}.params.{key} in the config."
        )
    return tuple(
        check_float(method, key, v, low=0.0 if positive else None, low_open=positive)
        for v in values
    )
