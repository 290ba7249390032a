"""Supervised training of the original model and of the retrain-from-scratch reference.

SGD with momentum and a learning-rate schedule; the last epoch's weights are the model (no
checkpoint is selected on held-out data, let alone on test data).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from unlearning.data.imageset import AUGMENTATIONS, ImageSet
from unlearning.errors import UserError
from unlearning.progress import progress_bar, show_step

SCHEDULES = ("cosine", "step", "constant")


@dataclass
class TrainConfig:
    epochs: int = 15
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    augment: str = "none"

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
    """Train ``model`` in place; return the mean loss of the last epoch."""
    if len(data) == 0:
        raise UserError("The training set is empty; check the dataset and the forget condition.")
    model.to(device).train()
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
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.detach() * len(y)
            seen += len(y)
            show_step(bar, epoch, loss, config.epochs)
        epoch_loss = float(loss_sum) / max(1, seen)
    bar.close()
    return epoch_loss
