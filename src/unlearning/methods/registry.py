"""The method registry: a method is the module of this package named like it.

A method module defines ``DESCRIPTION`` (one line), ``Params`` (its own subclass of
:class:`unlearning.methods.base.Params`, which takes the module's name as ``Params.method``) and
``run(task, params) -> model``. The module never writes its own name, and nothing else names it:
the workflow finds ``unlearning.methods.<name>`` when a config names ``<name>``, validates the
config with its ``Params`` and runs its ``run``. Method modules import torch lazily
(:mod:`unlearning.lazy`), so looking a method up while the workflow parses costs no torch import.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from unlearning.errors import UserError
from unlearning.methods.base import Params

if TYPE_CHECKING:
    import torch
    from torch import nn

    from unlearning.data.imageset import ImageSet


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
    progress: bool = True
    sources: dict[str, nn.Module] = dataclasses.field(default_factory=dict)


RunFn = Callable[[UnlearningTask, Any], "nn.Module"]


@dataclass(frozen=True)
class Method:
    name: str
    module: ModuleType

    @property
    def params_type(self) -> type[Params]:
        return self.module.Params

    @property
    def description(self) -> str:
        return self.module.DESCRIPTION

    @property
    def run(self) -> RunFn:
        return self.module.run

    def parse_params(self, raw: dict[str, Any]) -> Any:
        """Build the method's parameters from config keys (unknown keys are user errors)."""
        return self.params_type.parse(raw)

    def resolved_params(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Every hyperparameter the run used, defaults included, under its config name."""
        return self.parse_params(raw).resolved()


def _is_method(module: ModuleType, name: str) -> bool:
    kind = getattr(module, "Params", None)
    return (
        isinstance(kind, type)
        and issubclass(kind, Params)
        and kind.method == name
        and callable(getattr(module, "run", None))
        and isinstance(getattr(module, "DESCRIPTION", None), str)
    )


@functools.cache
def available_methods() -> list[str]:
    """Every method module of this package (importing them is cheap: they load torch lazily)."""
    package = importlib.import_module(__package__)
    names = [m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")]
    return sorted(
        name for name in names if _is_method(importlib.import_module(f"{__package__}.{name}"), name)
    )


@functools.cache
def get_method(name: str) -> Method:
    """The method ``name``; an unknown name is a user error listing the known ones."""
    module = None
    if name.isidentifier() and not name.startswith("_"):
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise
    if module is None or not _is_method(module, name):
        raise UserError(f"Unknown unlearning method '{name}'; choose one of {available_methods()}.")
    return Method(name, module)


def params_type(name: str) -> type[Params]:
    return get_method(name).params_type


def parse_params(name: str, raw: dict[str, Any]) -> Any:
    return get_method(name).parse_params(raw)


def resolved_params(name: str, raw: dict[str, Any]) -> dict[str, Any]:
    return get_method(name).resolved_params(raw)
