"""psg's λ×γ grid as heatmaps: how closeness (λ) and noise (γ) trade remain against forget.

Each cell must be one setting, or a mean would mix runs that differ in something else; so when
psg's settings also vary other hyperparameters, only those sharing the default's other values are
shown (or, if that leaves no grid, the largest grid sharing one set of other values, named in the
title).

psg has two formulations whose λ and γ live on different scales (the reference code's and the
corrected pixel one), so each formulation gets its own figure: ``formulation`` selects its rows
(rows written before the formulation existed count as ``pixel``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from unlearning.errors import UserError
from unlearning.plots.common import FULL_WIDTH, TIGHT_PAD, paper_style, save_figure, value_text
from unlearning.report_settings import GRID_AXES, GRID_NAME, HIGHLIGHT
from unlearning.tables.collect import numeric

#: The first grid axis is drawn as rows, the second as columns.
ROW_AXIS, COL_AXIS = GRID_AXES
ROW, COL = ROW_AXIS.column, COL_AXIS.column
FORMULATION = "hp_formulation"
DEFAULT_FORMULATION = "pixel"

#: (column, panel title, colormap, colourbar label); accuracies are fractions in the table.
PANELS: tuple[tuple[str, str, str, str], ...] = (
    ("acc_remain", "remain accuracy", "viridis", "%, higher is better"),
    ("acc_forget", "forget accuracy", "mako", "%"),
    ("distance", "distance to retrain", "viridis_r", "pp, lower is better"),
)


def _same(a: object, b: object) -> bool:
    """Equality of two hyperparameter values where two missing values are equal."""
    if pd.isna(a) or pd.isna(b):
        return bool(pd.isna(a) and pd.isna(b))
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def _key(values: pd.Series) -> tuple[str, ...]:
    return tuple(value_text(v) for v in values)


def _formulation_of(rows: pd.DataFrame) -> pd.Series:
    if FORMULATION not in rows.columns:
        return pd.Series(DEFAULT_FORMULATION, index=rows.index)
    return rows[FORMULATION].where(rows[FORMULATION].notna(), DEFAULT_FORMULATION).astype(str)


def formulations(df: pd.DataFrame, dataset: str, condition: str) -> list[str]:
    """The psg formulations present for one dataset and condition, pixel first."""
    rows = df[
        (df["dataset"] == dataset) & (df["condition"] == condition) & (df["method"] == HIGHLIGHT)
    ]
    found = set(_formulation_of(rows))
    return sorted(found, key=lambda f: (f != DEFAULT_FORMULATION, f))


def psg_slice(
    df: pd.DataFrame, dataset: str, condition: str, formulation: str | None = None
) -> tuple[pd.DataFrame, dict]:
    """psg rows of one grid, with numeric λ and γ, and the other hyperparameters held fixed.

    The second value maps each other ``hp_*`` column that psg varies to the value held fixed;
    it is empty when psg varies only λ and γ. ``formulation`` keeps that formulation's rows only.
    """
    if ROW not in df.columns or COL not in df.columns:
        return df.iloc[0:0].reindex(columns=[*df.columns, ROW, COL]), {}
    rows = df[
        (df["dataset"] == dataset) & (df["condition"] == condition) & (df["method"] == HIGHLIGHT)
    ].copy()
    if formulation is not None:
        rows = rows[_formulation_of(rows) == formulation]
    rows[ROW], rows[COL] = numeric(rows, ROW), numeric(rows, COL)
    rows = rows[rows[ROW].notna() & rows[COL].notna()]
    others = [
        c
        for c in rows.columns
        if c.startswith("hp_") and c not in (ROW, COL) and rows[c].notna().any()
    ]
    varying = [c for c in others if rows[c].astype(str).nunique(dropna=False) > 1]
    if rows.empty or not varying:
        return rows, {}

    def cells(part: pd.DataFrame) -> int:
        return len(part[[ROW, COL]].drop_duplicates())

    default = rows[rows["setting"] == "default"]
    chosen = None
    if len(default):
        reference = default.iloc[0]
        same = rows[varying].apply(
            lambda r: all(_same(r[c], reference[c]) for c in varying), axis=1
        )
        if cells(rows[same]) >= 2:
            chosen = rows[same]
    if chosen is None:
        # No grid around the default: take the largest one sharing one set of other values.
        groups = rows.groupby(rows[varying].apply(_key, axis=1), sort=True)
        chosen = max((part for _, part in groups), key=cells)
    return chosen, {c: chosen[c].iloc[0] for c in varying}


def grid(
    df: pd.DataFrame, dataset: str, condition: str, formulation: str | None = None
) -> dict[str, pd.DataFrame]:
    """Per panel column, a λ (rows) × γ (columns) table of means over seeds, as in the CSV.

    Cells without any value stay NaN; λ and γ are sorted numerically.
    """
    rows, _ = psg_slice(df, dataset, condition, formulation)
    out = {}
    for column, *_ in PANELS:
        values = rows[[ROW, COL]].assign(value=numeric(rows, column))
        table = values.pivot_table(
            index=ROW, columns=COL, values="value", aggfunc="mean", dropna=False
        )
        # pivot_table drops all-NaN cells; put the grid's full shape back.
        lambdas, gammas = sorted(rows[ROW].unique()), sorted(rows[COL].unique())
        out[column] = table.reindex(index=lambdas, columns=gammas).astype("float64")
    return out


def applies(df: pd.DataFrame, dataset: str, condition: str, formulation: str | None = None) -> bool:
    rows, _ = psg_slice(df, dataset, condition, formulation)
    return len(rows[[ROW, COL]].drop_duplicates()) >= 2


def _default_cell(rows: pd.DataFrame, table: pd.DataFrame) -> tuple[int, int] | None:
    default = rows[rows["setting"] == "default"]
    if default.empty:
        return None
    lam, gam = default.iloc[0][ROW], default.iloc[0][COL]
    return list(table.index).index(lam), list(table.columns).index(gam)


def _retrain_mean(df: pd.DataFrame, dataset: str, condition: str, column: str) -> float:
    rows = df[
        (df["dataset"] == dataset)
        & (df["condition"] == condition)
        & (df["model_kind"] == "retrain")
    ]
    return float(numeric(rows, column).mean())


def _panel(ax: Axes, table: pd.DataFrame, cmap: str, label: str, fmt: str) -> None:
    shown = table * 100
    shown.index = [f"{v:g}" for v in table.index]
    shown.columns = [f"{v:g}" for v in table.columns]
    if shown.notna().any().any():
        finite = shown.to_numpy()[np.isfinite(shown.to_numpy())]
        low, high = float(finite.min()), float(finite.max())
        if low == high:
            low, high = low - 1, high + 1
    else:
        low, high = 0.0, 1.0
    sns.heatmap(
        shown,
        ax=ax,
        annot=True,
        fmt=fmt,
        cmap=cmap,
        vmin=low,
        vmax=high,
        linewidths=0.5,
        linecolor="white",
        annot_kws={"fontsize": 7},
        cbar_kws={"orientation": "horizontal", "label": label, "shrink": 0.9, "aspect": 25},
    )
    for i, j in zip(*np.nonzero(shown.isna().to_numpy()), strict=True):
        ax.text(j + 0.5, i + 0.5, "n/a", ha="center", va="center", fontsize=7, color="0.4")
    ax.grid(False)
    ax.tick_params(axis="y", rotation=0)
    ax.tick_params(axis="x", rotation=0)


def draw(
    df: pd.DataFrame,
    dataset: str,
    condition: str,
    stem: str | os.PathLike,
    formulation: str | None = None,
    **kw,
) -> list[Path]:
    """Save three heatmaps (remain, forget, distance to retrain) of psg's λ×γ grid."""
    if not applies(df, dataset, condition, formulation):
        raise UserError(
            f"No {HIGHLIGHT} {GRID_NAME} grid for {dataset!r}/{condition!r}; the figure needs at "
            f"least two {HIGHLIGHT} settings with different {ROW}/{COL}."
        )
    rows, fixed = psg_slice(df, dataset, condition, formulation)
    fixed.pop(FORMULATION, None)
    tables = grid(df, dataset, condition, formulation)
    n_lambda, n_gamma = tables[PANELS[0][0]].shape
    fmt = ".1f" if n_gamma <= 4 else ".0f"
    cell = _default_cell(rows, tables[PANELS[0][0]])

    with paper_style():
        fig = Figure(figsize=(FULL_WIDTH - TIGHT_PAD, 1.6 + 0.28 * n_lambda), layout="constrained")
        axes = fig.subplots(1, len(PANELS), sharey=True)
        for k, (ax, (column, title, cmap, unit)) in enumerate(zip(axes, PANELS, strict=True)):
            _panel(ax, tables[column], cmap, unit, fmt)
            retrain = _retrain_mean(df, dataset, condition, column)
            if column != "distance" and not math.isnan(retrain):
                title = f"{title}\n(retrain {100 * retrain:.1f}%)"
            elif column == "distance":
                title = f"{title}\n(√(ΔR²+ΔF²))"
            ax.set_title(title)
            ax.set_xlabel(COL_AXIS.label)
            ax.set_ylabel(ROW_AXIS.label if k == 0 else "")
            if cell is not None:
                ax.add_patch(
                    Rectangle((cell[1], cell[0]), 1, 1, fill=False, ec="red", lw=1.6, clip_on=False)
                )
        which = f" ({formulation} formulation)" if formulation else ""
        title = f"{dataset} · {condition}: {HIGHLIGHT}{which} {GRID_NAME} (mean over seeds"
        title += "; red box: default)" if cell is not None else ")"
        held = ", ".join(f"{c.removeprefix('hp_')}={value_text(v)}" for c, v in fixed.items())
        if held:
            title += f"\nheld fixed: {held}"
        fig.suptitle(title, wrap=True)
        return save_figure(fig, stem)
