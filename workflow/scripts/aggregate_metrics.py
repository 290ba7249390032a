"""Collect every metrics.json into the long table (rule aggregate_metrics)."""

from unlearning import steps
from unlearning.entry import run_step

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    "aggregate_metrics",
    lambda: steps.aggregate_metrics(list(sm.input), sm.output[0]),
    log_path=sm.log[0],
)
