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
    bad_teacher,
    boundary_expand,
    boundary_shrink,
    cf_k,
    compose,  # noqa: F401, E402
    eu_k,
    finetune,
    grad_ascent,
    l1_sparse,
    neggrad,
    psg,
    random_label,
    salun,
    scrub,
    ssd,
)
