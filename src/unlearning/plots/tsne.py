"""t-SNE panels of the test features: where the forgotten samples go after unlearning.

In the original model the forget group forms its own cluster; in the retrain it is absorbed by
the classes it resembles. An unlearned model that looks like the retrain has changed its
representation, not just its output layer. Coordinates are computed elsewhere; this only draws.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from unlearning.errors import UserError
from unlearning.plots.common import FULL_WIDTH, load_npz, paper_style, save_figure

MODELS = ("original", "retrain", "unlearned")
#: Without a retrain (``retrain: false``) the map file has no retrain panel.
OPTIONAL_MODELS = ("retrain",)
#: Above this many classes a legend entry per class would crowd out the panels.
MAX_CLASS_LEGEND = 20

_HINT = "rerun the embed_models rule that writes it"


def load_embedding(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Coordinates (n, 2) per model, ``labels`` (n,) int64 and ``forget`` (n,) bool."""
    required = [k for k in (*MODELS, "labels", "forget") if k not in OPTIONAL_MODELS]
    arrays = load_npz(path, "t-SNE file", _HINT, required=required, optional=OPTIONAL_MODELS)
    models = [k for k in MODELS if k in arrays]

    n = len(arrays["labels"]) if arrays["labels"].ndim == 1 else -1
    problems = [
        f"{k} {arrays[k].shape} is not (n, 2)"
        for k in models
        if arrays[k].shape != (n, 2) or not np.issubdtype(arrays[k].dtype, np.number)
    ]
    if n < 0 or not np.issubdtype(arrays["labels"].dtype, np.integer):
        problems.append(f"labels {arrays['labels'].shape} {arrays['labels'].dtype} is not (n,) int")
    forget = arrays["forget"]
    if forget.shape != (n,) or not (
        forget.dtype == bool
        or (np.issubdtype(forget.dtype, np.integer) and np.isin(forget, (0, 1)).all())
    ):
        problems.append(f"forget {forget.shape} {forget.dtype} is not (n,) bool")
    if problems:
        raise UserError(f"t-SNE file {path} has wrong arrays ({'; '.join(problems)}); {_HINT}.")
    return {
        **{k: arrays[k].astype(np.float64) for k in models},
        "labels": arrays["labels"].astype(np.int64),
        "forget": forget.astype(bool),
    }


def _palette(classes: list[int]) -> dict[int, tuple]:
    name = "colorblind" if len(classes) <= 10 else "tab20" if len(classes) <= 20 else "husl"
    colours = sns.color_palette(name, len(classes))
    return dict(zip(classes, colours, strict=True))


def draw(
    embedding: dict[str, np.ndarray],
    title: str,
    stem: str | os.PathLike,
    *,
    unlearned_label: str = "unlearned",
    class_names: list[str] | None = None,
) -> list[Path]:
    """Save original / retrain / unlearned panels, coloured by class, forget samples outlined."""
    labels = np.asarray(embedding["labels"]).astype(np.int64)
    forget = np.asarray(embedding["forget"]).astype(bool)
    classes = sorted(int(c) for c in np.unique(labels))
    palette = _palette(classes)

    def name_of(c: int) -> str:
        return class_names[c] if class_names is not None and 0 <= c < len(class_names) else str(c)

    titles = {"original": "original", "retrain": "retrain", "unlearned": unlearned_label}
    models = [m for m in MODELS if m in embedding]
    with paper_style():
        fig = Figure(figsize=(FULL_WIDTH * len(models) / 3, 2.75), layout="constrained")
        axes = fig.subplots(1, len(models), squeeze=False)[0]
        for ax, model in zip(axes, models, strict=True):
            xy = np.asarray(embedding[model], dtype=np.float64)
            for mask, style in (
                (~forget, {"marker": "o", "s": 9, "linewidth": 0, "alpha": 0.6, "zorder": 2}),
                (
                    forget,
                    {"marker": "D", "s": 16, "edgecolor": "black", "linewidth": 0.6, "zorder": 3},
                ),
            ):
                if mask.any():
                    sns.scatterplot(
                        x=xy[mask, 0],
                        y=xy[mask, 1],
                        hue=labels[mask],
                        palette=palette,
                        hue_order=classes,
                        legend=False,
                        ax=ax,
                        **style,
                    )
            ax.set_title(titles[model])
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel("")
            ax.set_ylabel("")
            # Equal scales keep cluster shapes and distances comparable within a panel.
            ax.set_aspect("equal", adjustable="datalim")
            ax.margins(0.02)

        handles = []
        if len(classes) <= MAX_CLASS_LEGEND:
            handles += [
                Line2D(
                    [], [], ls="none", marker="o", markersize=4, color=palette[c], label=name_of(c)
                )
                for c in classes
            ]
        if forget.any():
            handles.append(
                Line2D(
                    [],
                    [],
                    ls="none",
                    marker="D",
                    markersize=4,
                    markerfacecolor="white",
                    markeredgecolor="black",
                    label="forget set (test)",
                )
            )
        if handles:
            fig.legend(
                handles=handles,
                loc="outside lower center",
                ncol=min(len(handles), 8),
                frameon=False,
                columnspacing=1.0,
                handletextpad=0.2,
            )
        fig.suptitle(title)
        return save_figure(fig, stem)
