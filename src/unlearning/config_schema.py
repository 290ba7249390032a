"""The config schema, the one place a config default is written.

:func:`apply_schema` does to a config what the workflow does before any other check: refuse what
the schema rejects and fill in the schema's defaults. The checks and helpers that run after it
read those keys directly and repeat none of the defaults, so the workflow, the estimate and the
tests all complete a config through here. Torch-free.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unlearning.config_check import check_schema

#: The schema of this checkout (the workflow imports the library from its own ``src/``).
SCHEMA = Path(__file__).resolve().parents[2] / "config" / "schema" / "config.schema.yaml"


def apply_schema(config: dict[str, Any]) -> dict[str, Any]:
    """Check ``config`` against the schema (one sentence naming the key), then fill in the
    schema's defaults in place with Snakemake's ``validate``; returns the same dict."""
    from snakemake.utils import validate

    check_schema(config, str(SCHEMA))
    validate(config, schema=str(SCHEMA), set_default=True)
    return config
