"""Checks of the config that a JSON schema cannot express, run before any job is scheduled."""

from __future__ import annotations

from typing import Any

from unlearning.errors import UserError
from unlearning.methods import get_method
from unlearning.plots import OVERVIEW
from unlearning.settings import dataset_runs, expand_settings


def check_config(config: dict[str, Any]) -> None:
    """Every setting of every method must build its parameters (unknown keys, bad values)."""
    settings = {name: expand_settings(spec) for name, spec in config["methods"].items()}
    for name, by_slug in settings.items():
        method = get_method(name)
        for slug, params in by_slug.items():
            try:
                method.parse_params(params)
            except (TypeError, ValueError) as exc:
                raise UserError(
                    f"methods.{name} setting '{slug}' is invalid ({exc}); fix its params or grid "
                    "in the config."
                ) from exc
    for dataset, spec in config["datasets"].items():
        for entry in spec.get("methods") or []:
            method, _, slug = entry.partition("/")
            if method not in settings or (slug and slug not in settings[method]):
                known = sorted(settings) if method not in settings else sorted(settings[method])
                raise UserError(
                    f"datasets.{dataset}.methods names '{entry}', which the config does not "
                    f"define; use a method or method/setting from {known}."
                )
        train = spec.get("train", {})
        val, test = spec.get("val_fraction", 0.1), spec.get("test_fraction", 0.2)
        if val + test >= 1:
            raise UserError(
                f"datasets.{dataset}: val_fraction + test_fraction = {val + test} leaves no "
                "training data; make their sum smaller than 1."
            )
        needs_training = not spec.get("original") or spec.get("retrain", True)
        if needs_training and not train:
            raise UserError(
                f"datasets.{dataset}.train is missing; give at least epochs and lr (it trains "
                "the original unless one is given, and the retrain unless retrain is false)."
            )
    _check_sources(config, settings)
    _check_report(config, settings)


#: Folder of the figures that span a dataset's conditions; no condition may take its name.
RESERVED_CONDITION = OVERVIEW


def _check_report(config: dict[str, Any], settings: dict[str, dict[str, Any]]) -> None:
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
        runs = {f"{m}/{s}" for m, s in dataset_runs(dataset.get("methods"), settings)}
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


def _check_sources(config: dict[str, Any], settings: dict[str, dict[str, Any]]) -> None:
    """Runs a setting builds on (``compose``) must be settings that each dataset runs too."""
    for dataset, spec in config["datasets"].items():
        pairs = dataset_runs(spec.get("methods"), settings)
        runs = {f"{method}/{slug}" for method, slug in pairs}
        for method, slug in pairs:
            parsed = get_method(method).parse_params(settings[method][slug])
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
