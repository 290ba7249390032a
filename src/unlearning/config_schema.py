"""The config's JSON schema: a config's first check, and the one place its defaults are written.

:func:`apply_schema` does to a config what the workflow does before any other check: it refuses
what the schema rejects, in one sentence naming the key, and fills in the schema's defaults. The
checks and helpers that run after it read those keys directly and repeat none of the defaults,
so the workflow, the estimate and the tests all complete a config through here. Torch-free.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from unlearning.config_check import check_finite
from unlearning.errors import UserError

#: The schema of this checkout (the workflow imports the library from its own ``src/``).
SCHEMA = Path(__file__).resolve().parents[2] / "config" / "schema" / "config.schema.yaml"


@functools.cache
def _schema(path: str) -> dict[str, Any]:
    import yaml

    with open(path) as fh:
        return yaml.safe_load(fh)


def _key_path(error: Any) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "(top level)"


def check_schema(config: dict[str, Any], schema_path: str | Path = SCHEMA) -> None:
    """Validate against the JSON schema and report the first error as one sentence naming the key.

    This check exists so that a typo reads as ``methods.psg.params: 'gamm' is not allowed``
    rather than a dump of the schema. NaN and infinity are refused first, since they pass every
    bound the schema compares. ``config`` is left as it is.
    """
    import jsonschema

    check_finite(config)
    validator = jsonschema.Draft202012Validator(_schema(str(schema_path)))
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        raise UserError(
            f"Config key '{_key_path(error)}' is invalid: {error.message}; fix it in the config "
            f"file (allowed keys and values: {schema_path})."
        )


def _filling_defaults(validator_class: Any) -> Any:
    """``validator_class`` that also sets each absent property that has a default, as it walks
    the config (python-jsonschema's recipe, the one Snakemake's ``validate`` uses): a default
    object filled in is walked too, so the defaults inside it are set as well."""
    from jsonschema import validators

    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: dict, instance: Any, schema: dict) -> Iterator:
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


def apply_schema(config: dict[str, Any]) -> dict[str, Any]:
    """Refuse ``config`` if the schema does (:func:`check_schema`), then fill in the schema's
    defaults in place; returns the same dict."""
    import jsonschema

    check_schema(config)
    _filling_defaults(jsonschema.Draft202012Validator)(_schema(str(SCHEMA))).validate(config)
    return config
