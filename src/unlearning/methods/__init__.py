"""Unlearning methods, one module each, found through the registry.

The method modules (and torch) are imported only when used: ``get_method(name).run`` imports
its module, and so does ``unlearning.methods.<module>``, so the workflow can look methods up
and check their parameters without torch.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from unlearning.methods.registry import (
    Method,
    UnlearningTask,
    available_methods,
    get_method,
    register,
)

__all__ = ["Method", "UnlearningTask", "available_methods", "get_method", "register"]


def __getattr__(name: str) -> ModuleType:
    """``unlearning.methods.psg`` and the like, imported on first access."""
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
