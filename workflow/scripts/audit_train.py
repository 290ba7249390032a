"""Train one reference model of an audit split and record its forget confidences (rule
audit_train)."""

from unlearning.worker import hand_to_worker

hand_to_worker()  # a local run's warm worker runs the rest, with torch imported (else: here)

from pathlib import Path

from unlearning.audit.models import train_model
from unlearning.entry import run_step

sm = snakemake  # noqa: F821 (injected by Snakemake)
# Where the job runs, not what it computes: read from the config rather than a rule parameter.
DEVICE = sm.config["device"]

run_step(
    f"audit_train {sm.wildcards.audit_split}/{sm.wildcards.audit_model}",
    lambda: train_model(
        Path(sm.input.info).parent,
        sm.input.training,
        sm.input.split,
        sm.wildcards.audit_model,
        sm.wildcards.audit_split,
        sm.params.model,
        sm.params.train,
        sm.params.seed,
        DEVICE,
        {key: sm.output[key] for key in ("model", "run", "confidence")},
        batch_size=sm.params.batch_size,
        progress=sm.config["progress"],
    ),
    log_path=sm.log[0],
    threads=sm.threads,
)
