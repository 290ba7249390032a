"""Every figure of one dataset from metrics.csv and the saved arrays (rule dataset_figures)."""

from unlearning.entry import run_step
from unlearning.steps.report import dataset_figures

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    "dataset_figures",
    lambda: dataset_figures(
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
