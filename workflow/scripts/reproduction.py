"""This run beside the paper's published numbers (rule reproduction_table)."""

from unlearning import steps
from unlearning.entry import run_step

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    "reproduction_table",
    lambda: steps.reproduction(
        sm.input.published,
        sm.input.metrics,
        sm.params.tolerance,
        sm.output.csv,
        sm.output.md,
        sm.output.figures,
    ),
    log_path=sm.log[0],
)
