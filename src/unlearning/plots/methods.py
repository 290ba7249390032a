"""Every method side by side at the setting it is reported with, against retrain and original.

Showing each method's reported (validation-chosen) setting keeps the figure consistent with the
tables; seeds are drawn as dots so a mean carried by one lucky seed is visible.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from unlearning.errors import UserError
from unlearning.plots.common import (
    FULL_WIDTH,
    ORIGINAL_COLOUR,
    RETRAIN_COLOUR,
    TIGHT_PAD,
    method_styles,
    paper_style,
    save_figure,
)
from unlearning.tables.collect import numeric
from unlearning.tables.selection import reported_rows
from unlearning.tables.warnings import Warnings, collect_warnings

#: Text of the marks that flag a run or a reference the warnings name.
WARNING_COLOUR = "#b00020"

#: (column, panel title); all are fractions in the table and drawn as percent.
METRICS: tuple[tuple[str, str], ...] = (
    ("acc_forget", "forget accuracy"),
    ("acc_remain", "remain accuracy"),
    ("acc_test", "test accuracy"),
    ("mia_efficacy", "MIA efficacy"),
)
REFERENCES = ("original", "retrain")


def _reported(df: pd.DataFrame, dataset: str, condition: str) -> pd.DataFrame:
    """Rows of the references and of each method at its reported setting, metrics numeric."""
    rows = df[(df["dataset"] == dataset) & (df["condition"] == condition)]
    rows = reported_rows(rows)
    for column, _ in METRICS:
        rows[column] = numeric(rows, column)
    return rows


def method_summary(df: pd.DataFrame, dataset: str, condition: str) -> pd.DataFrame:
    """One row per model (index: method; references first, then methods by name).

    Columns: model_kind, setting, n_seeds and, per metric, ``<metric>_mean``/``_std``/``_n``
    over seeds (fractions). A metric missing in every seed stays NaN.
    """
    rows = _reported(df, dataset, condition)
    columns = ["model_kind", "setting", "n_seeds"]
    columns += [f"{c}_{s}" for c, _ in METRICS for s in ("mean", "std", "n")]
    if rows.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="method"))
    grouped = rows.groupby("method", sort=True)
    parts: dict[str, pd.Series] = {
        "model_kind": grouped["model_kind"].first(),
        "setting": grouped["setting"].first(),
        "n_seeds": grouped["seed"].nunique(),
    }
    for column, _ in METRICS:
        parts[f"{column}_mean"] = grouped[column].mean()
        parts[f"{column}_std"] = grouped[column].std(ddof=1)
        parts[f"{column}_n"] = grouped[column].count()
    table = pd.DataFrame(parts)
    rank = table.index.map(lambda m: REFERENCES.index(m) if m in REFERENCES else len(REFERENCES))
    return table.iloc[sorted(range(len(table)), key=lambda i: (rank[i], table.index[i]))]


def applies(df: pd.DataFrame, dataset: str, condition: str) -> bool:
    rows = df[(df["dataset"] == dataset) & (df["condition"] == condition)]
    return bool((rows["model_kind"] == "unlearned").any())


def _limits(values: list[float]) -> tuple[float, float]:
    """x range around the values (percent), at least 6 points wide, within about 0–100."""
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return 0.0, 100.0
    low, high = min(finite), max(finite)
    pad = max(0.08 * (high - low), 3.0)
    return max(low - pad, -4.0), min(high + pad, 104.0)


def _panel_values(column: str, summary: pd.DataFrame, seeds: pd.DataFrame, methods: list[str]):
    """Every value a panel draws (percent): means ± std, seed dots and the reference lines."""
    means = summary.loc[methods, f"{column}_mean"] * 100
    stds = (summary.loc[methods, f"{column}_std"] * 100).fillna(0)
    dots = (seeds[column] * 100).dropna()
    references = [
        summary.loc[kind, f"{column}_mean"] * 100 for kind in REFERENCES if kind in summary.index
    ]
    return [*means, *(means - stds), *(means + stds), *dots, *references]


def _panel(
    ax: Axes,
    column: str,
    summary: pd.DataFrame,
    seeds: pd.DataFrame,
    methods: list[str],
    colours: dict[str, tuple],
    limits: tuple[float, float],
) -> None:
    means = summary.loc[methods, f"{column}_mean"] * 100
    stds = summary.loc[methods, f"{column}_std"] * 100
    dots = seeds.assign(value=seeds[column] * 100).dropna(subset=["value"])
    # With one seed a seed's dot is its mean: draw only the diamond.
    if len(dots) and dots.groupby("method")["seed"].nunique().max() > 1:
        sns.stripplot(
            data=dots,
            y="method",
            x="value",
            order=methods,
            color="0.55",
            size=2.5,
            jitter=0.12,
            zorder=2,
            ax=ax,
        )
    points = pd.DataFrame({"method": methods, "value": means.to_numpy()})
    sns.pointplot(
        data=points,
        y="method",
        x="value",
        hue="method",
        order=methods,
        hue_order=methods,
        palette=colours,
        errorbar=None,
        linestyle="none",
        markers="D",
        markersize=4,
        legend=False,
        zorder=4,
        ax=ax,
    )
    for i, method in enumerate(methods):
        if math.isnan(stds[method]) or stds[method] == 0:
            continue
        ax.errorbar(
            means[method],
            i,
            xerr=stds[method],
            fmt="none",
            ecolor=colours[method],
            elinewidth=1.0,
            capsize=2,
            zorder=3,
        )
    ax.set_xlim(*limits)
    for i, value in enumerate(means):
        if math.isnan(value):
            ax.text(
                0.5,
                i,
                "n/a",
                va="center",
                ha="center",
                fontsize=7,
                color="0.35",
                zorder=6,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"},
                transform=ax.get_yaxis_transform(),
            )
    for kind, colour, style in (
        ("retrain", RETRAIN_COLOUR, "--"),
        ("original", ORIGINAL_COLOUR, ":"),
    ):
        if kind in summary.index and not math.isnan(summary.loc[kind, f"{column}_mean"]):
            ax.axvline(
                100 * summary.loc[kind, f"{column}_mean"], color=colour, ls=style, lw=1.1, zorder=5
            )
    ax.set_xlabel("%")
    ax.set_ylabel("")
    ax.grid(axis="y", visible=False)


def draw(
    df: pd.DataFrame, dataset: str, condition: str, stem: str | os.PathLike, **kw
) -> list[Path]:
    """Save four panels (forget, remain, test accuracy, MIA efficacy), one row per method: a
    diamond at the mean over seeds, a horizontal bar of ± one std and a dot per seed (with
    several seeds). The accuracy panels share one range. Runs the warnings name are marked
    after their label, a reference problem under the title."""
    if not applies(df, dataset, condition):
        raise UserError(
            f"No unlearned rows for {dataset!r}/{condition!r}; check the dataset and condition."
        )
    summary = method_summary(df, dataset, condition)
    methods = [m for m in summary.index if summary.loc[m, "model_kind"] == "unlearned"]
    seeds = _reported(df, dataset, condition)
    seeds = seeds[seeds["model_kind"] == "unlearned"]
    colours = {m: s["color"] for m, s in method_styles(methods).items()}

    warnings = collect_warnings(df)
    marks = _marks(warnings, dataset, condition, summary, methods)
    several_seeds = bool(len(seeds)) and int(seeds.groupby("method")["seed"].nunique().max()) > 1
    # The three accuracy panels share one range, so equal lengths mean equal points.
    accuracy = [c for c, _ in METRICS if c.startswith("acc_")]
    shared = _limits([v for c in accuracy for v in _panel_values(c, summary, seeds, methods)])

    problem = warnings.reference_conditions.get((dataset, condition))

    with paper_style():
        # A reference problem adds two lines of title: room for them, not at the rows' expense.
        height = max(2.0, 1.0 + 0.17 * len(methods)) + (0.5 if problem else 0.0)
        fig = Figure(figsize=(FULL_WIDTH - TIGHT_PAD, height), layout="constrained")
        axes = fig.subplots(1, len(METRICS), sharey=True)
        for ax, (column, title) in zip(axes, METRICS, strict=True):
            limits = (
                shared
                if column in accuracy
                else _limits(_panel_values(column, summary, seeds, methods))
            )
            _panel(ax, column, summary, seeds, methods, colours, limits)
            ax.set_title(title)
        # Name the chosen setting next to the method, so the figure says what it shows, and mark
        # the runs that changed nothing or collapsed.
        labels = [
            (m if summary.loc[m, "setting"] == "default" else f"{m} ({summary.loc[m, 'setting']})")
            + marks.get(m, "")
            for m in methods
        ]
        axes[0].set_yticks(range(len(methods)), labels)
        for tick, method in zip(axes[0].get_yticklabels(), methods, strict=True):
            if marks.get(method):
                tick.set_color(WARNING_COLOUR)
        if several_seeds:
            handles = [
                Line2D([], [], ls="-", marker="D", ms=4, color="0.2", label="mean ± std"),
                Line2D([], [], ls="none", marker="o", ms=3, color="0.55", label="seed"),
            ]
        else:
            handles = [Line2D([], [], ls="none", marker="D", ms=4, color="0.2", label="one seed")]
        for kind, colour, style in (
            ("retrain", RETRAIN_COLOUR, "--"),
            ("original", ORIGINAL_COLOUR, ":"),
        ):
            if kind in summary.index:
                handles.append(Line2D([], [], color=colour, ls=style, lw=1.1, label=kind))
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)
        title = f"{dataset} · {condition}: methods at their validation-chosen settings"
        if problem:
            title += f"\nWARNING, reference problem: {problem}"
        suptitle = fig.suptitle(title, wrap=True)
        if problem:
            suptitle.set_color(WARNING_COLOUR)
        return save_figure(fig, stem)


def _marks(
    warnings: Warnings, dataset: str, condition: str, summary: pd.DataFrame, methods: list[str]
) -> dict[str, str]:
    """Method label -> " [unchanged]" / " [collapsed]" for the runs the warnings name."""
    unchanged = warnings.unchanged_runs.get((dataset, condition), set())
    broken = warnings.collapsed_runs.get((dataset, condition), set())
    marks = {}
    for label in methods:
        run = f"{label.split(' (')[0]}/{summary.loc[label, 'setting']}"
        tags = [
            tag for tag, runs in (("unchanged", unchanged), ("collapsed", broken)) if run in runs
        ]
        if tags:
            marks[label] = f" [{', '.join(tags)}]"
    return marks
