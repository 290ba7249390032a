"""Every figure of one dataset from metrics.csv and the saved arrays (rule dataset_figures)."""

from unlearning import steps
from unlearning.entry import run_step

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    "dataset_figures",
    lambda: steps.dataset_figures(
        sm.input.metrics,
        sm.wildcards.dataset,
        sm.input.info,
        sm.params.loss_runs,
        list(sm.input.losses),
        sm.params.tsne_runs,
        list(sm.input.tsne),
        sm.output[0],
    ),
    log_path=sm.log[0],
)
