"""Targets typed on the command line checked against the loaded config, before any planning.

A path such as ``results/clinic/seed0/class_0/psg/default/metrics.json`` names a dataset, a seed,
a condition, a method and a setting. When the loaded config lacks one of them (most often: the
run was started without ``--configfile``, so the default ``config/config.yaml`` was loaded),
Snakemake would fail inside an input function with a bare ``KeyError``; here it is one sentence
naming the config file that was loaded. Torch-free: it runs while the workflow is parsed.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from unlearning.data.prepared import PREPARED_ROOT
from unlearning.errors import UserError

REFERENCES = ("original",)
_PREPARED = PREPARED_ROOT.split("/")
_RETRAIN = re.compile(r"retrain(_[1-9][0-9]*)?")


def _loaded(configfiles: Iterable[Any]) -> str:
    names = [str(f) for f in configfiles]
    return " and ".join(names) if names else "no config file"


def _names(values: Iterable[Any]) -> str:
    return ", ".join(map(repr, values)) or "none"


def _missing(
    target: str, config: Mapping[str, Any], settings: Mapping[str, Any]
) -> tuple[str, str] | None:
    """What ``target`` names that the config lacks ("dataset 'clinic'") and what the config has
    in its place, or None."""
    parts = target.strip("/").split("/")
    if parts[: len(_PREPARED)] == _PREPARED and len(parts) > len(_PREPARED):
        dataset, rest = parts[len(_PREPARED)], []
    elif parts[0] == "results" and len(parts) >= 3 and parts[1] == "figures":
        dataset, rest = parts[2], []
    elif parts[0] == "results" and len(parts) >= 3 and parts[2].startswith("seed"):
        dataset, rest = parts[1], parts[2:]
    else:
        return None  # tables, the report, rule names: nothing the config must hold
    datasets = config.get("datasets") or {}
    if dataset not in datasets:
        return f"dataset {dataset!r}", _names(datasets)
    if not rest:
        return None
    seed = rest[0][len("seed") :]
    if seed.isdigit() and int(seed) not in (config.get("seeds") or []):
        return f"seed {int(seed)}", _names(config.get("seeds") or [])
    if len(rest) < 2 or rest[1] in REFERENCES:
        return None
    conditions = datasets[dataset].get("conditions") or {}
    condition = rest[1]
    if condition not in conditions:
        return f"condition {condition!r} of {dataset!r}", _names(conditions)
    if len(rest) < 3 or rest[2] in REFERENCES or _RETRAIN.fullmatch(rest[2]) or "." in rest[2]:
        return None
    method = rest[2]
    methods = settings.get(dataset, {})
    if method not in methods:
        return f"method {method!r} for {dataset!r}", _names(methods)
    if len(rest) >= 4 and "." not in rest[3] and rest[3] not in methods[method]:
        return f"setting {method}/{rest[3]} for {dataset!r}", _names(methods[method])
    return None


def check_targets(
    targets: Iterable[str],
    config: Mapping[str, Any],
    settings: Mapping[str, Any],
    configfiles: Iterable[Any],
) -> None:
    """Refuse, in one sentence, a target path naming a dataset, seed, condition, method or
    setting that the loaded config does not have. ``settings``: dataset -> method -> setting."""
    for target in targets:
        missing = _missing(str(target), config, settings)
        if missing:
            what, present = missing
            raise UserError(
                f"Target {target} names {what}, which the loaded config ({_loaded(configfiles)}) "
                f"does not have (it has {present}); pass the config that defines it with "
                "--configfile my.yaml (make run / report / estimate: CONFIG=my.yaml)."
            )


def command_line_targets(argv: list[str] | None = None) -> list[str]:
    """The targets of the ``snakemake`` command that is parsing the workflow (Snakemake hands
    its DAG settings to the workflow only after parsing); empty when something else (a test
    through the API, a cluster job) parses it."""
    argv = sys.argv if argv is None else argv
    if not argv or "snakemake" not in os.path.basename(os.path.dirname(argv[0])) + os.path.basename(
        argv[0]
    ):
        return []
    from snakemake.cli import get_argument_parser

    args, _ = get_argument_parser().parse_known_args(argv[1:])
    return list(getattr(args, "targets", None) or [])
