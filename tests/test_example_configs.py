"""The starter config for an image folder plans as written, once its folder exists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from test_workflow import copy_workflow, job_counts, snakemake

pytestmark = pytest.mark.e2e


def test_imagefolder_example_plans(tmp_path):
    work = copy_workflow(tmp_path / "w")
    root = work / "data/clinic/images"
    rng = np.random.default_rng(0)
    rows = []
    for c in range(3):
        (root / f"class_{c}").mkdir(parents=True)
        for j in range(10):
            name = f"{c}_{j}.png"
            Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(
                root / f"class_{c}" / name
            )
            rows.append({"file": name, "device": "B" if j < 3 else "A", "age": 40 + 4 * j})
    pd.DataFrame(rows).to_csv(work / "data/clinic/metadata.csv", index=False)
    result = snakemake(work, "-n", config="config/examples/imagefolder.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    assert counts["train_original"] == 1
    assert counts["train_retrain"] == 2  # one reference for each of the two conditions
    assert counts["unlearn"] == 2 * 8  # psg x3, boundary_shrink, finetune, neggrad, ssd, scrub
