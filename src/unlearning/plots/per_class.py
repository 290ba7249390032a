"""Test accuracy per class for the references and every method at its reported setting.

Headline accuracies average over classes; per class one can see whether a method forgot only the
target class or also damaged its neighbours, which is what the retrain row is there to compare.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from unlearning.errors import UserError
from unlearning.plots.common import COLUMN_WIDTH, FULL_WIDTH, TIGHT_PAD, paper_style, save_figure
from unlearning.tables.selection import best_settings, reported_rows

CLASS_COLUMN = re.compile(r"^acc_class_(\d+)$")
REFERENCES = ("original", "retrain")
#: Above this many classes the numbers no longer fit in a cell; colour alone is shown.
MAX_ANNOTATED = 20


def class_columns(df: pd.DataFrame, dataset: str | None = None) -> dict[int, str]:
    """Class index -> its ``acc_class_<c>`` column, sorted numerically (10 after 9).

    With ``dataset``, only the columns holding a value in one of its rows: the long table unions
    the columns of every dataset, so a 5-class set's rows are empty under acc_class_5 and above
    when a 10-class set shares the table.
    """
    found = {int(m.group(1)): c for c in df.columns if (m := CLASS_COLUMN.match(str(c)))}
    if dataset is not None:
        rows = df[df["dataset"] == dataset]
        found = {
            c: column
            for c, column in found.items()
            if pd.to_numeric(rows[column], errors="coerce").notna().any()
        }
    return dict(sorted(found.items()))


def _rows(df: pd.DataFrame, dataset: str, condition: str) -> pd.DataFrame:
    return df[(df["dataset"] == dataset) & (df["condition"] == condition)]


def class_matrix(df: pd.DataFrame, dataset: str, condition: str) -> pd.DataFrame:
    """Rows original, retrain, then methods by name; columns class indices; means over seeds.

    Fractions as in the CSV; a class missing in every seed of a model stays NaN.
    """
    columns = class_columns(df, dataset)
    rows = reported_rows(_rows(df, dataset, condition))
    if rows.empty or not columns:
        return pd.DataFrame(columns=list(columns), dtype="float64")
    values = rows[list(columns.values())].apply(pd.to_numeric, errors="coerce").astype("float64")
    values.columns = list(columns)
    matrix = values.groupby(rows["method"]).mean()
    references = [m for m in REFERENCES if m in matrix.index]
    methods = sorted(set(rows.loc[rows["model_kind"] == "unlearned", "method"]))
    order = references + [m for m in methods if m not in references]
    matrix = matrix.loc[order]
    matrix.index.name = None
    return matrix


def applies(df: pd.DataFrame, dataset: str, condition: str) -> bool:
    columns = list(class_columns(df, dataset).values())
    if not columns:
        return False
    values = _rows(df, dataset, condition)[columns].apply(pd.to_numeric, errors="coerce")
    return bool(values.notna().any().any())


def _fits(width: float, n_cols: int, row_labels: list[str]) -> bool:
    """Whether a "100" fits in each cell at 7 pt once the row labels have taken their share."""
    labels = max(len(label) for label in row_labels) * 0.085  # inches at ~8 pt, with margin
    return (width - TIGHT_PAD - labels - 0.2) / n_cols >= 0.25


def _forget_class(df: pd.DataFrame, dataset: str, condition: str) -> int | None:
    """The forgotten class where the condition names one (class conditions), else None."""
    if "condition_class" not in df.columns:
        return None
    values = pd.to_numeric(_rows(df, dataset, condition)["condition_class"], errors="coerce")
    values = values.dropna().unique()
    return int(values[0]) if len(values) == 1 else None


def draw(
    df: pd.DataFrame,
    dataset: str,
    condition: str,
    stem: str | os.PathLike,
    *,
    class_names: list[str] | None = None,
    **kw,
) -> list[Path]:
    """Save a heatmap of test accuracy (%) per class; ``class_names[c]`` labels class ``c``."""
    if not applies(df, dataset, condition):
        raise UserError(
            f"No per-class accuracies (acc_class_<c>) for {dataset!r}/{condition!r}; "
            "check the dataset and condition."
        )
    matrix = class_matrix(df, dataset, condition)
    classes = list(matrix.columns)
    if class_names is not None and len(class_names) <= max(classes):
        raise UserError(
            f"class_names has {len(class_names)} names but the table has accuracies of class "
            f"{max(classes)} for dataset {dataset!r}; pass one name per class index."
        )
    labels = [str(class_names[c]) if class_names is not None else str(c) for c in classes]
    shown = matrix * 100
    shown.columns = labels
    chosen = best_settings(_rows(df, dataset, condition)).set_index("label")["setting"]
    shown.index = [
        f"{m} ({chosen[m]})" if m in chosen.index and chosen[m] != "default" else m
        for m in shown.index
    ]
    n_rows, n_cols = shown.shape
    annotate = n_cols <= MAX_ANNOTATED
    fmt = ".1f" if n_cols <= 6 else ".0f"
    forget = _forget_class(df, dataset, condition)
    long_names = max(len(s) for s in labels) > 3

    with paper_style():
        width = COLUMN_WIDTH if _fits(COLUMN_WIDTH, n_cols, list(shown.index)) else FULL_WIDTH
        height = 1.7 + 0.2 * n_rows + (0.35 if long_names else 0)
        fig = Figure(figsize=(width - TIGHT_PAD, height), layout="constrained")
        ax = fig.subplots()
        sns.heatmap(
            shown,
            ax=ax,
            annot=annotate,
            fmt=fmt,
            cmap="viridis",
            vmin=0,
            vmax=100,
            linewidths=0.4,
            linecolor="white",
            annot_kws={"fontsize": 7},
            cbar_kws={
                "label": "test accuracy per class (%)",
                "orientation": "horizontal",
                "shrink": 0.7,
                "aspect": 35,
            },
            xticklabels=True if n_cols <= 40 else "auto",
            yticklabels=True,
        )
        if annotate:
            for i, j in zip(*np.nonzero(shown.isna().to_numpy()), strict=True):
                ax.text(j + 0.5, i + 0.5, "n/a", ha="center", va="center", fontsize=7, color="0.4")
        references = sum(m in REFERENCES for m in matrix.index)
        if 0 < references < n_rows:
            ax.axhline(references, color="white", lw=2.5)
        if forget is not None and forget in classes:
            j = classes.index(forget)
            ax.add_patch(Rectangle((j, 0), 1, n_rows, fill=False, ec="red", lw=1.4, clip_on=False))
        ax.set_xlabel("class" + (" (red box: forgotten)" if forget in classes else ""))
        ax.set_ylabel("")
        ax.grid(False)
        ax.tick_params(axis="y", rotation=0)
        ax.tick_params(axis="x", rotation=45 if long_names else 0)
        if long_names:
            for tick in ax.get_xticklabels():
                tick.set_horizontalalignment("right")
                tick.set_rotation_mode("anchor")
        fig.suptitle(f"{dataset} · {condition}", wrap=True)
        return save_figure(fig, stem)
