"""t-SNE maps of test images through the original, retrain and unlearned models (rule
embed_models)."""

from pathlib import Path

from unlearning import steps
from unlearning.entry import run_step

sm = snakemake  # noqa: F821 (injected by Snakemake)

models = {
    name: sm.input[name] for name in ("original", "retrain", "unlearned") if name in sm.input.keys()
}

run_step(
    "embed_models",
    lambda: steps.embed_step(
        Path(sm.input.info).parent,
        sm.input.split,
        models,
        sm.params.device,
        sm.output[0],
        max_points=sm.params.max_points,
        seed=int(sm.wildcards.seed),
        batch_size=sm.params.batch_size,
    ),
    log_path=sm.log[0],
    threads=sm.threads,
)
