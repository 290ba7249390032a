"""The numbers of the tables for humans: each method at its chosen setting, and the highlighted
method's grid, with the reference checks and noise-floor verdicts that qualify them.

Built only from the long metrics table, so they can never disagree with ``metrics.csv``. The text
of the tables is in ``tables.sections``; the files are written by ``tables.render``.
"""

from __future__ import annotations

import logging
import math

import pandas as pd

from unlearning.report_settings import GRID_AXES, HIGHLIGHT
from unlearning.tables.collect import MODEL_KIND_ORDER, numeric
from unlearning.tables.references import (
    REFERENCE_DRIFT_LIMIT,
    floor_verdicts,
    reference_problems,
)
from unlearning.tables.selection import best_settings, reported_rows, with_validation_gap

#: Numeric metrics of the tables, in column order: (metrics key, header, kind).
SUMMARY_METRICS: tuple[tuple[str, str, str], ...] = (
    ("acc_test", "test acc", "percent"),
    ("acc_forget", "forget acc", "percent"),
    ("acc_remain", "remain acc", "percent"),
    ("mia_efficacy", "MIA efficacy", "percent"),  # header names the attack and feature
    ("gap_mean", "gap to retrain", "percent"),
    ("floor_gap_mean", "retrain floor", "percent"),
    ("distance", "distance", "percent"),
    ("tow", "ToW", "ratio"),
    ("val_gap", "val gap", "percent"),
    ("unlearn_seconds", "unlearning s", "seconds"),
    ("seconds_ratio", "× retrain s", "ratio"),
)

GROUP_COLUMNS: tuple[str, ...] = ("dataset", "condition", "model_kind", "method", "setting")

#: Retrain references whose mean remain or test accuracy lies more than this far below or above
#: the original's, for the same dataset, seed and condition, are a poor stand-in for the ideal
#: unlearned model: every gap measured against them is unreliable, so the tables say so.
RETRAIN_REMAIN_DROP_LIMIT = REFERENCE_DRIFT_LIMIT

LOGGER = logging.getLogger(__name__)


def _row_order(table: pd.DataFrame) -> pd.DataFrame:
    """Reference models first, then methods by name, each method's default setting first."""
    kind_rank = {kind: i for i, kind in enumerate(MODEL_KIND_ORDER)}
    keys = pd.DataFrame(
        {
            "dataset": table["dataset"],
            "condition": table["condition"],
            "kind": table["model_kind"].map(lambda k: kind_rank.get(k, len(kind_rank))),
            "method": table["method"],
            "not_default": table["setting"] != "default",
            "setting": table["setting"],
        }
    )
    order = keys.sort_values(list(keys.columns), kind="stable").index
    return table.loc[order].reset_index(drop=True)


MIA_NAME_COLUMNS = ("mia_feature", "mia_attack")


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """Aggregate over seeds: per model, ``<metric>_mean``, ``<metric>_std``, ``<metric>_n``.

    Means skip missing seeds (a null is not a zero); a metric missing in every seed stays NaN.
    ``n_seeds`` counts the seeds of a row; ``mia_feature`` and ``mia_attack`` name the MIA
    feature(s) and attack(s) used ("/"-joined when seeds differ; None when not recorded, as in
    metrics written before ``mia_attack`` existed). Columns starting with ``hp_`` keep their
    (per-setting constant) first value.
    """
    if df.empty:
        return pd.DataFrame(columns=[*GROUP_COLUMNS, "n_seeds", *MIA_NAME_COLUMNS])
    work = with_validation_gap(df) if "val_gap" not in df.columns else df.copy()
    for key, _, _ in SUMMARY_METRICS:
        work[key] = numeric(work, key)
    for column in MIA_NAME_COLUMNS:
        if column not in work.columns:
            work[column] = None
    grouped = work.groupby(list(GROUP_COLUMNS), sort=False, dropna=False)
    parts: dict[str, pd.Series] = {"n_seeds": grouped["seed"].nunique()}
    for key, _, _ in SUMMARY_METRICS:
        parts[f"{key}_mean"] = grouped[key].mean()
        parts[f"{key}_std"] = grouped[key].std(ddof=1)
        parts[f"{key}_n"] = grouped[key].count()
    for column in (c for c in work.columns if c.startswith("hp_")):
        parts[column] = grouped[column].first()
    for column in MIA_NAME_COLUMNS:
        parts[column] = grouped[column].agg(
            lambda s: "/".join(sorted({str(v) for v in s.dropna()})) or None
        )
    table = pd.DataFrame(parts).reset_index()
    return _row_order(table)


def best_summary(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`summary_table` of the references and each method at its validation-chosen setting,
    with ``selected_by`` and ``n_settings`` saying how the setting was chosen."""
    table = summary_table(reported_rows(with_validation_gap(df)))
    if table.empty:
        return table.assign(selected_by=None, n_settings=None)
    chosen = best_settings(df)[
        ["dataset", "condition", "label", "setting", "selected_by", "n_settings"]
    ].rename(columns={"label": "method"})
    table = table.merge(chosen, on=["dataset", "condition", "method", "setting"], how="left")
    verdicts = floor_verdicts(reported_rows(df))
    verdicts = verdicts[["dataset", "condition", "method", "excess_low", "excess_high", "verdict"]]
    return table.merge(
        verdicts.rename(columns={"verdict": "floor_verdict"}),
        on=["dataset", "condition", "method"],
        how="left",
    )


def grid_summary(df: pd.DataFrame, method: str = HIGHLIGHT) -> pd.DataFrame:
    """:func:`summary_table` of every setting of ``method``, with ``chosen`` marking the setting
    the summary reports; sorted by the grid axes, in their order, when they are recorded."""
    scored = with_validation_gap(df)
    table = summary_table(scored[scored["method"] == method])
    if table.empty:
        return table.assign(chosen=False)
    chosen = best_settings(df)[["dataset", "condition", "method", "setting"]].assign(chosen=True)
    table = table.merge(chosen, on=["dataset", "condition", "method", "setting"], how="left")
    table["chosen"] = table["chosen"].eq(True)
    keys = ["dataset", "condition"] + [a.column for a in GRID_AXES if a.column in table.columns]
    return table.sort_values(keys, kind="stable").reset_index(drop=True)


def retrain_remain_drops(df: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, condition and seed holding both references: ``original_remain``,
    ``retrain_remain`` (the mean headline ``acc_remain`` of the retrain references), ``drop`` =
    original − retrain, and ``problem`` (why the references are unreliable, or "")."""
    return reference_problems(df, RETRAIN_REMAIN_DROP_LIMIT)


def unreliable_references(drops: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(dataset, condition) -> a note, for each pair where a seed's retrain references are
    unreliable (``drops`` from :func:`retrain_remain_drops`: far below or above the original, or
    near chance); each is also logged as a warning. No method of such a pair is called close to
    retraining."""
    bad = drops[drops["problem"].astype(bool)] if len(drops) else drops
    notes = {}
    for (dataset, condition), part in bad.groupby(["dataset", "condition"], sort=False):
        seeds = "; ".join(f"seed {r.seed}: {r.problem}" for r in part.itertuples())
        notes[(str(dataset), str(condition))] = (
            f"Unreliable reference: {seeds}. Gaps to it are unreliable, and no method is called "
            "close to retraining."
        )
        LOGGER.warning(
            "%s, %s: %s; every gap to the retrain is unreliable.", dataset, condition, seeds
        )
    return notes


def with_reference_check(table: pd.DataFrame, drops: pd.DataFrame) -> pd.DataFrame:
    """``table`` plus ``retrain_remain_drop`` (the original − retrain remain accuracy of the seed
    furthest from zero, from ``drops``; NaN if unknown) and ``unreliable_reference`` (a seed's
    references are unreliable). Does not log; see :func:`unreliable_references`."""
    keys = ["dataset", "condition"]
    if len(drops):
        worst = drops.assign(size=drops["drop"].abs()).sort_values("size", ascending=False)
        per_pair = (
            worst.groupby(keys, sort=False)
            .agg(retrain_remain_drop=("drop", "first"), problem=("problem", lambda p: any(p)))
            .reset_index()
        )
    else:
        per_pair = pd.DataFrame(columns=[*keys, "retrain_remain_drop", "problem"])
    out = table.drop(columns=["retrain_remain_drop", "unreliable_reference"], errors="ignore")
    out = out.merge(per_pair, on=keys, how="left") if len(out) else out
    for column in ("retrain_remain_drop", "problem"):
        if column not in out.columns:
            out[column] = math.nan
    out["unreliable_reference"] = out.pop("problem").eq(True)
    return out
