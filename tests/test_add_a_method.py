"""The "Add a method" recipe of docs/architecture.md, followed to the letter: its module is written
into a copy of the workflow, no other file is touched, and the tiny config runs it end to end.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_workflow import ROOT, TINY, copy_workflow, snakemake, write_config

pytestmark = pytest.mark.e2e


def recipe() -> tuple[str, dict]:
    """The Python module and the YAML config of the recipe, read from the document."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("### Add a method", 1)[1].split("\n### ", 1)[0]
    module = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    config = yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))
    return module, config


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    work = copy_workflow(tmp_path_factory.mktemp("add_a_method"))
    # The workflow imports the library from its own src/, so the copy carries one.
    shutil.copytree(ROOT / "src", work / "src", ignore=shutil.ignore_patterns("__pycache__"))
    module, _ = recipe()
    (work / "src/unlearning/methods/flatten.py").write_text(module)
    return work


def tiny_with(methods: dict) -> dict:
    config = json.loads(json.dumps(TINY))
    dataset = config["datasets"]["digits"]
    dataset["conditions"] = {"class_1": dataset["conditions"]["class_1"]}
    config["methods"] = methods
    config["report"] = {"tsne": []}
    return config


def test_the_recipe_method_runs_end_to_end(work: Path) -> None:
    _, recipe_config = recipe()
    config = tiny_with(recipe_config["methods"])
    write_config(work, "tiny.yaml", config)

    result = snakemake(work)
    assert result.returncode == 0, result.stderr[-4000:]

    run = work / "results/digits/seed0/class_1/flatten/default"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["method"] == "flatten" and metrics["hp_weight"] == 0.5
    assert metrics["acc_forget"] is not None
    table = pd.read_csv(work / "results/tables/metrics.csv")
    row = table[table["method"] == "flatten"]
    assert len(row) == 1 and row["hp_epochs"].item() == 2 and row["hp_lr"].item() == 1e-3


def test_the_recipe_method_is_checked_before_any_job(work: Path) -> None:
    config = tiny_with({"flatten": {"params": {"weight": -1}}})
    write_config(work, "bad.yaml", config)

    result = snakemake(work, "-n", config="bad.yaml")
    assert result.returncode != 0
    assert (
        "flatten: weight must be a number > 0, got -1; fix methods.flatten.params.weight in "
        "the config." in result.stdout + result.stderr
    )
