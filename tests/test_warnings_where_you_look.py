"""Warnings where the user looks: a tiny image-folder run whose references cannot learn (and whose
methods change nothing) ends with a terminal block naming each problem, marks the methods figure
and opens the report on the warnings and the summary tables."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from test_workflow import copy_workflow, snakemake, write_config

from unlearning.tables.warnings import collect_warnings

pytestmark = pytest.mark.e2e

CLASSES = ("a", "b", "c", "d")


def _image_folder(root: Path) -> Path:
    """4 classes × 12 PNGs (8 px, a class-specific pattern) and a metadata CSV with a device."""
    rng = np.random.default_rng(0)
    rows = []
    for c, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for j in range(12):
            image = rng.integers(0, 60, (8, 8, 3), dtype=np.uint8)
            image[2 * c : 2 * c + 2] += 150
            file = f"{name}_{j}.png"
            Image.fromarray(image).save(root / name / file)
            rows.append({"file": file, "device": "B" if j % 3 == 0 else "A"})
    metadata = root.parent / "metadata.csv"
    pd.DataFrame(rows).to_csv(metadata, index=False)
    return metadata


def _config(root: Path, metadata: Path) -> dict:
    return {
        "seeds": [0],
        "progress": False,
        "threads": 1,
        "datasets": {
            "clinic": {
                "source": "imagefolder",
                "image_size": 8,
                "imagefolder": {"root": str(root), "metadata_csv": str(metadata)},
                "model": {"architecture": "allcnn", "width_factor": 0.125},
                # a learning rate too small to learn anything: original and retrain stay at chance
                "train": {"epochs": 1, "batch_size": 16, "lr": 1.0e-7},
                "conditions": {"device_b": {"kind": "metadata_equals", "column": "device",
                                            "value": "B"}},
            }
        },
        "evaluation": {"retrains": 1, "batch_size": 256},
        "methods": {
            "finetune": {"params": {"epochs": 1, "lr": 1.0e-7, "batch_size": 16}},
            "grad_ascent": {"params": {"epochs": 1, "lr": 1.0e-7, "batch_size": 16}},
        },
    }  # fmt: skip


def _pdf_text(path: Path) -> str:
    """The text matplotlib drew in a PDF, one string per text operator (its content streams
    inflated, the pieces of each TJ array joined)."""
    out = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", path.read_bytes(), flags=re.S):
        try:
            content = zlib.decompress(stream).decode("latin-1")
        except zlib.error:
            continue
        for array in re.findall(r"\[(.*?)\]\s*TJ", content, flags=re.S):
            out.append("".join(re.findall(r"\(((?:[^()\\]|\\.)*)\)", array)))
        out += re.findall(r"\(((?:[^()\\]|\\.)*)\)\s*Tj", content)
    return "\n".join(out)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = copy_workflow(tmp_path_factory.mktemp("warn"))
    metadata = _image_folder(work / "data" / "images")
    name = write_config(work, "clinic.yaml", _config(work / "data" / "images", metadata))
    result = snakemake(work, config=name)
    assert result.returncode == 0, result.stderr[-4000:]
    return work, name, result


def test_terminal_block_names_every_problem(run):
    _, _, result = run
    block = result.stderr[result.stderr.index("Warnings from results/tables/metrics.csv") :]
    assert "Reference problems" in block and "clinic / device_b" in block
    assert "near chance for 4 classes" in block
    assert "Left the model unchanged" in block
    assert "finetune/default" in block and "grad_ascent/default" in block
    assert "Collapsed (test accuracy near chance)" in block and "retrain" in block
    assert len(block.splitlines()) < 20  # short


def test_methods_figure_is_marked(run):
    work, _, _ = run
    text = _pdf_text(work / "results/figures/clinic/device_b/methods.pdf")
    assert "grad_ascent [unchanged, collapsed]" in text
    assert "WARNING, reference problem" in text
    assert "one seed" in text and "mean ± std" not in text  # one seed: no spread legend


def test_report_opens_on_warnings_and_tables(run):
    work, name, _ = run
    result = snakemake(work, "--report", "report.html", config=name)
    assert result.returncode == 0, result.stderr[-3000:]
    page = (work / "report.html").read_text()
    warnings = page.index("Warnings")
    table = page.index("Unlearning results: each method at its chosen setting")
    description = page.index("Targeted unlearning of image classifiers")
    assert warnings < table < description
    assert "near chance for 4 classes" in page


def test_collected_warnings_from_the_table(run):
    work, _, _ = run
    from unlearning.tables import read_metrics_csv

    found = collect_warnings(read_metrics_csv(work / "results/tables/metrics.csv"))
    assert ("clinic", "device_b") in found.reference_conditions
    assert {"finetune/default", "grad_ascent/default"} <= found.unchanged_runs[
        ("clinic", "device_b")
    ]
