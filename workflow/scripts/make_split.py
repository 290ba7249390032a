"""Select the forget set of one condition and its evaluation subsets (rule make_split)."""

from pathlib import Path

from unlearning.entry import run_step
from unlearning.steps.data import make_split

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    "make_split",
    lambda: make_split(
        Path(sm.input.info).parent,
        sm.wildcards.condition,
        sm.params.condition,
        int(sm.wildcards.seed),
        sm.output[0],
    ),
    log_path=sm.log[0],
)
