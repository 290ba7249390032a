"""This run beside the paper's published numbers (rule reproduction_table)."""

from unlearning.entry import run_step
from unlearning.steps.report import reproduction

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    "reproduction_table",
    lambda: reproduction(
        sm.input.published,
        sm.input.metrics,
        sm.params.tolerance,
        sm.output.csv,
        sm.output.md,
        sm.output.figures,
    ),
    log_path=sm.log[0],
)
