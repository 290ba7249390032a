"""Write metrics.json for the original or the retrain (rules evaluate_original, _retrain)."""

from unlearning.worker import hand_to_worker

hand_to_worker()  # a local run's warm worker runs the rest, with torch imported (else: here)

from pathlib import Path

from unlearning.entry import run_step
from unlearning.steps.evaluate import Evaluation, evaluate

sm = snakemake  # noqa: F821 (injected by Snakemake)
# Where the job runs, not what it computes: read from the config rather than a rule parameter,
# so switching devices reruns nothing (CPU and GPU results differ only by rounding).
DEVICE = sm.config["device"]

run_step(
    sm.rule,
    lambda: evaluate(
        Path(sm.input.info).parent,
        sm.input.split,
        sm.input.model,
        sm.input.run,
        DEVICE,
        Evaluation.for_job(
            sm.params.identity, sm.params.evaluation, sm.wildcards.seed, sm.output, sm.input
        ),
    ),
    log_path=sm.log[0],
    threads=sm.threads,
)
