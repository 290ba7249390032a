"""Reading the JSON files one step leaves for the next, with errors that say which rule to rerun."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from unlearning.errors import UserError


def read_json(path: str | Path, what: str, fix: str) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise UserError(f"{what} {path} does not exist; {fix}.")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{what} {path} is not valid JSON ({exc.msg}); {fix}.") from exc


def load_split(path: str | Path) -> dict[str, Any]:
    return read_json(path, "Split file", "rerun the make_split rule for its condition")
