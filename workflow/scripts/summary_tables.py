"""Summary and grid tables from the long metrics table (rule summary_tables)."""

from pathlib import Path

from unlearning.entry import run_step
from unlearning.steps.report import summary_tables

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    "summary_tables",
    lambda: summary_tables(
        sm.input.metrics,
        Path(sm.output.summary_csv).parent,
        sm.output.html,
        sm.output.front,
        # the description's path is relative to the workflow's folder, two above this script's
        Path(sm.scriptdir).parents[1] / sm.params.description,
    ),
    log_path=sm.log[0],
)
