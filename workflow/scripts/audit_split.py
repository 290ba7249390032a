"""Draw one audit split: the shared forget set and a seeded half of the rest (rule audit_split)."""

from pathlib import Path

from unlearning.audit.splits import write_split
from unlearning.entry import run_step

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    f"audit_split {sm.wildcards.audit_split}",
    lambda: write_split(
        Path(sm.input.info).parent,
        sm.wildcards.audit_split,
        sm.params.forget_size,
        sm.params.seed,
        sm.output.split,
        sm.output.original,
    ),
    log_path=sm.log[0],
)
