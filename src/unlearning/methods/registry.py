"""The method registry: a method is one module that registers a run function and its parameters.

Adding a method means writing a module in this package, decorating its ``run`` function with
:func:`register`, importing the module in ``methods/__init__.py`` and giving it a config entry.
"""

from __future__ import annotations

import dataclasses
import keyword
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from unlearning.data.imageset import ImageSet
from unlearning.errors import UserError


@dataclass
class UnlearningTask:
    """Everything a method may use. ``model`` starts as a copy of ``original`` and is modified.

    ``original`` is frozen (eval mode, no parameter gradients); methods must not change it.
    ``validation`` is held-out data the model never trained on (for methods that select epochs).
    ``sources`` holds earlier unlearning runs a method builds on (``compose``), by role.
    """

    model: nn.Module
    original: nn.Module
    forget: ImageSet
    remain: ImageSet
    validation: ImageSet
    num_classes: int
    device: torch.device
    generator: torch.Generator
    architecture: str = "allcnn"
    progress: bool = True
    sources: dict[str, nn.Module] = dataclasses.field(default_factory=dict)


RunFn = Callable[[UnlearningTask, Any], nn.Module]


@dataclass(frozen=True)
class Method:
    name: str
    params_type: type
    run: RunFn
    description: str

    def parse_params(self, raw: dict[str, Any]) -> Any:
        """Build the method's parameter dataclass; an unknown key is a user error naming it.

        Config keys that are Python keywords (``lambda``) map to fields with a trailing ``_``.
        """
        raw = {(k + "_" if keyword.iskeyword(k) else k): v for k, v in raw.items()}
        known = {f.name for f in dataclasses.fields(self.params_type)}
        unknown = sorted(k.rstrip("_") for k in set(raw) - known)
        if unknown:
            raise UserError(
                f"Unknown hyperparameter(s) {unknown} for method '{self.name}'; "
                f"use only {sorted(k.rstrip('_') for k in known)} under methods.{self.name} "
                "in the config."
            )
        return self.params_type(**raw)

    def resolved_params(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Every hyperparameter the run used, defaults included, under its config name."""
        parsed = self.parse_params(raw)
        return {
            f.name.removesuffix("_") if keyword.iskeyword(f.name.removesuffix("_")) else f.name: (
                getattr(parsed, f.name)
            )
            for f in dataclasses.fields(parsed)
        }


_REGISTRY: dict[str, Method] = {}


def register(name: str, params_type: type, description: str) -> Callable[[RunFn], RunFn]:
    def decorate(fn: RunFn) -> RunFn:
        if name in _REGISTRY:
            raise ValueError(f"method {name!r} registered twice")
        _REGISTRY[name] = Method(name, params_type, fn, description)
        return fn

    return decorate


def get_method(name: str) -> Method:
    if name not in _REGISTRY:
        raise UserError(f"Unknown unlearning method '{name}'; choose one of {sorted(_REGISTRY)}.")
    return _REGISTRY[name]


def available_methods() -> list[str]:
    return sorted(_REGISTRY)
