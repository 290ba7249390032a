"""Run one unlearning method at one setting (rule unlearn)."""

from pathlib import Path

from unlearning import steps
from unlearning.entry import run_step

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    f"unlearn {sm.wildcards.method}/{sm.wildcards.setting}",
    lambda: steps.unlearn(
        Path(sm.input.info).parent,
        sm.input.split,
        sm.input.original,
        sm.wildcards.method,
        sm.params.hyperparameters,
        int(sm.wildcards.seed),
        sm.params.device,
        sm.output.model,
        sm.output.run,
        progress=sm.config.get("progress", True),
        sources={
            role: (sm.input[f"{role}_model"], sm.input[f"{role}_run"]) for role in sm.params.sources
        },
    ),
    log_path=sm.log[0],
    threads=sm.threads,
)
