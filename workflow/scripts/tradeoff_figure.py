"""Forget vs remain accuracy of every method and setting for one dataset (rule tradeoff_figure)."""

from unlearning import steps
from unlearning.entry import run_step

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    "tradeoff_figure",
    lambda: steps.tradeoff(sm.input[0], sm.wildcards.dataset, sm.output[0]),
    log_path=sm.log[0],
)
