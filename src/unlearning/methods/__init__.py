"""Unlearning methods, one module each, found through the registry."""

from unlearning.methods.registry import (
    Method,
    UnlearningTask,
    available_methods,
    get_method,
    register,
)

__all__ = ["Method", "UnlearningTask", "available_methods", "get_method", "register"]

from unlearning.methods import (  # noqa: F401, E402
    boundary_shrink,
    compose,  # noqa: F401, E402
    finetune,
    neggrad,
    psg,
)
