"""Pieces every method shares: parameter checks, the optimizer, batch-norm mode, the progress bar.

Keeping them here means every method reports a bad hyperparameter the same way (one sentence
naming the config key) and shows the same progress bar.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from unlearning.data.imageset import ImageSet
from unlearning.errors import UserError
from unlearning.methods.registry import UnlearningTask
from unlearning.progress import progress_bar as shared_progress_bar
from unlearning.progress import show_step  # noqa: F401 (re-exported for the methods)

BN_MODES = ("train", "eval")


# --- parameter checks -------------------------------------------------------------------------


def _config_key(key: str) -> str:
    """Dataclass field -> config key (``lambda_`` is ``lambda`` in the config)."""
    return key[:-1] if key.endswith("_") else key


def _fail(method: str, key: str, requirement: str, value: Any) -> UserError:
    key = _config_key(key)
    return UserError(
        f"{method}: {key} must be {requirement}, got {value!r}; "
        f"fix methods.{method}.params.{key} in the config."
    )


def _as_number(method: str, key: str, value: Any) -> float:
    """Accept ints, floats and numeric strings (YAML reads ``1e-5`` without a dot as a string)."""
    if isinstance(value, bool):
        raise _fail(method, key, "a number", value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _fail(method, key, "a number", value)


def check_float(
    method: str,
    key: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite float in [low, high] (open ends where asked); returns it as ``float``."""
    x = _as_number(method, key, value)
    too_low = low is not None and (x <= low if low_open else x < low)
    too_high = high is not None and (x >= high if high_open else x > high)
    if not math.isfinite(x) or too_low or too_high:
        raise _fail(method, key, _range_text(low, high, low_open, high_open), value)
    return x


def check_int(method: str, key: str, value: Any, *, low: int) -> int:
    """An integer >= low; integral floats and numeric strings are accepted."""
    x = _as_number(method, key, value)
    if not math.isfinite(x) or x != int(x) or x < low:
        raise _fail(method, key, f"an integer >= {low}", value)
    return int(x)


def check_choice(method: str, key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise _fail(method, key, "one of " + ", ".join(choices), value)
    return value


def check_bool(method: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(method, key, "true or false", value)
    return value


def check_optimizer(method: str, params: Any) -> None:
    """Validate and normalise the SGD fields shared by all methods (lr, momentum, weight_decay,
    epochs, batch_size) in place."""
    params.lr = check_float(method, "lr", params.lr, low=0.0, low_open=True)
    params.momentum = check_float(
        method, "momentum", params.momentum, low=0.0, high=1.0, high_open=True
    )
    params.weight_decay = check_float(method, "weight_decay", params.weight_decay, low=0.0)
    params.epochs = check_int(method, "epochs", params.epochs, low=1)
    params.batch_size = check_int(method, "batch_size", params.batch_size, low=1)


def _range_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        return f"a number in {left}{low:g}, {high:g}{right}"
    if low is not None:
        return f"a number {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"a number {'<' if high_open else '<='} {high:g}"
    return "a finite number"


def require_samples(method: str, name: str, data: ImageSet) -> None:
    """An empty forget or remain set is a condition problem the user must fix, not a crash."""
    if len(data) == 0:
        raise UserError(
            f"{method}: the {name} set is empty; check the forget condition in the config."
        )


# --- training helpers -------------------------------------------------------------------------


def sgd(model: nn.Module, lr: float, momentum: float, weight_decay: float) -> torch.optim.SGD:
    """SGD over the trainable parameters, the optimizer of the reference implementations."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(trainable, lr=lr, momentum=momentum, weight_decay=weight_decay)


def start_training(model: nn.Module, bn_mode: str = "train") -> None:
    """Make every weight trainable and set the mode of the outer updates.

    ``train`` lets batch-norm statistics update during unlearning; ``eval`` freezes them. The whole
    model follows the mode (dropout too), since a mode is a property of the model.
    """
    if bn_mode not in BN_MODES:
        raise ValueError(f"bn_mode must be one of {BN_MODES}, got {bn_mode!r}")
    model.requires_grad_(True)
    model.train(bn_mode == "train")


def num_batches(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)


def progress_bar(task: UnlearningTask, total: int, desc: str) -> tqdm:
    """The shared progress bar, silent when the task asks for no progress output."""
    return shared_progress_bar(total, desc, enabled=task.progress)


def fit_remain(
    task: UnlearningTask,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    batch_size: int,
    name: str,
) -> torch.Tensor:
    """Cross-entropy on shuffled D_r batches with ``optimizer``: the loop of finetune, CF-k,
    EU-k and compose's fine-tuning. Returns the last batch's loss."""
    total = epochs * num_batches(len(task.remain), batch_size)
    loss = torch.zeros(())
    with progress_bar(task, total, name) as bar:
        for epoch in range(epochs):
            batches = task.remain.batches(
                batch_size, device=task.device, shuffle=True, generator=task.generator
            )
            for x, y in batches:
                loss = F.cross_entropy(model(x), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                show_step(bar, epoch, loss, epochs)
    return loss
