"""Figure 6: wall time of ``snakemake -n`` (parse, check the config, plan the DAG) per config,
with the planned jobs per rule. Run in the repository root: the Snakefile finds its config and
rules by relative paths, and a dry run writes nothing there but ``.snakemake`` metadata."""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TIMEOUT_S = 300
_ROW = re.compile(r"^(\S+)\s+(\d+)$")


def snakemake_command() -> list[str]:
    """The snakemake beside this interpreter (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("snakemake")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("snakemake")
    return [found] if found else [sys.executable, "-m", "snakemake"]


def job_counts(output: str) -> dict[str, int]:
    """The last "Job stats" table of a dry run: rule -> planned jobs, with ``total``."""
    counts: dict[str, int] = {}
    for line in output.splitlines():
        if line.startswith("Job stats:"):
            counts = {}
        match = _ROW.match(line.strip())
        if match and match.group(1) != "job":
            counts[match.group(1)] = int(match.group(2))
    return counts


def measure(root: Path, configfile: str) -> dict[str, Any]:
    args = [*snakemake_command(), "-n", "--cores", "1", "-q", "rules", "--nolock"]
    args += ["--configfile", configfile]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=root, capture_output=True, text=True, timeout=TIMEOUT_S)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake -n failed: {(proc.stderr or proc.stdout).strip()[-2000:]}")
    counts = job_counts(proc.stdout + "\n" + proc.stderr)
    out: dict[str, Any] = {
        "config": configfile,
        "command": " ".join(["snakemake", *args[len(snakemake_command()) :]]),
        "s": seconds,
        "cpu_s": cpu,
    }
    if counts.get("total"):
        out["jobs"] = counts.pop("total")
        out["jobs_by_rule"] = counts
    return out
