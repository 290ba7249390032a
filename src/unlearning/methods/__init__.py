"""Unlearning methods, one module each, found by name through the registry.

Importing a method module is cheap (torch loads on first use, see :mod:`unlearning.lazy`), so
the workflow looks methods up and checks their parameters while it parses.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from unlearning.methods.registry import (
    Method,
    UnlearningTask,
    available_methods,
    get_method,
    params_type,
    parse_params,
    resolved_params,
)

__all__ = [
    "Method",
    "UnlearningTask",
    "available_methods",
    "get_method",
    "params_type",
    "parse_params",
    "resolved_params",
]


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
