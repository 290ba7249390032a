"""Every figure of one dataset from metrics.csv and the saved arrays (rule dataset_figures)."""

from unlearning import steps
from unlearning.entry import run_step

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    "dataset_figures",
    lambda: steps.figures_step(
        sm.input.metrics, sm.wildcards.dataset, sm.input.info, sm.params.tsne, sm.output[0]
    ),
    log_path=sm.log[0],
)
