"""Checks of the config that a JSON schema cannot express, run before any job is scheduled."""

from __future__ import annotations

import json
from typing import Any

from unlearning.errors import UserError
from unlearning.hparams import params_type, parse_params
from unlearning.plots import OVERVIEW
from unlearning.settings import dataset_runs, dataset_settings


def check_config(config: dict[str, Any]) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """Every setting of every method must build its parameters (unknown keys, bad values), and
    no two settings a dataset runs may compute the same thing. Returns the checked settings
    (:func:`~unlearning.settings.dataset_settings`), so the workflow expands them once."""
    for dataset, spec in config["datasets"].items():
        for method in spec.get("method_settings") or {}:
            if method not in config["methods"]:
                raise UserError(
                    f"datasets.{dataset}.method_settings names '{method}', which is not under "
                    f"methods; add methods.{method} to the config or remove the override."
                )
    by_dataset = dataset_settings(config)
    for dataset, settings in by_dataset.items():
        overrides = config["datasets"][dataset].get("method_settings") or {}
        for name, by_slug in settings.items():
            params_type(name)  # an unknown method is a user error, settings or not
            where = (
                f"methods.{name} with datasets.{dataset}.method_settings.{name}"
                if name in overrides
                else f"methods.{name}"
            )
            for slug, params in by_slug.items():
                try:
                    parse_params(name, params)
                except UserError as exc:
                    if name not in overrides:
                        raise
                    raise UserError(f"{where} setting '{slug}': {exc}") from exc
                except (TypeError, ValueError) as exc:
                    raise UserError(
                        f"{where} setting '{slug}' is invalid ({exc}); fix its params or grid "
                        "in the config."
                    ) from exc
    for dataset, spec in config["datasets"].items():
        settings = by_dataset[dataset]
        for entry in spec.get("methods") or []:
            method, _, slug = entry.partition("/")
            if method not in settings or (slug and slug not in settings[method]):
                known = sorted(settings) if method not in settings else sorted(settings[method])
                raise UserError(
                    f"datasets.{dataset}.methods names '{entry}', which the config does not "
                    f"define; use a method or method/setting from {known}."
                )
        _check_distinct(dataset, spec, settings)
        val, test = spec.get("val_fraction", 0.1), spec.get("test_fraction", 0.2)
        if val + test >= 1:
            raise UserError(
                f"datasets.{dataset}: val_fraction + test_fraction = {val + test} leaves no "
                "training data; make their sum smaller than 1."
            )
        needs_training = not spec.get("original") or spec.get("retrain", True)
        if needs_training and not spec.get("train", {}):
            raise UserError(
                f"datasets.{dataset}.train is missing; give at least epochs and lr (it trains "
                "the original unless one is given, and the retrain unless retrain is false)."
            )
    _check_sources(config, by_dataset)
    _check_report(config, by_dataset)
    return by_dataset


def _check_distinct(
    dataset: str, spec: dict[str, Any], settings: dict[str, dict[str, Any]]
) -> None:
    """Two settings of a method whose parameters differ only in values that cannot act (e.g.
    lambda at one pixel-formulation step) would run the same computation twice: refuse them."""
    seen: dict[tuple[str, str], str] = {}
    for method, slug in dataset_runs(spec.get("methods"), settings):
        parsed = parse_params(method, settings[method][slug])
        if not hasattr(parsed, "computation"):
            continue
        key = (method, json.dumps(parsed.computation(), sort_keys=True, default=str))
        if key in seen:
            raise UserError(
                f"methods.{method} settings '{seen[key]}' and '{slug}' compute the same thing on "
                f"dataset '{dataset}' (they differ only in values that have no effect there, "
                "such as lambda at one step of the pixel formulation or top_k with hard "
                "targets); remove one from the grid."
            )
        seen[key] = slug


#: Folder of the figures that span a dataset's conditions; no condition may take its name.
RESERVED_CONDITION = OVERVIEW


def _check_report(config: dict[str, Any], by_dataset: dict[str, dict[str, Any]]) -> None:
    """Each t-SNE entry must name a run the config makes."""
    for dataset, spec in config["datasets"].items():
        if RESERVED_CONDITION in (spec.get("conditions") or {}):
            raise UserError(
                f"datasets.{dataset}.conditions uses the name '{RESERVED_CONDITION}', which is "
                "the folder of the overview figures; rename the condition."
            )
    for i, entry in enumerate((config.get("report") or {}).get("tsne") or []):
        where = f"report.tsne[{i}]"
        dataset = config["datasets"].get(entry["dataset"])
        if dataset is None:
            raise UserError(
                f"{where} names dataset '{entry['dataset']}', which the config does not define; "
                f"use one of {sorted(config['datasets'])}."
            )
        if entry["condition"] not in dataset["conditions"]:
            raise UserError(
                f"{where} names condition '{entry['condition']}', which dataset "
                f"'{entry['dataset']}' does not define; use one of {sorted(dataset['conditions'])}."
            )
        runs = {
            f"{m}/{s}"
            for m, s in dataset_runs(dataset.get("methods"), by_dataset[entry["dataset"]])
        }
        run = f"{entry['method']}/{entry.get('setting', 'default')}"
        if run not in runs:
            raise UserError(
                f"{where} names the run '{run}', which dataset '{entry['dataset']}' does not "
                f"run; use one of {sorted(runs)}."
            )
        if "seed" in entry and entry["seed"] not in config["seeds"]:
            raise UserError(
                f"{where} names seed {entry['seed']}, which is not in seeds {config['seeds']}; "
                "use one of them or leave seed out."
            )


def _check_sources(config: dict[str, Any], by_dataset: dict[str, dict[str, Any]]) -> None:
    """Runs a setting builds on (``compose``) must be settings that each dataset runs too."""
    for dataset, spec in config["datasets"].items():
        settings = by_dataset[dataset]
        pairs = dataset_runs(spec.get("methods"), settings)
        runs = {f"{method}/{slug}" for method, slug in pairs}
        for method, slug in pairs:
            parsed = parse_params(method, settings[method][slug])
            for role, run in (parsed.sources() if hasattr(parsed, "sources") else {}).items():
                if run not in runs:
                    raise UserError(
                        f"methods.{method} setting '{slug}' takes its {role} from '{run}', "
                        f"which dataset '{dataset}' does not run; use one of "
                        f"{sorted(runs - {f'{method}/{slug}'})}."
                    )


def _key_path(error: Any) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "(top level)"


def check_schema(config: dict[str, Any], schema_path: str) -> None:
    """Validate against the JSON schema and report the first error as one sentence naming the key.

    Snakemake's ``validate`` runs afterwards to fill defaults; this check exists so that a typo
    reads as ``methods.psg.params: 'gamm' is not allowed`` rather than a dump of the schema.
    """
    import jsonschema
    import yaml

    with open(schema_path) as fh:
        schema = yaml.safe_load(fh)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        raise UserError(
            f"Config key '{_key_path(error)}' is invalid: {error.message}; fix it in the config "
            f"file (allowed keys and values: {schema_path})."
        )
