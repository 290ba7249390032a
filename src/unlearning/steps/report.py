"""Steps that turn metrics into the tables and figures (rules aggregate_metrics,
summary_tables, dataset_figures); they read JSON and CSV only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unlearning.atomic import atomic_dir
from unlearning.steps.files import read_json


def hyperparameter_columns(params: dict[str, Any]) -> dict[str, Any]:
    """``hp_<name>`` for every resolved hyperparameter of a run, so tables and figures (the
    λ×γ grid, composition epochs) read values rather than parse setting names."""
    return {
        f"hp_{name}": value
        for name, value in params.items()
        if value is None or isinstance(value, (bool, int, float, str))
    }


def aggregate(metric_paths: list[str], out_csv: str | Path) -> str:
    from unlearning.tables.collect import collect_metrics, write_metrics_csv

    table = collect_metrics(metric_paths)
    write_metrics_csv(table, out_csv)
    return f"{len(table)} models in {out_csv}"


def tables_step(metrics_csv: str | Path, folder: str | Path, html_folder: str | Path) -> str:
    """summary and psg_grid tables (CSV, Markdown, LaTeX) and their HTML pages for the report."""
    from unlearning.tables import read_metrics_csv, write_tables

    with atomic_dir(html_folder) as tmp:
        sections = write_tables(read_metrics_csv(metrics_csv), folder, tmp)
    return f"tables of {sections} dataset/condition pairs in {folder}"


def figures_step(
    metrics_csv: str | Path,
    dataset: str,
    info_path: str | Path,
    tsne_entries: list[dict[str, Any]],
    out_dir: str | Path,
    results: str | Path = "results",
) -> str:
    """Every figure of one dataset, from the metrics table and the saved arrays only."""
    from unlearning.plots.figures import TsneRun, dataset_figures
    from unlearning.tables import read_metrics_csv

    info = read_json(info_path, "Dataset description", "rerun the prepare_data rule")
    runs = [
        TsneRun(e["condition"], int(e["seed"]), e["method"], e["setting"], Path(e["path"]))
        for e in tsne_entries
    ]
    with atomic_dir(out_dir) as tmp:
        drawn = dataset_figures(
            read_metrics_csv(metrics_csv),
            dataset,
            tmp,
            results=results,
            class_names=info.get("classes"),
            tsne_runs=runs,
        )
    return f"{len(drawn)} figures of {dataset} in {out_dir}"
