"""Checks of the ``audit:`` block that the schema cannot express, run while the workflow plans
(torch-free). Only the ``audit`` target reads the block, but a config is checked whole."""

from __future__ import annotations

from typing import Any

from unlearning.audit.ulira import MIN_SHADOWS
from unlearning.errors import UserError
from unlearning.methods.registry import parse_params
from unlearning.settings import dataset_runs, undefined_entry


def audit_runs(
    audit: dict[str, Any], settings: dict[str, dict[str, dict[str, Any]]]
) -> list[tuple[str, str]]:
    """The (method, setting) pairs the audit unlearns with: ``audit.methods`` entries are a
    method (every setting) or method/setting, as in ``datasets.<name>.methods``."""
    return dataset_runs(audit["methods"], settings)


def check_audit(
    config: dict[str, Any], by_dataset: dict[str, dict[str, dict[str, dict[str, Any]]]]
) -> None:
    """The audited dataset trains its own models, S can fit a Gaussian per forget example, and
    every audited entry names a setting the dataset defines that needs no earlier run."""
    audit = config.get("audit")
    if not audit:
        return
    dataset = audit["dataset"]
    if dataset not in config["datasets"]:
        raise UserError(
            f"audit.dataset names '{dataset}', which the config does not define; use one of "
            f"{sorted(config['datasets'])}."
        )
    if config["datasets"][dataset].get("original"):
        raise UserError(
            f"audit.dataset '{dataset}' takes its original from a checkpoint, but the audit "
            f"trains an original on every split; audit a dataset with datasets.{dataset}.train "
            "and no original."
        )
    shadows = audit.get("shadows")
    if shadows is not None and shadows < MIN_SHADOWS:
        raise UserError(
            f"audit.shadows is {shadows}, too few to fit a Gaussian (a mean and a variance) per "
            f"forget example under each hypothesis; set audit.shadows to {MIN_SHADOWS} or more "
            "(docs/audit.md says what each shadow costs)."
        )
    settings = by_dataset[dataset]
    undefined = undefined_entry(audit["methods"], settings)
    if undefined:
        entry, known = undefined
        raise UserError(
            f"audit.methods names '{entry}', which dataset '{dataset}' does not define; use "
            f"a method or method/setting from {known}."
        )
    for method, slug in audit_runs(audit, settings):
        sources = parse_params(method, settings[method][slug]).source_runs()
        if sources:
            raise UserError(
                f"audit.methods includes {method}/{slug}, which builds on earlier runs "
                f"({', '.join(sorted(sources.values()))}) that the audit does not train on its "
                "splits; remove it from audit.methods."
            )
