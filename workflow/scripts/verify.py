"""Check every cached checkpoint and remove the corrupt ones, so a plain run rebuilds them
(rule verify)."""

from unlearning.entry import run_step
from unlearning.steps.verify import verify_checkpoints

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    "verify",
    lambda: verify_checkpoints(sm.params.folder),
    log_path=sm.log[0],
    threads=sm.threads,
)
