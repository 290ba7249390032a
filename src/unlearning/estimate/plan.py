"""The jobs a run still has to do, read from a Snakemake dry run, and the config it plans.

Torch-free: the dry run is a subprocess, and the config is loaded and checked the way the
workflow loads it (duplicate keys refused, schema defaults filled in).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unlearning.errors import UserError

_RULE = re.compile(r"^(?:local)?rule (\w+):")
_WILDCARDS = re.compile(r"^\s+wildcards: (.*)$")


@dataclass
class Job:
    rule: str
    wildcards: dict[str, str] = field(default_factory=dict)


def load_config(configfile: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The config as the workflow sees it (schema defaults filled in), and its method settings
    (dataset -> method -> setting -> hyperparameters)."""
    import yaml

    from unlearning.config_check import check_config
    from unlearning.config_load import check_config_files
    from unlearning.config_schema import apply_schema

    path = Path(configfile)
    if not path.exists():
        raise UserError(f"Config file {path} does not exist; pass an existing one (CONFIG=...).")
    check_config_files([str(path)])
    config = apply_schema(yaml.safe_load(path.read_text()))
    return config, check_config(config)


def parse_dry_run(text: str) -> list[Job]:
    """The jobs of a ``snakemake -n`` listing (rule name and wildcards of each)."""
    jobs: list[Job] = []
    for line in text.splitlines():
        rule = _RULE.match(line)
        if rule:
            jobs.append(Job(rule.group(1)))
            continue
        wildcards = _WILDCARDS.match(line)
        if wildcards and jobs:
            pairs = (item.split("=", 1) for item in wildcards.group(1).split(", "))
            jobs[-1].wildcards = {key: value for key, value in pairs}
    return [job for job in jobs if job.rule != "all"]


def planned_jobs(configfile: str | Path, extra_args: list[str] | None = None) -> list[Job]:
    """Every job ``snakemake --configfile configfile`` would run now, from a dry run."""
    command = [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile"]
    command += [str(configfile), *(extra_args or [])]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        heads = [i for i, line in enumerate(lines) if re.match(r"^\w*(Error|Exception)\b", line)]
        cause = lines[heads[0] + 1] if heads and heads[0] + 1 < len(lines) else lines[-1:]
        raise UserError(
            f"The dry run of {configfile} failed ({''.join(cause)}); run "
            f"`snakemake -n --configfile {configfile}` to see why."
        )
    return parse_dry_run(result.stdout + "\n" + result.stderr)


def jobs_per_rule(jobs: list[Job]) -> dict[str, int]:
    return dict(Counter(job.rule for job in jobs))


#: Benchmark file patterns (rules/*.smk) -> rule; the path's parts are the wildcards in order.
_BENCHMARKS = (
    ("prepare_data", ("dataset",)),
    ("make_split", ("dataset", "seed", "condition")),
    ("train_original", ("dataset", "seed")),
    ("train_retrain", ("dataset", "seed", "condition", "retrain")),
    ("evaluate", ("dataset", "seed", "condition", "retrain")),
    ("unlearn", ("dataset", "seed", "condition", "method", "setting")),
)


def benchmarked_jobs(folder: str | Path) -> list[tuple[Job, float]]:
    """(job, measured CPU seconds) of every benchmark file of the model rules under ``folder``
    (Snakemake's ``benchmark:`` TSV, column ``cpu_time``, with the warm worker's share)."""
    from unlearning.benchmarks import job_cpu_seconds

    out = []
    for rule, names in _BENCHMARKS:
        for path in sorted(Path(folder, rule).rglob("*.tsv")):
            parts = list(path.relative_to(Path(folder, rule)).with_suffix("").parts)
            if len(parts) != len(names):
                continue
            wildcards = dict(zip(names, parts, strict=True))
            if "seed" in wildcards:
                wildcards["seed"] = wildcards["seed"].removeprefix("seed")
            name = rule
            if rule == "evaluate":
                name = "evaluate_original" if parts[-1] == "original" else "evaluate_retrain"
            cpu = job_cpu_seconds(path)
            out.append((Job(name, wildcards), cpu))
    return out
