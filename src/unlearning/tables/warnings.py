"""What a user must see before trusting a run's numbers, read from ``metrics.csv`` alone.

Three kinds of warning, each per dataset and condition:

- **reference problems** (:func:`unlearning.tables.references.reference_problems`): the retrain
  references' remain accuracy is near chance, or far below or above the original's, so no gap to
  them means what it should;
- **unchanged**: an unlearning setting whose every accuracy (headline, per subset and per class)
  lies within :data:`UNCHANGED_POINTS` points of the original's, in every seed: it did nothing.
  The MIA efficacy is not compared: its attack is fitted anew for each model, and on outputs
  that barely differ its boundary can flip and move it by many points;
- **collapsed** (:func:`unlearning.tables.references.collapsed`): a model whose test accuracy is
  near chance for its number of classes, in any seed.

The same marks go to the terminal at the end of a run (``rules/common.smk``, ``onsuccess``), onto
the methods figure and at the top of the report. Torch-free and fast: pandas on one CSV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from unlearning.tables.collect import numeric
from unlearning.tables.references import KEYS, chance_level, collapsed, reference_problems

#: An unlearned model within this many points of the original on every metric changed nothing.
UNCHANGED_POINTS = 0.1


@dataclass
class Warnings:
    """Per kind, one sentence per dataset and condition (or per model), ready to print."""

    references: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    collapsed: list[str] = field(default_factory=list)
    #: (dataset, condition) -> method/setting labels, for the figures' marks
    unchanged_runs: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    collapsed_runs: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    reference_conditions: dict[tuple[str, str], str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.references or self.unchanged or self.collapsed)

    def lines(self) -> list[str]:
        out = []
        for title, items in (
            ("Reference problems (every gap to the retrain is void there)", self.references),
            (f"Left the model unchanged (every accuracy within {UNCHANGED_POINTS} points of "
             "the original)", self.unchanged),
            ("Collapsed (test accuracy near chance)", self.collapsed),
        ):  # fmt: skip
            if items:
                out.append(f"{title}:")
                out += [f"  - {item}" for item in items]
        return out

    def for_condition(self, dataset: str, condition: str) -> list[str]:
        """Short marks for one figure: the reference problem, unchanged and collapsed runs."""
        key = (dataset, condition)
        out = []
        if key in self.reference_conditions:
            out.append(f"reference problem: {self.reference_conditions[key]}")
        if self.unchanged_runs.get(key):
            out.append(f"unchanged: {', '.join(sorted(self.unchanged_runs[key]))}")
        if self.collapsed_runs.get(key):
            out.append(f"collapsed: {', '.join(sorted(self.collapsed_runs[key]))}")
        return out


def _label(method: str, setting: str) -> str:
    return method if method in ("original", "retrain") else f"{method}/{setting}"


def _metric_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c.startswith("acc_")]


def _unchanged(df: pd.DataFrame) -> pd.DataFrame:
    """(dataset, condition, method, setting) of unlearned runs unchanged in every seed."""
    columns = _metric_columns(df)
    if not columns or "model_kind" not in df.columns:
        return pd.DataFrame(columns=["dataset", "condition", "method", "setting"])
    values = df[KEYS + ["model_kind", "method", "setting"]].copy()
    for column in columns:
        values[column] = numeric(df, column)
    original = values[values["model_kind"] == "original"].drop_duplicates(KEYS)
    runs = values[values["model_kind"] == "unlearned"].merge(
        original[KEYS + columns], on=KEYS, suffixes=("", "_original")
    )
    if runs.empty:
        return pd.DataFrame(columns=["dataset", "condition", "method", "setting"])
    diffs = pd.DataFrame(
        {c: (runs[c] - runs[f"{c}_original"]).abs() for c in columns}, index=runs.index
    )
    compared = diffs.notna().sum(axis=1) > 0
    same = (diffs.fillna(0).round(9) <= UNCHANGED_POINTS / 100).all(axis=1) & compared
    runs = runs.assign(same=same)
    grouped = runs.groupby(["dataset", "condition", "method", "setting"], sort=False)["same"]
    every_seed = grouped.all().reset_index()
    return every_seed[every_seed["same"]]


def collect_warnings(df: pd.DataFrame) -> Warnings:
    """Every warning of a long metrics table."""
    found = Warnings()
    if df.empty or "model_kind" not in df.columns:
        return found
    problems = reference_problems(df)
    problems = problems[problems["problem"] != ""]
    for (dataset, condition), part in problems.groupby(["dataset", "condition"], sort=False):
        seeds = ", ".join(str(int(s)) for s in part["seed"])
        text = part["problem"].iloc[0]
        found.references.append(f"{dataset} / {condition} (seed {seeds}): {text}")
        found.reference_conditions[(dataset, condition)] = text
    unchanged = _unchanged(df)
    for (dataset, condition), part in unchanged.groupby(["dataset", "condition"], sort=False):
        labels = [_label(m, s) for m, s in zip(part["method"], part["setting"], strict=True)]
        found.unchanged.append(f"{dataset} / {condition}: {', '.join(labels)}")
        found.unchanged_runs[(dataset, condition)] = set(labels)
    rows = df[collapsed(df)].assign(chance=chance_level(df), acc=numeric(df, "acc_test"))
    for (dataset, condition), part in rows.groupby(["dataset", "condition"], sort=False):
        models = {}
        for r in part.itertuples():
            label = _label(r.method, r.setting)
            models.setdefault(label, []).append(r.acc)
        chance = 100 * float(part["chance"].iloc[0])
        text = ", ".join(
            f"{label} ({100 * min(accs):.0f}%)" for label, accs in sorted(models.items())
        )
        found.collapsed.append(f"{dataset} / {condition} (chance {chance:.0f}%): {text}")
        found.collapsed_runs[(dataset, condition)] = set(models)
    return found


def warnings_block(metrics_csv: str | Path) -> str:
    """The terminal block for the end of a run: empty when the table does not exist or nothing
    is wrong."""
    path = Path(metrics_csv)
    if not path.exists():
        return ""
    from unlearning.tables import read_metrics_csv

    found = collect_warnings(read_metrics_csv(path))
    if not found:
        return ""
    rule = "=" * 78
    return "\n".join(
        [rule, f"Warnings from {path} (details: results/tables/summary.md):", *found.lines(), rule]
    )
