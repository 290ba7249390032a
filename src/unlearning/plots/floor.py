"""Each method's gap to the retrain references against their own noise floor, one condition.

One horizontal bar per method at its reported setting: its mean gap to the references' mean
(points, with the range over seeds), over a shaded band from 0 to the floor (the mean
leave-one-out gap of each reference to the others). A bar inside the band cannot be told apart
from retraining on this evidence. Drawn only where a condition has two or more references.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from unlearning.errors import UserError
from unlearning.plots.common import (
    COLUMN_WIDTH,
    RETRAIN_COLOUR,
    TIGHT_PAD,
    paper_style,
    save_figure,
)
from unlearning.tables.collect import numeric
from unlearning.tables.references import floor_verdicts
from unlearning.tables.selection import reported_rows

WITHIN_COLOUR = "tab:green"
BEYOND_COLOUR = "0.45"


def _rows(df: pd.DataFrame, dataset: str, condition: str) -> pd.DataFrame:
    return df[(df["dataset"] == dataset) & (df["condition"] == condition)]


def applies(df: pd.DataFrame, dataset: str, condition: str) -> bool:
    rows = _rows(df, dataset, condition)
    has_floor = numeric(rows, "floor_gap_mean").notna().any()
    return bool(has_floor and (rows["model_kind"] == "unlearned").any())


def draw(
    df: pd.DataFrame, dataset: str, condition: str, stem: str | os.PathLike, **kw
) -> list[Path]:
    """Save the gap-versus-floor figure of one condition (PNG and PDF)."""
    if not applies(df, dataset, condition):
        raise UserError(
            f"No noise floor for {dataset!r}/{condition!r}: it needs unlearned runs and two or "
            "more retrain references (evaluation.retrains)."
        )
    rows = reported_rows(_rows(df, dataset, condition))
    unlearned = rows[rows["model_kind"] == "unlearned"].assign(gap=numeric(rows, "gap_mean"))
    spread = unlearned.groupby("method", sort=False)["gap"].agg(["min", "max"])
    verdicts = floor_verdicts(unlearned).set_index("method").sort_values("gap")
    floor = float(numeric(rows, "floor_gap_mean").mean())
    seeds = int(rows["seed"].nunique())
    height = 0.9 + 0.2 * len(verdicts)
    with paper_style():
        fig = Figure(figsize=(COLUMN_WIDTH - TIGHT_PAD, height))
        ax = fig.add_subplot()
        ax.axvspan(0, 100 * floor, color=RETRAIN_COLOUR, alpha=0.15, lw=0)
        ax.axvline(100 * floor, color=RETRAIN_COLOUR, ls="--", lw=1.0)
        for y, (method, record) in enumerate(verdicts.iterrows()):
            within = record["verdict"] == "within"
            colour = WITHIN_COLOUR if within else BEYOND_COLOUR
            ax.barh(y, 100 * record["gap"], color=colour, height=0.6)
            low, high = spread.loc[method, "min"], spread.loc[method, "max"]
            if seeds > 1 and not math.isnan(low):
                ax.plot([100 * low, 100 * high], [y, y], color="black", lw=1.0)
        ax.set_yticks(range(len(verdicts)), [str(m) for m in verdicts.index])
        ax.invert_yaxis()
        ax.set_xlim(left=0)
        ax.set_xlabel("mean gap to the retrain references (points)")
        span = f"; lines: range over {seeds} seeds" if seeds > 1 else " (one seed)"
        ax.set_title(
            f"{dataset}, {condition}: shaded = retrain noise floor "
            f"({100 * floor:.1f}){span}; green = within",
            fontsize=7,
        )
        return save_figure(fig, stem)
