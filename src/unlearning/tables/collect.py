"""Gather every model's ``metrics.json`` into one long table, the source of all human tables.

Missing values stay missing (NaN in pandas, empty in the CSV): a metric that could not be
computed must never look like a measured zero.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from unlearning.atomic import atomic_path
from unlearning.errors import UserError

#: Columns that say which model a row describes; they lead every table.
ID_COLUMNS: tuple[str, ...] = ("dataset", "seed", "condition", "model_kind", "method", "setting")

#: Reference models come before unlearned ones in every table.
MODEL_KIND_ORDER: tuple[str, ...] = ("original", "retrain", "unlearned")


def _read_one(path: Path) -> dict:
    rule_hint = "rerun the evaluation rule that writes it"
    if not path.is_file():
        raise UserError(f"Metrics file {path} is missing; {rule_hint}.")
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"Metrics file {path} is not valid JSON ({exc}); {rule_hint}.") from exc
    if not isinstance(record, dict):
        raise UserError(f"Metrics file {path} does not hold a JSON object; {rule_hint}.")
    missing = [key for key in ID_COLUMNS if key not in record]
    if missing:
        raise UserError(f"Metrics file {path} lacks the keys {missing}; {rule_hint}.")
    return record


def _sort_key(column: pd.Series) -> pd.Series:
    """Order model kinds as original, retrain, unlearned; other columns sort naturally."""
    if column.name == "model_kind":
        rank = {kind: i for i, kind in enumerate(MODEL_KIND_ORDER)}
        return column.map(lambda kind: rank.get(kind, len(rank)))
    return column


def sort_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with identity columns first and rows in the canonical order."""
    ids = [c for c in ID_COLUMNS if c in df.columns]
    rest = sorted(c for c in df.columns if c not in ids)
    out = df[ids + rest]
    if ids and len(out):
        out = out.sort_values(by=ids, key=_sort_key, kind="stable", na_position="last")
    return out.reset_index(drop=True)


def numeric(df: pd.DataFrame, column: str) -> pd.Series:
    """``df[column]`` as float64 (unparsable cells and a missing column become NaN, never 0)."""
    if column not in df.columns:
        return pd.Series(math.nan, index=df.index, dtype="float64")
    return pd.to_numeric(df[column], errors="coerce").astype("float64")


def collect_metrics(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Read one flat ``metrics.json`` per path into one row each (all keys become columns)."""
    records = [_read_one(Path(p)) for p in paths]
    if not records:
        return pd.DataFrame(columns=list(ID_COLUMNS))
    # None and NaN both mean "missing"; pandas turns them into NaN, never into 0.
    df = pd.DataFrame.from_records(records)
    df["seed"] = df["seed"].astype("int64")
    return sort_metrics(df)


def write_metrics_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write the long metrics table (one row per model and condition) atomically."""
    with atomic_path(path) as tmp:
        sort_metrics(df).to_csv(tmp, index=False, na_rep="")


def read_metrics_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table written by :func:`write_metrics_csv`, keeping identity columns as text."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"Metrics table {path} is missing; rerun the rule that collects metrics.")
    text_ids = {c: str for c in ID_COLUMNS if c != "seed"}
    df = pd.read_csv(path, dtype=text_ids, keep_default_na=False, na_values=[""])
    return df
