"""Prepare one dataset into resources/data/<dataset>/ (rule prepare_data)."""

from pathlib import Path

from unlearning.entry import run_step
from unlearning.steps.data import prepare_data

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    "prepare_data",
    lambda: prepare_data(sm.wildcards.dataset, sm.params.dataset, Path(sm.output.info).parent),
    log_path=sm.log[0],
    threads=1,
)
