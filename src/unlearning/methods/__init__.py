"""Unlearning methods, one module each, found through the registry."""

from unlearning.methods.registry import (
    Method,
    UnlearningTask,
    available_methods,
    get_method,
    register,
)

__all__ = ["Method", "UnlearningTask", "available_methods", "get_method", "register"]

from unlearning.methods import boundary_shrink, finetune, neggrad, psg  # noqa: F401, E402
