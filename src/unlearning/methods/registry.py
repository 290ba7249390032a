"""The method registry: a method is one module that registers a run function and its parameters.

Adding a method means writing its ``Params`` in a module of :mod:`unlearning.hparams` and adding
it to that package's catalogue, then writing a module of the same name in this package whose
``run`` function is decorated with :func:`register`, and giving it a config entry.

This module imports no torch: the workflow looks methods up while it parses, and a method's code
(with torch) is imported only when its ``run`` is first asked for.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from unlearning import hparams

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
    architecture: str = "allcnn"
    progress: bool = True
    sources: dict[str, nn.Module] = dataclasses.field(default_factory=dict)


RunFn = Callable[[UnlearningTask, Any], "nn.Module"]

#: Method name -> run function, filled by :func:`register` as method modules are imported.
_RUNS: dict[str, RunFn] = {}


def _module_of(name: str) -> str:
    """The module of this package that registers ``name``: the one named like its Params' module
    in :mod:`unlearning.hparams` (``scrub_r`` is run by ``scrub``)."""
    params_type = hparams.params_type(name)
    return f"{__package__}.{params_type.__module__.rpartition('.')[2]}"


@dataclass(frozen=True)
class Method:
    name: str
    params_type: type
    description: str

    @property
    def run(self) -> RunFn:
        """The run function, importing the method's module (and torch) on first use."""
        if self.name not in _RUNS:
            importlib.import_module(_module_of(self.name))
        if self.name not in _RUNS:
            raise RuntimeError(f"{_module_of(self.name)} does not register method {self.name!r}")
        return _RUNS[self.name]

    def parse_params(self, raw: dict[str, Any]) -> Any:
        """Build the method's parameter dataclass (see :func:`unlearning.hparams.parse_params`)."""
        return hparams.parse_params(self.name, raw)

    def resolved_params(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Every hyperparameter the run used, defaults included, under its config name."""
        return hparams.resolved_params(self.name, raw)


def register(name: str, params_type: type, description: str) -> Callable[[RunFn], RunFn]:
    """Register ``run`` for ``name``, whose Params and description must be the catalogue's."""

    def decorate(fn: RunFn) -> RunFn:
        if name in _RUNS:
            raise ValueError(f"method {name!r} registered twice")
        if hparams.CATALOGUE.get(name) != (params_type, description):
            raise ValueError(
                f"method {name!r} is registered with other Params or description than "
                "unlearning.hparams.CATALOGUE has; add or fix it there"
            )
        _RUNS[name] = fn
        return fn

    return decorate


def get_method(name: str) -> Method:
    params_type = hparams.params_type(name)  # an unknown name is a user error
    return Method(name, params_type, hparams.CATALOGUE[name][1])


def available_methods() -> list[str]:
    return hparams.available_methods()
