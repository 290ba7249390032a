"""Published | this run | difference: each published figure redrawn beside this run's numbers.

One file per published figure, drawn from the reproduction table
(:func:`unlearning.tables.reproduction.reproduction_table`) alone. Each grid of the figure (one
data set and one metric) is one row of three heatmaps in points: the published cells, this run's
mean over seeds, and the difference (this run − published). Cells this run did not compute are
grey and left blank, never filled in. The reference lines of the published figures (the
retrain's and the original's constants) are single numbers, so they stay in the table only.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from unlearning.plots.common import FULL_WIDTH, TIGHT_PAD, paper_style, save_figure
from unlearning.tables.reproduction import REFERENCE_KINDS

#: Published rows that are constants of the figure rather than cells of a grid.
REFERENCE_LINES = (*REFERENCE_KINDS, "original")
#: A grid's rows and columns: the first key that varies within it.
ROW_KEYS = ("lambda", "method_or_variant", "panel")
COLUMN_KEYS = ("gamma", "epochs")
LABELS = {
    "lambda": "λ",
    "gamma": "γ",
    "phi": "φ",
    "epochs": "epochs",
    "method_or_variant": "",
    "panel": "",
}
SEQUENTIAL, DIVERGING = "viridis", "RdBu_r"
METRICS = {"acc_forget": "forget accuracy", "acc_remain": "remain accuracy", "distance": "distance"}


def _text(value: object) -> str:
    if isinstance(value, float | np.floating):
        return "–" if math.isnan(value) else f"{value:g}"
    return str(value)


def _varying(grid: pd.DataFrame, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if grid[key].astype(str).nunique() > 1:
            return key
    return None


def _levels(grid: pd.DataFrame, key: str | None) -> list:
    if key is None:
        return [None]
    values = grid[key]
    if key in ("method_or_variant", "panel"):
        return list(dict.fromkeys(values))  # the published order
    return sorted(values.dropna().unique().tolist())


def _matrix(grid: pd.DataFrame, column: str, rows: list, cols: list, rkey, ckey) -> np.ndarray:
    out = np.full((len(rows), len(cols)), np.nan)
    for _, cell in grid.iterrows():
        i = rows.index(cell[rkey]) if rkey else 0
        j = cols.index(cell[ckey]) if ckey else 0
        out[i, j] = cell[column]
    return out


def _heatmap(ax: Axes, values: np.ndarray, cmap: str, vmin: float, vmax: float) -> None:
    """Printed values on coloured cells; missing cells grey and blank."""
    palette = colormaps[cmap].with_extremes(bad="0.88")
    ax.imshow(np.ma.masked_invalid(values), cmap=palette, vmin=vmin, vmax=vmax, aspect="auto")
    span = vmax - vmin
    for (i, j), value in np.ndenumerate(values):
        if not math.isnan(value):
            if cmap == DIVERGING:  # dark at both ends
                dark = abs(value - (vmin + vmax) / 2) > span / 3
            else:  # dark at the low end
                dark = value < vmin + span / 2
            ax.text(
                j,
                i,
                f"{value:.1f}",
                ha="center",
                va="center",
                fontsize=6,
                color="white" if dark else "black",
            )
    ax.grid(False)


def grids(
    table: pd.DataFrame, figure: str
) -> list[tuple[str, pd.DataFrame, str | None, str | None]]:
    """The grids of one published figure: (title, rows, row key, column key), in file order."""
    part = table[(table["figure"] == figure) & ~table["method_or_variant"].isin(REFERENCE_LINES)]
    out = []
    for (dataset, metric), grid in part.groupby(["dataset", "metric"], sort=False):
        title = f"{dataset}: {METRICS.get(metric, metric)}"
        out.append((title, grid, _varying(grid, ROW_KEYS), _varying(grid, COLUMN_KEYS)))
    return out


def draw_figure(table: pd.DataFrame, figure: str, tolerance: float, stem: str | os.PathLike):
    """Published | this run | difference for every grid of ``figure``; returns the paths."""
    parts = grids(table, figure)
    heights = [0.55 + 0.22 * len(_levels(g, rkey)) for _, g, rkey, _ in parts]
    with paper_style(font_scale=0.8):
        fig = Figure(figsize=(FULL_WIDTH - TIGHT_PAD, 0.3 + sum(heights)), layout="constrained")
        axes = fig.subplots(len(parts), 3, squeeze=False, height_ratios=heights)
        for row, (title, grid, rkey, ckey) in enumerate(parts):
            rows, cols = _levels(grid, rkey), _levels(grid, ckey)
            published = _matrix(grid, "published", rows, cols, rkey, ckey)
            run = _matrix(grid, "run_mean", rows, cols, rkey, ckey)
            difference = _matrix(grid, "difference", rows, cols, rkey, ckey)
            shown = np.concatenate([published.ravel(), run.ravel()])
            low, high = float(np.nanmin(shown)), float(np.nanmax(shown))
            if high - low < 1e-9:
                low, high = low - 1.0, high + 1.0
            finite = difference[np.isfinite(difference)]
            limit = max(tolerance, float(np.abs(finite).max()) if finite.size else 0.0, 1e-9)
            for col, (values, cmap, vmin, vmax, name) in enumerate(
                (
                    (published, SEQUENTIAL, low, high, "published"),
                    (run, SEQUENTIAL, low, high, "this run (mean over seeds)"),
                    (difference, DIVERGING, -limit, limit, "difference (this run − published)"),
                )
            ):
                ax = axes[row, col]
                _heatmap(ax, values, cmap, vmin, vmax)
                ax.set_title(f"{title}\n{name}" if col == 0 else name, fontsize=7, loc="left")
                ax.set_xticks(range(len(cols)), [_text(c) for c in cols] if ckey else [""])
                ax.set_yticks(
                    range(len(rows)), [_text(r) for r in rows] if rkey and col == 0 else []
                )
                ax.set_xlabel(LABELS.get(ckey or "", ""))
                if col == 0:
                    ax.set_ylabel(LABELS.get(rkey or "", ""))
        fig.suptitle(
            f"{figure}: published | this run | difference, in points "
            f"(grey: not run; tolerance {tolerance:g})",
            fontsize=8,
        )
        return save_figure(fig, stem)


def draw_reproduction(table: pd.DataFrame, tolerance: float, folder: str | os.PathLike):
    """One figure per published figure that has grid cells, in ``folder``; returns the paths."""
    folder = Path(folder)
    paths = []
    for figure in dict.fromkeys(table["figure"]):
        if grids(table, figure):
            paths += draw_figure(table, figure, tolerance, folder / str(figure))
    return paths
