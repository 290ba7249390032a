"""Per-sample loss histograms: whether forgotten samples look like training or unseen data.

A membership-inference attack reads exactly this signal. After exact unlearning (the retrain) the
forget set's losses match those of test samples of the same group, not those of training samples;
a method that leaves them as low as the original's has not forgotten, whatever its accuracy says.
Losses span orders of magnitude and can be exactly 0, so the axis is log10 of a clipped loss.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from unlearning.errors import UserError
from unlearning.plots.common import COLUMN_WIDTH, load_npz, paper_style, save_figure

#: Keys of ``losses.npz`` and how the figure names them.
GROUPS: dict[str, str] = {
    "train_forget": "forget set (train)",
    "test_forget": "test, forgotten group",
    "test_remain": "test, other",
}
COLOURS = {"train_forget": "tab:red", "test_forget": "tab:orange", "test_remain": "tab:blue"}
#: Losses below this (including exact zeros) are drawn at it, so log10 stays finite.
LOSS_FLOOR = 1e-8
BINS = 40

_HINT = "rerun the evaluation rule that writes it"


def load_losses(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The three per-sample loss arrays of one model, as 1-D float64."""
    arrays = load_npz(path, "Per-sample losses file", _HINT, required=list(GROUPS))
    for key, array in arrays.items():
        if array.ndim != 1 or not np.issubdtype(array.dtype, np.number):
            raise UserError(
                f"Per-sample losses file {path} holds {key} with shape {array.shape} and dtype "
                f"{array.dtype}, not a 1-D numeric array; {_HINT}."
            )
    return {k: a.astype(np.float64) for k, a in arrays.items()}


def _log_losses(values: np.ndarray) -> np.ndarray:
    """log10 of the finite losses clipped at the floor; a NaN loss is dropped, never drawn."""
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    return np.log10(np.clip(values, LOSS_FLOOR, None))


def draw(
    panels: dict[str, dict[str, np.ndarray]], title: str, stem: str | os.PathLike
) -> list[Path]:
    """Save one histogram panel per model (forget set vs test groups), on common bins."""
    if not panels:
        raise UserError(f"No models to draw for the loss figure {title!r}; check the inputs.")
    logs = {
        name: {k: _log_losses(arrays[k]) for k in GROUPS if k in arrays}
        for name, arrays in panels.items()
    }
    everything = np.concatenate([v for groups in logs.values() for v in groups.values()] or [[]])
    if everything.size:
        low, high = float(everything.min()), float(everything.max())
        if high - low < 1e-6:
            low, high = low - 0.5, high + 0.5
    else:
        low, high = np.log10(LOSS_FLOOR), 1.0
    bins = np.linspace(low, high, BINS + 1)

    with paper_style():
        fig = Figure(figsize=(COLUMN_WIDTH, 0.95 * len(panels) + 0.9), layout="constrained")
        axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
        for ax, (name, groups) in zip(axes, logs.items(), strict=True):
            drawn = 0
            for key, values in groups.items():
                if values.size == 0:
                    continue
                sns.histplot(
                    x=values,
                    bins=bins,
                    stat="density",
                    element="step",
                    fill=True,
                    alpha=0.25,
                    linewidth=1.0,
                    color=COLOURS[key],
                    ax=ax,
                )
                drawn += 1
            if not drawn:
                ax.text(0.5, 0.5, "no losses", transform=ax.transAxes, ha="center", va="center")
            ax.set_title(name, loc="left", pad=2)
            ax.set_ylabel("density")
        axes[-1].set_xlim(bins[0], bins[-1])
        axes[-1].set_xlabel(f"log$_{{10}}$ per-sample loss (clipped at {LOSS_FLOOR:g})")
        handles = [
            Patch(facecolor=COLOURS[k], edgecolor=COLOURS[k], alpha=0.5, label=label)
            for k, label in GROUPS.items()
        ]
        # Two columns: three entries side by side are wider than one column of the paper.
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncol=2,
            frameon=False,
            handlelength=1.5,
            columnspacing=1.0,
        )
        # A run's title (dataset, condition, seed) easily outgrows one column.
        fig.suptitle(textwrap.fill(title, 45))
        return save_figure(fig, stem)
