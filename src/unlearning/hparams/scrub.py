"""Hyperparameters of SCRUB and SCRUB+R (both methods are in :mod:`unlearning.methods.scrub`)."""

from __future__ import annotations

from dataclasses import dataclass

from unlearning.hparams.checks import check_float, check_int, check_optimizer

NAME = "scrub"
DESCRIPTION = "SCRUB: teacher-student max/min steps on forget/remain (Kurmanji 2023)"
REWIND_NAME = "scrub_r"
REWIND_DESCRIPTION = (
    "SCRUB+R: SCRUB, rewound to the epoch whose forget error best "
    "matches held-out data (Kurmanji 2023)"
)


@dataclass
class Params:
    """Defaults are the authors' CIFAR-10 class-forgetting settings (``meghdadk/SCRUB``,
    ``large_scale_unlearning.ipynb``): alpha (KL weight) 0.001, gamma (CE weight) 0.99, kd_T 4,
    sgda_epochs 3, msteps 2, SGD lr 5e-4, momentum 0.9, weight decay 5e-4, sgda_batch_size 128
    (remain batches) and del_batch_size 32 (forget batches)."""

    alpha: float = 0.001
    gamma: float = 0.99
    kd_temperature: float = 4.0
    epochs: int = 3
    max_steps: int = 2
    lr: float = 5e-4
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 128
    forget_batch_size: int = 32

    def __post_init__(self) -> None:
        self.check("scrub")

    def check(self, method: str) -> None:
        self.alpha = check_float(method, "alpha", self.alpha, low=0.0)
        self.gamma = check_float(method, "gamma", self.gamma, low=0.0)
        self.kd_temperature = check_float(
            method, "kd_temperature", self.kd_temperature, low=0.0, low_open=True
        )
        self.max_steps = check_int(method, "max_steps", self.max_steps, low=0)
        self.forget_batch_size = check_int(
            method, "forget_batch_size", self.forget_batch_size, low=1
        )
        check_optimizer(method, self)


@dataclass
class RewindParams(Params):
    """SCRUB's parameters and defaults; scrub_r adds only the rewinding."""

    def __post_init__(self) -> None:
        self.check("scrub_r")
