"""The forget/remain trade-off figure: where each method lands relative to the retrained model.

The retrained model is the target of exact unlearning, so the dashed lines at its accuracies show
at a glance how far each method and setting is from it; the original shows where it started.
Every setting of every method is drawn here (not only the chosen one), so the spread of a grid
is visible.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import offset_copy

from unlearning.errors import UserError
from unlearning.plots.common import (
    COLUMN_WIDTH,
    FULL_WIDTH,
    ORIGINAL_STYLE,
    RETRAIN_STYLE,
    TIGHT_PAD,
    method_styles,
    paper_style,
    save_figure,
)
from unlearning.tables.summary import summary_table

#: Above this many unlearned points in a panel, setting labels would overlap, so none are drawn.
MAX_LABELLED_POINTS = 8


def _point(row: pd.Series) -> tuple[float, float] | None:
    """(remain %, forget %) of an aggregated row, or None if either is missing."""
    x, y = row["acc_remain_mean"], row["acc_forget_mean"]
    if pd.isna(x) or pd.isna(y):
        return None
    return 100 * float(x), 100 * float(y)


#: Points closer than this (percentage points, both axes) are drawn side by side, this many
#: typographic points apart, so that none hides another (their centre stays at the value).
COINCIDENT_PP = 0.5
SPREAD_PT = 6.0
#: Narrowest axis range (percentage points), so that a panel whose points all agree is not
#: stretched to hundredths of a point.
MIN_SPAN_PP = 5.0


def _spread(rows: pd.DataFrame) -> dict:
    """Row index -> horizontal offset in points for models (references included) whose markers
    would coincide."""
    offsets: dict = {}
    cells: dict[tuple[int, int], list] = {}
    for index, row in rows.iterrows():
        point = _point(row)
        if point is not None:
            cell = (round(point[0] / COINCIDENT_PP), round(point[1] / COINCIDENT_PP))
            cells.setdefault(cell, []).append(index)
    for members in cells.values():
        for i, index in enumerate(members):
            offsets[index] = (i - (len(members) - 1) / 2) * SPREAD_PT
    return offsets


def _draw_panel(ax: Axes, panel: pd.DataFrame, styles: dict[str, dict]) -> None:
    unlearned = panel[panel["model_kind"] == "unlearned"]
    settings_per_method = unlearned.groupby("method")["setting"].nunique()
    label_points = len(unlearned) <= MAX_LABELLED_POINTS
    labels: list[tuple[str, tuple[float, float], tuple]] = []
    plotted = 0

    for _, row in panel[panel["model_kind"] == "retrain"].iterrows():
        if not pd.isna(row["acc_remain_mean"]):
            ax.axvline(100 * row["acc_remain_mean"], color="tab:red", ls="--", lw=0.8, alpha=0.7)
        if not pd.isna(row["acc_forget_mean"]):
            ax.axhline(100 * row["acc_forget_mean"], color="tab:red", ls="--", lw=0.8, alpha=0.7)

    offsets = _spread(panel)
    for index, row in unlearned.iterrows():
        point = _point(row)
        if point is None:
            continue
        style = styles[row["method"]]
        colour = style["color"]
        ax.plot(
            *point,
            ls="none",
            alpha=0.85,
            zorder=3,
            markeredgecolor="white",
            markeredgewidth=0.4,
            transform=offset_copy(
                ax.transData, ax.figure, x=offsets.get(index, 0.0), units="points"
            ),
            **style,
        )
        plotted += 1
        show = row["setting"] != "default" or settings_per_method[row["method"]] > 1
        if label_points and show:
            labels.append((str(row["setting"]), point, colour))

    for kind, style in (("original", ORIGINAL_STYLE), ("retrain", RETRAIN_STYLE)):
        for index, row in panel[panel["model_kind"] == kind].iterrows():
            point = _point(row)
            if point is not None:
                shift = offset_copy(
                    ax.transData, ax.figure, x=offsets.get(index, 0.0), units="points"
                )
                ax.plot(
                    *point, ls="none", zorder=4, markeredgecolor="white", transform=shift, **style
                )
                plotted += 1

    if not plotted:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center")
    ax.margins(0.08)
    # Labels point inwards (left of points in the right half) so they stay inside the panel.
    left, right = ax.get_xlim()
    for text, point, colour in labels:
        inward = point[0] > (left + right) / 2
        ax.annotate(
            text,
            point,
            xytext=(-4 if inward else 4, 3),
            textcoords="offset points",
            ha="right" if inward else "left",
            fontsize=6,
            color=colour,
            zorder=5,
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7},
        )
    ax.set_xlabel("remain accuracy (%)")
    ax.set_ylabel("forget accuracy (%)")


def tradeoff_figure(df: pd.DataFrame, dataset: str, stem: str | os.PathLike) -> list[Path]:
    """Save ``<stem>.png`` and ``.pdf``: one forget-vs-remain accuracy panel per condition."""
    rows = df[df["dataset"] == dataset]
    if rows.empty:
        raise UserError(f"No metrics rows for dataset {dataset!r}; check the dataset name.")
    table = summary_table(rows)
    conditions = list(dict.fromkeys(table["condition"]))
    methods = sorted(set(table.loc[table["model_kind"] == "unlearned", "method"]))
    styles = method_styles(methods)

    ncols = min(len(conditions), 3)
    nrows = math.ceil(len(conditions) / ncols)
    with paper_style():
        width = COLUMN_WIDTH if ncols == 1 else FULL_WIDTH
        fig = Figure(figsize=(width - TIGHT_PAD, 2.6 * nrows + 1.0), layout="constrained")
        # One range for every panel: they all plot the same two accuracies.
        axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
        for ax, condition in zip(axes.flat, conditions, strict=False):
            _draw_panel(ax, table[table["condition"] == condition], styles)
            ax.set_title(str(condition))
        for ax in axes.flat[len(conditions) :]:
            ax.set_visible(False)
        for limits, setter in (
            (axes[0, 0].get_xlim(), "set_xlim"),
            (axes[0, 0].get_ylim(), "set_ylim"),
        ):
            centre, span = sum(limits) / 2, limits[1] - limits[0]
            if span < MIN_SPAN_PP:
                low = max(centre - MIN_SPAN_PP / 2, -1.0)  # accuracies are not negative
                getattr(axes[0, 0], setter)(low, low + MIN_SPAN_PP)

        handles = [
            Line2D([], [], ls="none", label="original", **ORIGINAL_STYLE),
            Line2D([], [], ls="--", lw=0.8, label="retrain", **RETRAIN_STYLE),
        ] + [Line2D([], [], ls="none", label=m, **styles[m]) for m in methods]
        # Below the panels, so a long method list never runs into the title.
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncol=3 if ncols == 1 else 6,
            frameon=False,
            fontsize="small",
            columnspacing=0.8,
            handletextpad=0.2,
        )
        sep = "\n" if ncols == 1 else " "
        fig.suptitle(f"{dataset}: forget vs remain accuracy,{sep}every setting")
        return save_figure(fig, stem)
