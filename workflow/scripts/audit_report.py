"""The U-LiRA table and ROC figure from the audit's saved confidences (rule audit_report)."""

from pathlib import Path

from unlearning.audit.report import audit_report
from unlearning.entry import run_step

sm = snakemake  # noqa: F821 (injected by Snakemake)

run_step(
    "audit_report",
    lambda: audit_report(
        list(sm.input.confidences),
        sm.params.models,
        sm.params.splits["shadows"],
        sm.params.splits["targets"],
        sm.params.audited,
        sm.output.csv,
        sm.output.md,
        Path(sm.output.png).with_suffix(""),
        dataset=sm.params.dataset,
    ),
    log_path=sm.log[0],
)
