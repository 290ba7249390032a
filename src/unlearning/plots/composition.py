"""Model composition: how forget and remain accuracy of ``compose`` move with fine-tuning epochs.

Composing a forgotten head with other features starts close to the unlearned model; fine-tuning
on the remain set recovers remain accuracy but may bring the forgotten class back, so both are
drawn against epochs with the retrain and original as the two ends to compare with.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from unlearning.errors import UserError
from unlearning.plots.common import (
    COLUMN_WIDTH,
    MARKERS,
    ORIGINAL_COLOUR,
    RETRAIN_COLOUR,
    TIGHT_PAD,
    paper_style,
    save_figure,
    value_text,
)
from unlearning.tables.collect import numeric

METHOD = "compose"
EPOCHS = "hp_epochs"
#: (column, panel title); fractions in the table, drawn as percent.
METRICS: tuple[tuple[str, str], ...] = (
    ("acc_forget", "forget accuracy"),
    ("acc_remain", "remain accuracy"),
)


def _compose_rows(df: pd.DataFrame, dataset: str, condition: str) -> pd.DataFrame:
    """compose rows with numeric epochs and a ``variant`` label of their other hyperparameters."""
    if EPOCHS not in df.columns:
        return df.iloc[0:0].reindex(columns=[*df.columns, EPOCHS, "variant"])
    rows = df[
        (df["dataset"] == dataset) & (df["condition"] == condition) & (df["method"] == METHOD)
    ].copy()
    rows[EPOCHS] = numeric(rows, EPOCHS)
    rows = rows[rows[EPOCHS].notna()]
    others = [
        c for c in rows.columns if c.startswith("hp_") and c != EPOCHS and rows[c].notna().any()
    ]
    varying = [c for c in others if rows[c].map(value_text).nunique() > 1]
    if varying:
        rows["variant"] = rows[varying].apply(
            lambda r: ", ".join(f"{c.removeprefix('hp_')}={value_text(r[c])}" for c in varying),
            axis=1,
        )
    else:
        # One series: name what it is composed of when the table says so.
        rows["variant"] = ", ".join(
            f"{c.removeprefix('hp_')}={value_text(rows[c].dropna().iloc[0])}"
            for c in others
            if not pd.api.types.is_numeric_dtype(rows[c])
        )
    return rows


def epoch_series(df: pd.DataFrame, dataset: str, condition: str) -> pd.DataFrame:
    """One row per (variant, epochs): mean, std and count over seeds of each metric (fractions).

    ``variant`` names the other hyperparameters the compose settings differ in, or, for a single
    series, its text-valued ones (what it is composed of); a metric missing in every seed stays
    NaN.
    """
    rows = _compose_rows(df, dataset, condition)
    columns = ["variant", "epochs", "n_seeds"]
    columns += [f"{c}_{s}" for c, _ in METRICS for s in ("mean", "std", "n")]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    for column, _ in METRICS:
        rows[column] = numeric(rows, column)
    grouped = rows.groupby(["variant", EPOCHS], sort=True)
    parts: dict[str, pd.Series] = {"n_seeds": grouped["seed"].nunique()}
    for column, _ in METRICS:
        parts[f"{column}_mean"] = grouped[column].mean()
        parts[f"{column}_std"] = grouped[column].std(ddof=1)
        parts[f"{column}_n"] = grouped[column].count()
    table = pd.DataFrame(parts).reset_index().rename(columns={EPOCHS: "epochs"})
    return table[columns]


def applies(df: pd.DataFrame, dataset: str, condition: str) -> bool:
    return _compose_rows(df, dataset, condition)[EPOCHS].nunique() >= 2


def _legend_columns(labels: list[str]) -> int:
    """As many columns as fit in a column-wide figure at the legend's font size."""
    if sum(len(label) + 6 for label in labels) <= 60:
        return len(labels)
    return 2 if max(len(label) for label in labels) <= 24 else 1


def _reference(df: pd.DataFrame, dataset: str, condition: str, kind: str, column: str) -> float:
    rows = df[
        (df["dataset"] == dataset) & (df["condition"] == condition) & (df["model_kind"] == kind)
    ]
    return float(numeric(rows, column).mean())


def draw(
    df: pd.DataFrame, dataset: str, condition: str, stem: str | os.PathLike, **kw
) -> list[Path]:
    """Save forget and remain accuracy of compose against fine-tuning epochs (mean ± std)."""
    if not applies(df, dataset, condition):
        raise UserError(
            f"No compose series for {dataset!r}/{condition!r}; the figure needs compose runs "
            "with at least two values of hp_epochs."
        )
    series = epoch_series(df, dataset, condition)
    variants = list(dict.fromkeys(series["variant"]))
    palette = dict(zip(variants, sns.color_palette("colorblind", len(variants)), strict=True))
    markers = {v: MARKERS[i % len(MARKERS)] for i, v in enumerate(variants)}

    # "± std" only where there is a spread: with one seed a point is that seed.
    spread = " (mean ± std)" if int(series["n_seeds"].max()) > 1 else ""
    labels = variants if len(variants) > 1 else [f"compose{spread}"]
    ncol = _legend_columns([*labels, "retrain", "original"])
    legend_rows = math.ceil((len(labels) + 2) / ncol)

    with paper_style():
        height = 2.2 + 0.17 * legend_rows
        fig = Figure(figsize=(COLUMN_WIDTH - TIGHT_PAD, height), layout="constrained")
        axes = fig.subplots(1, len(METRICS), sharex=True)
        for ax, (column, title) in zip(axes, METRICS, strict=True):
            data = series.assign(mean=series[f"{column}_mean"] * 100)
            data["std"] = series[f"{column}_std"] * 100
            for variant in variants:
                part = data[data["variant"] == variant]
                ax.fill_between(
                    part["epochs"],
                    part["mean"] - part["std"],
                    part["mean"] + part["std"],
                    color=palette[variant],
                    alpha=0.2,
                    lw=0,
                )
                # Plotted directly, a missing epoch breaks the line instead of being bridged
                # (seaborn's lineplot drops missing points and joins their neighbours).
                ax.plot(
                    part["epochs"],
                    part["mean"],
                    color=palette[variant],
                    marker=markers[variant],
                    ms=4,
                    mec="white",
                    mew=0.5,
                )
            for kind, colour, style in (
                ("retrain", RETRAIN_COLOUR, "--"),
                ("original", ORIGINAL_COLOUR, ":"),
            ):
                value = _reference(df, dataset, condition, kind, column)
                if not math.isnan(value):
                    ax.axhline(100 * value, color=colour, ls=style, lw=1.1)
            ax.set_title(title)
            ax.set_xlabel("fine-tuning epochs")
            ax.set_ylabel("%" if column == METRICS[0][0] else "")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.margins(y=0.08)

        handles = [
            Line2D(
                [],
                [],
                color=palette[v],
                marker=markers[v],
                ms=4,
                label=label,
            )
            for v, label in zip(variants, labels, strict=True)
        ]
        handles += [
            Line2D([], [], color=RETRAIN_COLOUR, ls="--", lw=1.1, label="retrain"),
            Line2D([], [], color=ORIGINAL_COLOUR, ls=":", lw=1.1, label="original"),
        ]
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncol=ncol,
            frameon=False,
            fontsize="small",
        )
        title = f"{dataset} · {condition}: compose"
        if len(variants) == 1 and variants[0]:
            title += f" ({variants[0]})"
        elif len(variants) > 1:
            title += spread
        fig.suptitle(title, wrap=True)
        return save_figure(fig, stem)
