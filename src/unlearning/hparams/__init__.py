"""Every method's hyperparameters, without the methods: parsing a config needs no torch.

The workflow validates every setting and expands its grid each time it is parsed (on a cluster,
once per job), so this package imports only the standard library. Each method's ``Params``
dataclass lives in the module of the same name here; :mod:`unlearning.methods` runs them.
"""

from __future__ import annotations

import dataclasses
import keyword
from typing import Any

from unlearning.errors import UserError
from unlearning.hparams import (
    bad_teacher,
    boundary_expand,
    boundary_shrink,
    cf_k,
    compose,
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

#: Method name -> (its parameter dataclass, one-line description). The method's code is the
#: module of ``unlearning.methods`` named like the module of its parameters.
CATALOGUE: dict[str, tuple[type, str]] = {
    module.NAME: (module.Params, module.DESCRIPTION)
    for module in (
        bad_teacher,
        boundary_expand,
        boundary_shrink,
        cf_k,
        compose,
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
}
CATALOGUE[scrub.REWIND_NAME] = (scrub.RewindParams, scrub.REWIND_DESCRIPTION)


def available_methods() -> list[str]:
    return sorted(CATALOGUE)


def params_type(name: str) -> type:
    """The parameter dataclass of method ``name``; an unknown name is a user error."""
    if name not in CATALOGUE:
        raise UserError(f"Unknown unlearning method '{name}'; choose one of {sorted(CATALOGUE)}.")
    return CATALOGUE[name][0]


def parse_params(name: str, raw: dict[str, Any]) -> Any:
    """Build the method's parameter dataclass; an unknown key is a user error naming it.

    Config keys that are Python keywords (``lambda``) map to fields with a trailing ``_``.
    """
    kind = params_type(name)
    raw = {(k + "_" if keyword.iskeyword(k) else k): v for k, v in raw.items()}
    known = {f.name for f in dataclasses.fields(kind)}
    unknown = sorted(k.rstrip("_") for k in set(raw) - known)
    if unknown:
        raise UserError(
            f"Unknown hyperparameter(s) {unknown} for method '{name}'; "
            f"use only {sorted(k.rstrip('_') for k in known)} under methods.{name} "
            "in the config."
        )
    return kind(**raw)


def resolved_params(name: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Every hyperparameter the run used, defaults included, under its config name."""
    parsed = parse_params(name, raw)
    return {
        f.name.removesuffix("_") if keyword.iskeyword(f.name.removesuffix("_")) else f.name: (
            getattr(parsed, f.name)
        )
        for f in dataclasses.fields(parsed)
    }
