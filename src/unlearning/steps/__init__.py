"""One function per pipeline step. Workflow scripts only unpack the ``snakemake`` object and
call these, so every step can also be run and tested from plain Python. A step is named like
its rule and its script (``evaluate`` and ``train`` serve two rules each).

Steps live in modules by what they import (:mod:`.data`, :mod:`.models`, :mod:`.report`), and
``steps.<name>`` loads only the module that defines it: a job that writes a table does not pay
for importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "read_json": "files",
    "load_split": "files",
    "prepare_data": "data",
    "make_split": "data",
    "train": "models",
    "import_original": "models",
    "unlearn": "models",
    "subsets": "models",
    "Evaluation": "models",
    "evaluate": "models",
    "embed_models": "models",
    "verify_checkpoints": "models",
    "hyperparameter_columns": "report",
    "aggregate_metrics": "report",
    "summary_tables": "report",
    "dataset_figures": "report",
    "reproduction": "report",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'unlearning.steps' has no attribute {name!r}")
    return getattr(importlib.import_module(f"unlearning.steps.{_HOMES[name]}"), name)
