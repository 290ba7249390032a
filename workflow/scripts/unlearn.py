"""Run one unlearning method at one setting and evaluate the model it leaves (rule unlearn)."""

from unlearning.worker import hand_to_worker

hand_to_worker()  # a local run's warm worker runs the rest, with torch imported (else: here)

from pathlib import Path

from unlearning.entry import run_step
from unlearning.steps.evaluate import Evaluation
from unlearning.steps.unlearn import MethodSetting, unlearn

sm = snakemake  # noqa: F821 (injected by Snakemake)
# Where the job runs, not what it computes: read from the config rather than a rule parameter,
# so switching devices reruns nothing (CPU and GPU results differ only by rounding).
DEVICE = sm.config["device"]
# The model and run record of each earlier run the setting builds on, by role (compose)
sources = {role: (sm.input[f"{role}_model"], sm.input[f"{role}_run"]) for role in sm.params.sources}

run_step(
    f"unlearn {sm.wildcards.method}/{sm.wildcards.setting}",
    lambda: unlearn(
        Path(sm.input.info).parent,
        sm.input.split,
        sm.input.original,
        MethodSetting(
            sm.wildcards.method, sm.wildcards.setting, sm.params.hyperparameters, sources
        ),
        int(sm.wildcards.seed),
        DEVICE,
        sm.output.model,
        sm.output.run,
        progress=sm.config["progress"],
        evaluation=Evaluation.for_job(
            sm.params.identity, sm.params.evaluation, sm.wildcards.seed, sm.output, sm.input
        ),
    ),
    log_path=sm.log[0],
    threads=sm.threads,
)
