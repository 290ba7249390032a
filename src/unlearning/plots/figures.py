"""Every figure of one dataset, from the metrics table and the small saved arrays only.

Layout: ``<out>/<condition>/<figure>.{png,pdf}`` for per-condition figures and
``<out>/overview/<figure>.{png,pdf}`` for those that span conditions (trade-off, selective
unlearning). A figure whose data the config does not produce (no λ×γ grid, no compose series, a
single fraction) is skipped, and the returned list says what was drawn.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from unlearning.errors import UserError
from unlearning.plots import (
    OVERVIEW,
    composition,
    floor,
    lambda_gamma,
    losses,
    methods,
    per_class,
    selective,
    tsne,
)
from unlearning.plots.tradeoff import tradeoff_figure
from unlearning.report_settings import HIGHLIGHT
from unlearning.tables.selection import best_settings

#: Figures drawn per condition from the metrics table alone. Each module has
#: ``applies(df, dataset, condition)`` and ``draw(df, dataset, condition, stem)``; the file is
#: ``<condition>/<module name>.{png,pdf}``. A new figure of this kind is one module added here.
CONDITION_FIGURES = (methods, composition, floor)


@dataclass(frozen=True)
class RunFile:
    """A saved array file of one model of the dataset: its per-sample losses, or the t-SNE maps of
    an unlearned run. The original and the retrain have the setting ``-``, as in the metrics."""

    condition: str
    seed: int
    method: str
    setting: str
    path: Path


def _loss_panels(
    df: pd.DataFrame, dataset: str, condition: str, loss_files: Sequence[RunFile]
) -> tuple[int | None, dict[str, dict]]:
    """The seed and the panels of the loss figure of one condition: the original, the retrain and
    the highlighted method at its reported setting, from the first seed's files."""
    given = [f for f in loss_files if f.condition == condition]
    if not given:
        return None, {}
    seed = min(f.seed for f in given)
    files = {(f.method, f.setting): f.path for f in given if f.seed == seed}
    rows = df[(df["dataset"] == dataset) & (df["condition"] == condition)]
    kinds = [kind for kind in ("original", "retrain") if (rows["model_kind"] == kind).any()]
    wanted = [(kind, kind, "-") for kind in kinds]
    best = best_settings(rows)
    chosen = best[best["method"] == HIGHLIGHT]
    if len(chosen):
        setting = str(chosen.iloc[0]["setting"])
        wanted.append((f"{HIGHLIGHT} ({setting})", HIGHLIGHT, setting))
    panels = {}
    for label, method, setting in wanted:
        if (method, setting) not in files:
            raise UserError(
                f"No losses.npz of {method}/{setting} (condition {condition!r}, seed {seed}) was "
                "given to the figures; the dataset_figures rule must list it."
            )
        panels[label] = losses.load_losses(files[method, setting])
    return seed, panels


def _lambda_gamma_figures(df: pd.DataFrame, dataset: str, condition: str, folder: Path):
    """One λ×γ figure per psg formulation that has a grid (``lambda_gamma_<formulation>``)."""
    drawn: list[Path] = []
    for formulation in lambda_gamma.formulations(df, dataset, condition):
        if lambda_gamma.applies(df, dataset, condition, formulation):
            stem = folder / f"lambda_gamma_{formulation}"
            drawn += lambda_gamma.draw(df, dataset, condition, stem, formulation=formulation)
    return drawn


def dataset_figures(
    df: pd.DataFrame,
    dataset: str,
    out: str | os.PathLike,
    *,
    class_names: Sequence[str] | None = None,
    loss_files: Sequence[RunFile] = (),
    tsne_files: Sequence[RunFile] = (),
) -> list[Path]:
    """Draw every figure of ``dataset`` under ``out``; return the PNG paths written.

    ``loss_files`` are the per-sample losses of the original, the retrain and every setting of
    the highlighted method (the figure picks the reported one), ``tsne_files`` the t-SNE maps to
    draw, one figure each.
    """
    out = Path(out)
    rows = df[df["dataset"] == dataset]
    if rows.empty:
        raise UserError(f"No metrics rows for dataset {dataset!r}; check the dataset name.")
    names = list(class_names) if class_names else None
    drawn: list[Path] = []
    drawn += tradeoff_figure(df, dataset, out / OVERVIEW / "tradeoff")
    for class_index in selective.series(df, dataset):
        stem = out / OVERVIEW / f"selective_class_{class_index}"
        drawn += selective.draw(df, dataset, class_index, stem)

    for condition in dict.fromkeys(rows["condition"]):
        folder = out / str(condition)
        for module in CONDITION_FIGURES:
            if module.applies(df, dataset, condition):
                stem = folder / module.__name__.rsplit(".", 1)[-1]
                drawn += module.draw(df, dataset, condition, stem)
        drawn += _lambda_gamma_figures(df, dataset, condition, folder)
        if per_class.applies(df, dataset, condition):
            drawn += per_class.draw(df, dataset, condition, folder / "per_class", class_names=names)
        seed, panels = _loss_panels(df, dataset, condition, loss_files)
        if panels:
            title = f"{dataset}, {condition}: per-sample loss (seed {seed})"
            drawn += losses.draw(panels, title, folder / "losses")
        for run in (r for r in tsne_files if r.condition == condition):
            title = f"{dataset}, {condition}: t-SNE of penultimate features (seed {run.seed})"
            drawn += tsne.draw(
                tsne.load_embedding(run.path),
                title,
                folder / f"tsne_{run.method}_{run.setting}_seed{run.seed}",
                unlearned_label=f"{run.method} ({run.setting})",
                class_names=names,
            )
    return [p for p in drawn if p.suffix == ".png"]
