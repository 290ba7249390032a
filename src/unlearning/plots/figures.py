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
    LOSS_METHOD,
    OVERVIEW,
    composition,
    lambda_gamma,
    losses,
    methods,
    per_class,
    selective,
    tsne,
)
from unlearning.plots.tradeoff import tradeoff_figure
from unlearning.tables.selection import best_settings


@dataclass(frozen=True)
class TsneRun:
    """One configured t-SNE figure: which unlearned run, and where its maps are saved."""

    condition: str
    seed: int
    method: str
    setting: str
    path: Path

    @property
    def name(self) -> str:
        return f"tsne_{self.method}_{self.setting}_seed{self.seed}"


def run_folder(results: Path, dataset: str, seed: int, condition: str, method: str, setting: str):
    """Folder of a model's metrics and arrays, as the evaluation rules write it."""
    base = results / dataset / f"seed{seed}" / condition
    if method in ("original", "retrain"):
        return base / method
    return base / method / setting


def _loss_panels(
    df: pd.DataFrame, results: Path, dataset: str, condition: str, seed: int
) -> dict[str, dict]:
    rows = df[(df["dataset"] == dataset) & (df["condition"] == condition)]
    panels = {}
    for kind in ("original", "retrain"):
        if (rows["model_kind"] == kind).any():
            folder = run_folder(results, dataset, seed, condition, kind, "-")
            panels[kind] = losses.load_losses(folder / "losses.npz")
    best = best_settings(rows)
    chosen = best[best["method"] == LOSS_METHOD]
    if len(chosen):
        setting = str(chosen.iloc[0]["setting"])
        folder = run_folder(results, dataset, seed, condition, LOSS_METHOD, setting)
        panels[f"{LOSS_METHOD} ({setting})"] = losses.load_losses(folder / "losses.npz")
    return panels


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
    results: str | os.PathLike = "results",
    class_names: Sequence[str] | None = None,
    tsne_runs: Sequence[TsneRun] = (),
) -> list[Path]:
    """Draw every figure of ``dataset`` under ``out``; return the PNG paths written."""
    out, results = Path(out), Path(results)
    rows = df[df["dataset"] == dataset]
    if rows.empty:
        raise UserError(f"No metrics rows for dataset {dataset!r}; check the dataset name.")
    names = list(class_names) if class_names else None
    drawn: list[Path] = []
    drawn += tradeoff_figure(df, dataset, out / OVERVIEW / "tradeoff")
    for class_index in selective.series(df, dataset):
        stem = out / OVERVIEW / f"selective_class_{class_index}"
        drawn += selective.draw(df, dataset, class_index, stem)

    first_seed = int(rows["seed"].min())
    for condition in dict.fromkeys(rows["condition"]):
        folder = out / str(condition)
        for module in (methods, composition):
            if module.applies(df, dataset, condition):
                stem = folder / module.__name__.rsplit(".", 1)[-1]
                drawn += module.draw(df, dataset, condition, stem)
        drawn += _lambda_gamma_figures(df, dataset, condition, folder)
        if per_class.applies(df, dataset, condition):
            drawn += per_class.draw(df, dataset, condition, folder / "per_class", class_names=names)
        panels = _loss_panels(df, results, dataset, condition, first_seed)
        if panels:
            title = f"{dataset}, {condition}: per-sample loss (seed {first_seed})"
            drawn += losses.draw(panels, title, folder / "losses")
        for run in (r for r in tsne_runs if r.condition == condition):
            title = f"{dataset}, {condition}: t-SNE of penultimate features (seed {run.seed})"
            drawn += tsne.draw(
                tsne.load_embedding(run.path),
                title,
                folder / run.name,
                unlearned_label=f"{run.method} ({run.setting})",
                class_names=names,
            )
    return [p for p in drawn if p.suffix == ".png"]
