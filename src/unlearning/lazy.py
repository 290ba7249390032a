"""Modules that are imported on first use, so a method module can declare its parameters and its
code in one file and still be read by the workflow without torch.

The workflow parses a config once per run (and once per job on a cluster) and reads every
method's ``Params`` while it does; importing torch costs about 1.5 s of that. A method module
therefore writes ``from unlearning.lazy import F, nn, torch`` and uses them as usual inside its
functions: the first attribute looked up imports the real module. Only module-level uses (a
decorator such as ``@torch.no_grad()``, a class deriving from ``nn.Module``) would import torch
at once, and ``tests/test_parse_without_torch.py`` catches those.
"""

from __future__ import annotations

import importlib
import types
from typing import TYPE_CHECKING, Any


class LazyModule(types.ModuleType):
    """Stands for the module ``name`` and imports it when an attribute is first read; each
    attribute is then cached on the proxy, so later lookups cost what a module's do."""

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        value = getattr(importlib.import_module(self.__name__), attribute)
        setattr(self, attribute, value)
        return value


def lazy(name: str) -> Any:
    return LazyModule(name)


if TYPE_CHECKING:
    import torch
    import torch.nn.functional as F
    from torch import nn
else:
    torch = lazy("torch")
    nn = lazy("torch.nn")
    F = lazy("torch.nn.functional")

__all__ = ["F", "LazyModule", "lazy", "nn", "torch"]
