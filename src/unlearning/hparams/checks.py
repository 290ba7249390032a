"""Checks of hyperparameter values, shared by every method's parameters.

They live apart from the methods (and from torch) so that the workflow can validate a config
without importing torch, and so that every method reports a bad value the same way: one sentence
naming the config key.
"""

from __future__ import annotations

import math
from typing import Any

from unlearning.errors import UserError

BN_MODES = ("train", "eval")

#: Batch augmentations; the same tuple as ``unlearning.data.imageset.AUGMENTATIONS`` (a test
#: checks), repeated here because that module imports torch.
AUGMENTATIONS = ("none", "crop_flip", "crop", "flip")


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
    """Accept ints, floats and numeric strings (YAML reads ``1e-5`` without a dot as a string),
    but never NaN or infinity, which ``float`` also reads from strings like ``"nan"``."""
    number = None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            number = float(value)
        except (ValueError, OverflowError):  # not a number, or an int beyond any float
            pass
    if number is None or not math.isfinite(number):
        raise _fail(method, key, "a finite number", value)
    return number


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
