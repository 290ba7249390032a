"""Train the original model (or import the user's own), or a retrain reference when a split is
given, which the same job then evaluates (rules train_original, train_retrain)."""

from unlearning.worker import hand_to_worker

hand_to_worker()  # a local run's warm worker runs the rest, with torch imported (else: here)

from pathlib import Path

from unlearning.entry import run_step
from unlearning.steps.evaluate import Evaluation
from unlearning.steps.train import import_original, train

sm = snakemake  # noqa: F821 (injected by Snakemake)
# Where the job runs, not what it computes: read from the config rather than a rule parameter,
# so switching devices reruns nothing (CPU and GPU results differ only by rounding).
DEVICE = sm.config["device"]
data_folder = Path(sm.input.info).parent

if sm.input.get("checkpoint"):
    work = lambda: import_original(  # noqa: E731
        data_folder,
        sm.input.checkpoint,
        sm.params.model,
        sm.params.normalization,
        sm.output.model,
        sm.output.run,
    )
else:
    work = lambda: train(  # noqa: E731
        data_folder,
        sm.input.get("split"),
        sm.params.model,
        sm.params.train,
        # a retrain reference has its own seed (replicas differ in initialisation and batches)
        sm.params.get("seed", int(sm.wildcards.seed)),
        DEVICE,
        sm.output.model,
        sm.output.run,
        progress=sm.config["progress"],
        evaluation=(
            Evaluation.for_job(
                sm.params.identity, sm.params.evaluation, sm.wildcards.seed, sm.output, sm.input
            )
            if sm.input.get("split")
            else None
        ),
    )

run_step(sm.rule, work, log_path=sm.log[0], threads=sm.threads)
