"""Write metrics.json for one model (rules evaluate_*)."""

from pathlib import Path

from unlearning import steps
from unlearning.entry import run_step

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    sm.rule,
    lambda: steps.evaluate_step(
        Path(sm.input.info).parent,
        sm.input.split,
        sm.input.model,
        sm.input.run,
        sm.params.identity,
        sm.params.device,
        sm.output.metrics,
        sm.output.losses,
        reference_model=sm.input.get("reference_model"),
        reference_metrics=sm.input.get("reference_metrics"),
        reference_run=sm.input.get("reference_run"),
        mia_feature=sm.params.evaluation.get("mia_feature", "confidence"),
        mia_attack=sm.params.evaluation.get("mia_attack", "svc"),
        batch_size=sm.params.evaluation.get("batch_size", 1024),
        seed=int(sm.wildcards.seed),
    ),
    log_path=sm.log[0],
    threads=sm.threads,
)
