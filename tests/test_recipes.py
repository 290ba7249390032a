"""The data-source, metric and figure recipes of docs/architecture.md, followed as written.

The code of each recipe is read from the document and run, so the document cannot drift from
the code. (The method recipe runs end to end in test_add_a_method.py.)
"""

from __future__ import annotations

import json
import re
import types
from pathlib import Path

import numpy as np
import synthetic_results as sr
from matplotlib.figure import Figure

from unlearning.data import sources
from unlearning.data.prepared import load_prepared, stratified_partition, write_prepared
from unlearning.plots import figures
from unlearning.plots.common import COLUMN_WIDTH, paper_style, save_figure
from unlearning.steps.report import aggregate_metrics
from unlearning.tables import read_metrics_csv

ROOT = Path(__file__).resolve().parents[1]


def recipe_code(title: str) -> str:
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split(f"### {title}", 1)[1].split("\n### ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_source_recipe_prepares_a_loadable_set(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "SOURCES", dict(sources.SOURCES))  # registered for this test
    namespace = {
        "source": sources.source,
        "np": np,
        "stratified_partition": stratified_partition,
        "write_prepared": write_prepared,
    }
    exec(recipe_code("Add a data source"), namespace)
    assert "random_squares" in sources.SOURCES
    spec = {
        "source": "random_squares",
        "image_size": 12,
        "val_fraction": 0.1,
        "test_fraction": 0.2,
        "split_seed": 0,
        "name": "ignored: not a key this source reads",
    }
    sources.prepare("squares", spec, tmp_path / "squares")

    data = load_prepared(tmp_path / "squares")
    assert data.images.shape == (80, 1, 12, 12) and data.info["classes"] == ["blank", "square"]
    assert set(np.unique(data.partition)) == {0, 1, 2}
    assert sources.SOURCES["random_squares"].keys == (
        "image_size",
        "val_fraction",
        "test_fraction",
        "split_seed",
    )


def test_a_new_metric_key_becomes_a_column_of_metrics_csv(tmp_path):
    paths = []
    for i, method in enumerate(("original", "psg")):
        row = {
            "dataset": "toy",
            "seed": 0,
            "condition": "class_0",
            "method": method,
            "setting": "-" if method == "original" else "default",
            "model_kind": "original" if method == "original" else "unlearned",
            "acc_forget": 0.5,
            "my_metric": 0.25 * i,
        }
        path = tmp_path / f"{method}.json"
        path.write_text(json.dumps(row))
        paths.append(str(path))
    out = tmp_path / "metrics.csv"
    aggregate_metrics(paths, out)
    table = read_metrics_csv(out)
    assert list(table.sort_values("method")["my_metric"]) == [0.0, 0.25]


def test_the_figure_recipe_is_drawn_per_condition(tmp_path, monkeypatch):
    module = types.ModuleType("forget_bars")
    module.__dict__.update(
        Figure=Figure, COLUMN_WIDTH=COLUMN_WIDTH, paper_style=paper_style, save_figure=save_figure
    )
    exec(recipe_code("Add a figure"), module.__dict__)
    monkeypatch.setattr(figures, "CONDITION_FIGURES", (*figures.CONDITION_FIGURES, module))
    path = tmp_path / "metrics.csv"
    sr.write_metrics_csv(path)
    table = read_metrics_csv(path)

    drawn = figures.dataset_figures(table, sr.DATASET, tmp_path / "figures")

    for condition in sr.CONDITIONS:
        png = tmp_path / "figures" / condition / "forget_bars.png"
        assert png in drawn and png.stat().st_size > 1000
        assert png.with_suffix(".pdf").exists()
