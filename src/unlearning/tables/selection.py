"""Which setting of each method the tables and figures report: chosen on the validation split.

Choosing on the numbers a table reports would flatter every method with a grid; the paper's
protocol picks hyperparameters on held-out data. Here a setting's score is its mean gap to the
retrained model on the validation split, ``(|F_val − F_val,ret| + |R_val − R_val,ret|) / 2``,
averaged over seeds (each seed against the mean of its own retrain references); the smallest
score wins, ties go to the default setting and then to the name. A setting whose model collapsed
(test accuracy near chance) is never chosen while another is left; when every setting collapsed,
the choice says so. A side without validation images (a random condition has no held-out
"forget" images) is left out of the score. Without a retrain or a validation split there is
nothing to measure against, so the default setting is reported and the table says so.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from unlearning.tables.collect import numeric
from unlearning.tables.references import collapsed

KEYS = ("dataset", "seed", "condition")

#: A method whose runs record a formulation (psg, boundary_shrink) is reported once per
#: formulation: the reference code's arithmetic and the corrected one are different methods to
#: a reader, and choosing one setting across both would hide one of them.
VARIANT_COLUMN = "hp_formulation"


def variants(df: pd.DataFrame) -> pd.Series:
    """Each row's formulation, or "" for methods (and references) that have none."""
    if VARIANT_COLUMN not in df.columns:
        return pd.Series("", index=df.index, dtype=object)
    values = df[VARIANT_COLUMN]
    return values.where(values.notna() & (values.astype(str) != ""), "").astype(str)


def method_label(method: str, variant: str) -> str:
    """How tables and figures name a method: ``psg (reference)``, or just ``finetune``."""
    return f"{method} ({variant})" if variant else str(method)


#: ``selected_by`` values: how the reported setting of a method was chosen.
BY_VALIDATION = "validation gap"
BY_DEFAULT = "default (no validation gap)"
ONLY_SETTING = "only setting"
#: Appended to ``selected_by`` when the chosen setting's model collapsed (every setting did).
ALL_COLLAPSED = "; every setting collapsed"


def with_validation_gap(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` plus ``val_gap``: each unlearned row's mean validation gap to the mean of its
    seed's retrain references.

    NaN where the retrain, or both validation accuracies, are missing; NaN for reference rows.
    """
    out = df.copy()
    out["val_gap"] = math.nan
    if out.empty:
        return out
    forget, remain = numeric(out, "acc_val_forget"), numeric(out, "acc_val_remain")
    is_retrain = out["model_kind"] == "retrain"
    reference = (
        pd.DataFrame(
            {
                **{k: out.loc[is_retrain, k] for k in KEYS},
                "ref_forget": forget[is_retrain],
                "ref_remain": remain[is_retrain],
            }
        )
        .groupby(list(KEYS), sort=False)
        .mean()
        .reset_index()
    )
    joined = out[list(KEYS)].merge(reference, on=list(KEYS), how="left")
    joined.index = out.index
    sides = pd.concat(
        [(forget - joined["ref_forget"]).abs(), (remain - joined["ref_remain"]).abs()], axis=1
    )
    gap = sides.mean(axis=1, skipna=True)
    out["val_gap"] = gap.where(out["model_kind"] == "unlearned")
    return out


def best_settings(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, condition, method, formulation): the reported ``setting`` and how
    it was chosen.

    Columns: dataset, condition, method, variant (the formulation, or ""), label (the name
    tables show), setting, val_gap (mean over seeds, NaN if unknown), n_settings, selected_by.
    """
    columns = [
        "dataset", "condition", "method", "variant", "label", "setting", "val_gap",
        "n_settings", "selected_by",
    ]  # fmt: skip
    scored = with_validation_gap(df)
    unlearned = scored[scored["model_kind"] == "unlearned"]
    if unlearned.empty:
        return pd.DataFrame(columns=columns)
    unlearned = unlearned.assign(variant=variants(unlearned), collapsed=collapsed(unlearned))
    scores = (
        unlearned.groupby(["dataset", "condition", "method", "variant", "setting"], sort=False)
        .agg(val_gap=("val_gap", "mean"), collapsed=("collapsed", "any"))
        .reset_index()
    )
    rows = []
    for (dataset, condition, method, variant), group in scores.groupby(
        ["dataset", "condition", "method", "variant"], sort=False
    ):
        every = len(group)
        all_collapsed = bool(group["collapsed"].all())
        if not all_collapsed:  # a model that predicts one class is no candidate
            group = group[~group["collapsed"]]
        group = group.assign(not_default=group["setting"] != "default").sort_values(
            ["val_gap", "not_default", "setting"], na_position="last", kind="stable"
        )
        best = group.iloc[0]
        known = group["val_gap"].notna().any()
        if every == 1:
            by = ONLY_SETTING
        elif known:
            by = BY_VALIDATION
        else:
            defaults = group[group["setting"] == "default"]
            best = defaults.iloc[0] if len(defaults) else group.sort_values("setting").iloc[0]
            by = BY_DEFAULT
        if all_collapsed:
            by += ALL_COLLAPSED
        rows.append(
            {
                "dataset": dataset,
                "condition": condition,
                "method": method,
                "variant": variant,
                "label": method_label(method, variant),
                "setting": best["setting"],
                "val_gap": float(best["val_gap"]) if known else np.nan,
                "n_settings": every,
                "selected_by": by,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def reported_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows tables and method figures show: references plus each method at its best setting
    (one per formulation), with ``method`` holding the method's label (``psg (reference)``)."""
    if df.empty:
        return df.copy()
    best = best_settings(df)[["dataset", "condition", "method", "setting", "label"]]
    unlearned = df[df["model_kind"] == "unlearned"].merge(
        best, on=["dataset", "condition", "method", "setting"], how="inner"
    )
    unlearned = unlearned.assign(method=unlearned.pop("label"))
    references = df[df["model_kind"] != "unlearned"]
    return pd.concat([references, unlearned], ignore_index=True)
