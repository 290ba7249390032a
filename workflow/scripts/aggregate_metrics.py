"""Collect every metrics.json into the long table (rule aggregate_metrics)."""

from unlearning.entry import run_step
from unlearning.steps.report import aggregate_metrics

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    "aggregate_metrics",
    lambda: aggregate_metrics(list(sm.input), sm.output[0]),
    log_path=sm.log[0],
)
