"""Collect every metrics.json into the long table and the summary (rule aggregate_metrics)."""

from unlearning import steps
from unlearning.entry import run_step

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    "aggregate_metrics",
    lambda: steps.aggregate(list(sm.input), sm.output.metrics, sm.output.summary),
    log_path=sm.log[0],
)
