"""Supervised training of the original model and of the retrain-from-scratch reference.

SGD with momentum and a learning-rate schedule; the last epoch's weights are the model (no
checkpoint is selected on held-out data, let alone on test data).

``precision: bf16`` and ``channels_last: true`` are opt-in speed settings: the defaults keep the
fp32, contiguous computation, so default results stay bit for bit what they were.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from unlearning.data.imageset import AUGMENTATIONS, ImageSet
from unlearning.errors import UserError
from unlearning.progress import NonFiniteLoss, progress_bar, show_step

SCHEDULES = ("cosine", "step", "constant")
PRECISIONS = ("fp32", "bf16")


@dataclass
class TrainConfig:
    epochs: int = 15
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    augment: str = "none"
    precision: str = "fp32"
    channels_last: bool = False

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise UserError(
                "Training needs epochs >= 1, batch_size >= 1 and lr > 0; fix the train section "
                "of the dataset in the config."
            )
        if self.schedule not in SCHEDULES:
            raise UserError(f"Unknown train.schedule {self.schedule!r}; use one of {SCHEDULES}.")
        if self.augment not in AUGMENTATIONS:
            raise UserError(f"Unknown train.augment {self.augment!r}; use one of {AUGMENTATIONS}.")
        if self.precision not in PRECISIONS:
            raise UserError(
                f"Unknown datasets.<dataset>.train.precision {self.precision!r}; use one of "
                f"{PRECISIONS}."
            )
        if not isinstance(self.channels_last, bool):
            raise UserError(
                "datasets.<dataset>.train.channels_last must be true or false, not "
                f"{self.channels_last!r}."
            )


def bf16_autocast_supported(device: torch.device) -> bool:
    """Whether bfloat16 autocast really runs on ``device`` (not silently disabled or emulated)."""
    if device.type == "cuda":
        try:  # emulated bf16 (pre-Ampere GPUs) is slower than fp32, so it does not count
            return torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # torch < 2.4 has no including_emulation
            return torch.cuda.is_bf16_supported()
    with warnings.catch_warnings():
        # torch.autocast only warns, and runs in fp32, on a dtype the device lacks
        warnings.simplefilter("error", UserWarning)
        try:
            torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        except (RuntimeError, UserWarning):
            return False
    return True


def mixed_precision(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The context for forward and loss: nothing for fp32, bfloat16 autocast for bf16.

    Weights, gradients and optimiser state stay fp32; bf16 has fp32's exponent range, so no
    loss scaling is needed.
    """
    if precision == "fp32":
        return contextlib.nullcontext()
    if not bf16_autocast_supported(device):
        raise UserError(
            f"datasets.<dataset>.train.precision bf16 needs bfloat16 autocast, which device "
            f"{device} does not support; use precision: fp32 there."
        )
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def lr_factor(schedule: str, step: int, total: int) -> float:
    """Multiplier of the base learning rate at optimiser step ``step`` of ``total``."""
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * step / max(1, total)))
    if schedule == "step":  # x0.1 at 50 % and 75 % of training
        return 0.1 ** (int(step >= 0.5 * total) + int(step >= 0.75 * total))
    return 1.0


def train_classifier(
    model: nn.Module,
    data: ImageSet,
    config: TrainConfig,
    *,
    device: torch.device,
    generator: torch.Generator,
    progress: bool = True,
    description: str = "train",
) -> float:
    """Train ``model`` in place; return the mean loss of the last epoch.

    A non-finite epoch loss raises :class:`NonFiniteLoss` naming ``description`` and the epoch:
    the epoch mean is read at each epoch's end anyway, so the check costs no extra GPU sync.

    With ``channels_last`` the model trains in that memory format and is returned to the
    contiguous one, so its checkpoint looks like any other.
    """
    if len(data) == 0:
        raise UserError("The training set is empty; check the dataset and the forget condition.")
    autocast = mixed_precision(config.precision, device)
    model.to(device).train()
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
    )
    steps_per_epoch = math.ceil(len(data) / config.batch_size)
    total = config.epochs * steps_per_epoch
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(config.schedule, step, total)
    )
    bar = progress_bar(total, description, enabled=progress)
    epoch_loss = float("nan")
    for epoch in range(config.epochs):
        loss_sum, seen = 0.0, 0
        for x, y in data.batches(
            config.batch_size,
            device=device,
            shuffle=True,
            generator=generator,
            augment=config.augment,
        ):
            if config.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with autocast:
                loss = F.cross_entropy(model(x).float(), y)  # loss in fp32 (no-op without bf16)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.detach() * len(y)
            seen += len(y)
            show_step(bar, epoch, loss, config.epochs)
        epoch_loss = float(loss_sum) / max(1, seen)
        if not math.isfinite(epoch_loss):
            bar.close()
            raise NonFiniteLoss(description, epoch + 1, config.epochs)
    bar.close()
    if config.channels_last:
        model.to(memory_format=torch.contiguous_format)
    return epoch_loss
