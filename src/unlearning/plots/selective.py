"""Selective unlearning: how each metric moves as a larger share of one class is forgotten.

Forgetting a few samples of a class should barely touch the model, forgetting the whole class
should erase it; the retrained model traces the target curve, so a method is good where it follows
the retrain at every fraction, not only at 100%. Each method is shown at the setting chosen on the
validation split for that condition, as in the tables.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from unlearning.errors import UserError
from unlearning.plots.common import (
    COLUMN_WIDTH,
    FULL_WIDTH,
    ORIGINAL_COLOUR,
    RETRAIN_COLOUR,
    method_styles,
    paper_style,
    save_figure,
)
from unlearning.report_settings import HIGHLIGHT
from unlearning.tables.selection import reported_rows

#: (metrics column, panel title); all are fractions in the table and shown in %.
METRICS: tuple[tuple[str, str], ...] = (
    ("acc_forget", "forget accuracy (%)"),
    ("acc_remain", "remain accuracy (%)"),
    ("acc_test", "test accuracy (%)"),
    ("mia_efficacy", "MIA efficacy (%)"),
)
REFERENCES = ("original", "retrain")
#: Share of a category slot the dodged method points spread over; the rest separates fractions.
DODGE_WIDTH = 0.3


def _conditions(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """condition, class, fraction of every class/class_fraction condition of ``dataset``.

    A ``class`` condition counts as fraction 1.0; where a ``class_fraction`` condition at 1.0
    exists too it is kept instead, so each fraction maps to exactly one condition.
    """
    columns = ["condition", "class", "fraction"]
    needed = {"dataset", "condition", "condition_kind", "condition_class"}
    if df.empty or not needed <= set(df.columns):
        return pd.DataFrame(columns=columns)
    rows = df[df["dataset"] == dataset]
    kind = rows["condition_kind"]
    rows = rows[kind.isin(["class", "class_fraction"])]
    fraction = (
        pd.to_numeric(rows["condition_fraction"], errors="coerce")
        if "condition_fraction" in rows.columns
        else pd.Series(math.nan, index=rows.index)
    )
    fraction = fraction.where(rows["condition_kind"] == "class_fraction", 1.0)
    cls = pd.to_numeric(rows["condition_class"], errors="coerce")
    out = pd.DataFrame(
        {
            "condition": rows["condition"],
            "class": cls,
            "fraction": fraction,
            "is_class": rows["condition_kind"] == "class",
        }
    )
    out = out[out["class"].notna() & (out["fraction"] > 0) & (out["fraction"] <= 1)]
    out = out.drop_duplicates("condition").sort_values(["class", "fraction", "is_class"])
    out = out.drop_duplicates(["class", "fraction"], keep="first")
    out["class"] = out["class"].astype("int64")
    return out[columns].reset_index(drop=True)


def series(df: pd.DataFrame, dataset: str) -> list[int]:
    """Classes of ``dataset`` with a selective series: at least two distinct forgotten fractions."""
    conditions = _conditions(df, dataset)
    counts = conditions.groupby("class")["fraction"].nunique()
    return sorted(int(c) for c, n in counts.items() if n >= 2)


def points(df: pd.DataFrame, dataset: str, class_index: int) -> pd.DataFrame:
    """Tidy mean/std over seeds per model, fraction and metric (``n`` seeds with a value).

    ``model`` is ``original``, ``retrain`` or the method name. Means skip missing seeds, as in
    the summary tables; a metric missing in every seed stays NaN.
    """
    columns = ["model", "fraction", "metric", "mean", "std", "n"]
    conditions = _conditions(df, dataset)
    conditions = conditions[conditions["class"] == int(class_index)]
    if conditions.empty:
        return pd.DataFrame(columns=columns)
    fraction_of = dict(zip(conditions["condition"], conditions["fraction"], strict=True))
    rows = df[(df["dataset"] == dataset) & df["condition"].isin(list(fraction_of))]
    rows = reported_rows(rows)
    if rows.empty:
        return pd.DataFrame(columns=columns)
    model = rows["method"].where(rows["model_kind"] == "unlearned", rows["model_kind"])
    tidy = pd.DataFrame({"model": model, "fraction": rows["condition"].map(fraction_of)})
    metric_columns = {}
    for metric, _ in METRICS:
        values = rows[metric] if metric in rows.columns else pd.Series(math.nan, index=rows.index)
        metric_columns[metric] = pd.to_numeric(values, errors="coerce").astype("float64")
    tidy = pd.concat([tidy, pd.DataFrame(metric_columns)], axis=1).melt(
        id_vars=["model", "fraction"], var_name="metric", value_name="value"
    )
    grouped = tidy.groupby(["model", "fraction", "metric"], sort=True)["value"]
    out = pd.DataFrame(
        {"mean": grouped.mean(), "std": grouped.std(ddof=1), "n": grouped.count()}
    ).reset_index()
    return out[columns]


def _draw_panel(
    ax: Axes,
    panel: pd.DataFrame,
    fractions: list[float],
    methods: list[str],
    styles: dict[str, dict],
) -> None:
    position = {f: i for i, f in enumerate(fractions)}
    step = DODGE_WIDTH / max(len(methods), 1)
    for kind, colour, style in (
        ("original", ORIGINAL_COLOUR, {"ls": ":", "lw": 1.4, "marker": "*", "markersize": 6}),
        ("retrain", RETRAIN_COLOUR, {"ls": "--", "lw": 2.2, "marker": "X", "markersize": 5}),
    ):
        ref = panel[panel["model"] == kind].sort_values("fraction")
        if ref.empty:
            continue
        x = ref["fraction"].map(position).to_numpy(float)
        mean, std = 100 * ref["mean"].to_numpy(float), 100 * ref["std"].to_numpy(float)
        # A band only where the std is known; NaN leaves a gap rather than a zero-width band.
        ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.15, lw=0, zorder=1)
        ax.plot(x, mean, color=colour, zorder=2, **style)
    for i, method in enumerate(methods):
        rows = panel[panel["model"] == method].sort_values("fraction")
        if rows.empty:
            continue
        offset = (i - (len(methods) - 1) / 2) * step
        x = rows["fraction"].map(position).to_numpy(float) + offset
        mean, std = 100 * rows["mean"].to_numpy(float), 100 * rows["std"].to_numpy(float)
        style = styles[method]
        ax.errorbar(
            x,
            mean,
            yerr=np.where(np.isnan(std), 0.0, std),
            color=style["color"],
            marker=style["marker"],
            markersize=style["markersize"] - 1,
            markeredgecolor="white",
            markeredgewidth=0.3,
            lw=1.0 if method == HIGHLIGHT else 0.7,
            elinewidth=0.6,
            capsize=0,
            alpha=0.9,
            zorder=4 if method == HIGHLIGHT else 3,
        )
    if panel["mean"].notna().sum() == 0:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center")
    ax.set_xticks(range(len(fractions)), [f"{100 * f:g}" for f in fractions])
    ax.set_xlim(-0.5, len(fractions) - 0.5)
    ax.grid(axis="x", visible=False)


def draw(df: pd.DataFrame, dataset: str, class_index: int, stem: str | os.PathLike) -> list[Path]:
    """Save one panel per metric against the forgotten fraction of class ``class_index``."""
    data = points(df, dataset, class_index)
    if data.empty:
        raise UserError(
            f"No class_fraction or class conditions for class {class_index} of dataset "
            f"{dataset!r}; add class_fraction conditions of that class to the config."
        )
    fractions = sorted(data["fraction"].unique())
    methods = sorted(set(data["model"]) - set(REFERENCES))
    styles = method_styles(methods)
    # Past a handful of methods the dodged points need the full text width to stay apart.
    many = len(methods) > 6
    width, height = (FULL_WIDTH, 2.0) if many else (COLUMN_WIDTH, 1.6)
    with paper_style():
        fig = Figure(figsize=(width, 2 * height + 0.4), layout="constrained")
        axes = fig.subplots(2, 2, squeeze=False, sharex=True)
        for ax, (metric, label) in zip(axes.flat, METRICS, strict=True):
            _draw_panel(ax, data[data["metric"] == metric], fractions, methods, styles)
            ax.set_title(label)
        for ax in axes[-1]:
            ax.set_xlabel(f"% of class {class_index} forgotten")
        # The accuracy panels share one range, so equal heights mean equal points.
        accuracy = [
            ax for ax, (m, _) in zip(axes.flat, METRICS, strict=True) if m.startswith("acc_")
        ]
        low = min(ax.get_ylim()[0] for ax in accuracy)
        high = max(ax.get_ylim()[1] for ax in accuracy)
        for ax in accuracy:
            ax.set_ylim(low, high)
        present = set(data["model"])
        handles = [
            Line2D([], [], color=ORIGINAL_COLOUR, ls=":", lw=1.4, marker="*", label="original"),
            Line2D([], [], color=RETRAIN_COLOUR, ls="--", lw=2.2, marker="X", label="retrain"),
        ]
        handles = [h for h in handles if h.get_label() in present]
        handles += [
            Line2D([], [], color=styles[m]["color"], marker=styles[m]["marker"], lw=0.8, label=m)
            for m in methods
        ]
        ncol = min(len(handles), 6 if many else 3)
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncol=ncol,
            frameon=False,
            columnspacing=1.0,
            handlelength=2.0,
        )
        fig.suptitle(f"{dataset}: forgetting part of class {class_index}")
        return save_figure(fig, stem)
