"""t-SNE maps of test images through the original, retrain and unlearned models (rule
embed_models)."""

from unlearning.worker import hand_to_worker

hand_to_worker()  # a local run's warm worker runs the rest, with torch imported (else: here)

from pathlib import Path

from unlearning.entry import run_step
from unlearning.steps.embed_models import embed_models

sm = snakemake  # noqa: F821 (injected by Snakemake)
# Where the job runs, not what it computes: read from the config rather than a rule parameter,
# so switching devices reruns nothing (CPU and GPU results differ only by rounding).
DEVICE = sm.config["device"]

models = {
    name: sm.input[name] for name in ("original", "retrain", "unlearned") if name in sm.input.keys()
}

run_step(
    "embed_models",
    lambda: embed_models(
        Path(sm.input.info).parent,
        sm.input.split,
        models,
        DEVICE,
        sm.output[0],
        max_points=sm.params.max_points,
        seed=int(sm.wildcards.seed),
        batch_size=sm.params.batch_size,
    ),
    log_path=sm.log[0],
    threads=sm.threads,
)
