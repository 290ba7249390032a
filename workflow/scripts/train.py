"""Train the original model, or the retrain reference when a split is given (rules train_*)."""

from pathlib import Path

from unlearning import steps
from unlearning.entry import run_step

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    sm.rule,
    lambda: steps.train(
        Path(sm.input.info).parent,
        sm.input.get("split"),
        sm.params.model,
        sm.params.train,
        int(sm.wildcards.seed),
        sm.params.device,
        sm.output.model,
        sm.output.run,
        progress=sm.params.progress,
    ),
    log_path=sm.log[0],
    threads=sm.threads,
)
