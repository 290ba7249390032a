"""Run one unlearning method at one setting and evaluate the model it leaves (rule unlearn)."""

from unlearning.worker import hand_to_worker

# In a local run the warm worker runs this script with torch already imported; elsewhere it
# returns and the script runs here.
hand_to_worker()

from pathlib import Path

from unlearning.entry import run_step
from unlearning.steps.models import Evaluation, unlearn

sm = snakemake  # noqa: F821 (injected by Snakemake)
# Where the job runs, not what it computes: read from the config rather than a rule parameter,
# so switching devices reruns nothing (CPU and GPU results differ only by rounding).
DEVICE = sm.config["device"]

run_step(
    f"unlearn {sm.wildcards.method}/{sm.wildcards.setting}",
    lambda: unlearn(
        Path(sm.input.info).parent,
        sm.input.split,
        sm.input.original,
        sm.wildcards.method,
        sm.params.hyperparameters,
        int(sm.wildcards.seed),
        DEVICE,
        sm.output.model,
        sm.output.run,
        progress=sm.config["progress"],
        setting=sm.wildcards.setting,
        sources={
            role: (sm.input[f"{role}_model"], sm.input[f"{role}_run"]) for role in sm.params.sources
        },
        evaluation=Evaluation(
            sm.params.identity,
            sm.output.metrics,
            out_losses=sm.output.losses,
            reference_models=list(sm.input.get("reference_models", [])),
            reference_metrics=list(sm.input.get("reference_metrics", [])),
            reference_runs=list(sm.input.get("reference_runs", [])),
            seed=int(sm.wildcards.seed),
            **sm.params.evaluation,
        ),
    ),
    log_path=sm.log[0],
    threads=sm.threads,
)
