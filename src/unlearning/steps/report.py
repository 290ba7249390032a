"""Steps that turn metrics into the tables and figures (rules aggregate_metrics,
summary_tables, dataset_figures); they read JSON, CSV and saved arrays only."""

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


def aggregate_metrics(metric_paths: list[str], out_csv: str | Path) -> str:
    """Every model's metrics.json as one row of the long table ``out_csv``, with the retrain
    references' leave-one-out gaps and noise floor (``unlearning.tables.references``)."""
    from unlearning.tables.collect import collect_metrics, write_metrics_csv
    from unlearning.tables.references import with_reference_floor

    table = with_reference_floor(collect_metrics(metric_paths))
    write_metrics_csv(table, out_csv)
    return f"{len(table)} models in {out_csv}"


def summary_tables(
    metrics_csv: str | Path,
    folder: str | Path,
    html_folder: str | Path,
    front: str | Path | None = None,
    description: str | Path | None = None,
) -> str:
    """The summary and the highlighted method's grid tables (CSV, Markdown, LaTeX) in ``folder``
    and their HTML pages for the report; with ``front``, the report's first page (warnings and
    summary tables, then the workflow ``description``)."""
    from unlearning.atomic import write_text
    from unlearning.tables import read_metrics_csv, write_tables
    from unlearning.tables.front import front_page

    df = read_metrics_csv(metrics_csv)
    with atomic_dir(html_folder) as tmp:
        sections = write_tables(df, folder, tmp)
        if front is not None:
            text = Path(description).read_text() if description else ""
            write_text(front, front_page(df, tmp, text))
    return f"tables of {sections} dataset/condition pairs in {folder}"


def dataset_figures(
    metrics_csv: str | Path,
    dataset: str,
    info_path: str | Path,
    loss_runs: list[dict[str, Any]],
    loss_files: list[str],
    tsne_runs: list[dict[str, Any]],
    tsne_files: list[str],
    out_dir: str | Path,
) -> str:
    """Every figure of one dataset, from the metrics table and the saved arrays only.

    ``*_runs`` say which model each of ``*_files`` (in the same order) belongs to: its condition,
    seed, method and setting.
    """
    from unlearning.plots.figures import RunFile
    from unlearning.plots.figures import dataset_figures as draw
    from unlearning.tables import read_metrics_csv

    def files(runs: list[dict[str, Any]], paths: list[str]) -> list[RunFile]:
        return [
            RunFile(run["condition"], int(run["seed"]), run["method"], run["setting"], Path(path))
            for run, path in zip(runs, paths, strict=True)
        ]

    info = read_json(info_path, "Dataset description", "rerun the prepare_data rule")
    with atomic_dir(out_dir) as tmp:
        drawn = draw(
            read_metrics_csv(metrics_csv),
            dataset,
            tmp,
            class_names=info["classes"],
            loss_files=files(loss_runs, loss_files),
            tsne_files=files(tsne_runs, tsne_files),
        )
    return f"{len(drawn)} figures of {dataset} in {out_dir}"


def reproduction(
    published_csv: str | Path,
    metrics_csv: str | Path,
    tolerance: float,
    out_csv: str | Path,
    out_md: str | Path,
    figure_folder: str | Path,
) -> str:
    """This run beside the paper's published numbers: the reproduction table (CSV, Markdown)
    and, per published figure, published | this run | difference."""
    from unlearning.plots.reproduction import draw_reproduction
    from unlearning.tables import read_metrics_csv
    from unlearning.tables.reproduction import verdict_counts, write_reproduction

    table = write_reproduction(
        published_csv, read_metrics_csv(metrics_csv), tolerance, out_csv, out_md
    )
    with atomic_dir(figure_folder) as tmp:
        draw_reproduction(table, tolerance, tmp)
    return f"{len(table)} published cells: {verdict_counts(table)}"
