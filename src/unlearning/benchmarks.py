"""Benchmark files that cover all of a job's work, including the part a warm worker ran.

Snakemake writes each job's ``benchmark:`` TSV from the job's process tree. A job handed to the
warm worker (:mod:`unlearning.worker`) does its work in a fork of the worker, outside that tree, so
the job's process records the fork's share (CPU seconds, peak memory, I/O) beside the TSV, in
``<benchmark>.worker``. :func:`merge_worker_shares` adds the shares into the TSVs at the end of a
run; :func:`job_cpu_seconds` reads a TSV with its share whether merged yet or not.

The rules spell their files ``logs/<path>.log`` and ``benchmarks/<path>.tsv`` (a test holds every
rule to it), which is how a job's process finds its benchmark file from its log.
"""

from __future__ import annotations

import csv
import io
import json
import os
import resource
from pathlib import Path

from unlearning.atomic import write_text

SUFFIX = ".worker"
#: Benchmark columns that add up across the job's process and the worker's fork.
_ADDED = ("cpu_time", "max_rss", "max_vms", "max_uss", "max_pss", "io_in", "io_out")


def benchmark_for_log(log_file: str | os.PathLike) -> Path | None:
    """``logs/<path>.log`` -> ``benchmarks/<path>.tsv``; None for a log outside that layout."""
    path = Path(log_file)
    if path.is_absolute() or not path.parts or path.parts[0] != "logs" or path.suffix != ".log":
        return None
    return Path("benchmarks", *path.parts[1:]).with_suffix(".tsv")


def worker_share_path(benchmark: str | os.PathLike) -> Path:
    benchmark = Path(benchmark)
    return benchmark.with_name(benchmark.name + SUFFIX)


def own_share() -> dict[str, float]:
    """This process's resource use so far, in the units of Snakemake's benchmark columns
    (seconds, MiB): CPU of this process and its waited-for children, peak memory, I/O."""
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    share = {
        "cpu_time": mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime,
        "max_rss": max(mine.ru_maxrss, children.ru_maxrss) / 1024,
    }
    status = _proc_fields("/proc/self/status")
    if "VmPeak" in status:
        share["max_vms"] = status["VmPeak"] / 1024
    rollup = _proc_fields("/proc/self/smaps_rollup")
    if "Pss" in rollup:
        share["max_pss"] = rollup["Pss"] / 1024
        share["max_uss"] = (rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)) / 1024
    counters = _proc_fields("/proc/self/io", unit="")
    if "read_bytes" in counters:
        share["io_in"] = counters["read_bytes"] / 2**20
        share["io_out"] = counters["write_bytes"] / 2**20
    return share


def _proc_fields(path: str, unit: str = " kB") -> dict[str, float]:
    fields: dict[str, float] = {}
    try:
        text = Path(path).read_text()
    except OSError:
        return fields
    for line in text.splitlines():
        name, _, value = line.partition(":")
        value = value.strip()
        if unit and value.endswith(unit):
            value = value[: -len(unit)]
        try:
            fields[name.strip()] = float(value)
        except ValueError:
            continue
    return fields


def write_worker_share(benchmark: str | os.PathLike, share: dict[str, float]) -> None:
    path = worker_share_path(benchmark)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(share))


def read_worker_share(benchmark: str | os.PathLike) -> dict[str, float]:
    return json.loads(worker_share_path(benchmark).read_text())


def _pending_share(benchmark: Path) -> dict[str, float] | None:
    """The share recorded for the run that wrote ``benchmark``, if not merged into it yet. A share
    newer than the file belongs to a job whose benchmark Snakemake has not written (yet)."""
    try:
        if worker_share_path(benchmark).stat().st_mtime > benchmark.stat().st_mtime:
            return None
        return read_worker_share(benchmark)
    except (OSError, ValueError):
        return None


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0  # Snakemake's NA: nothing sampled (the job's process lived under a second)


def _with_share(rows: list[dict[str, str]], share: dict[str, float]) -> None:
    last = rows[-1]
    for column in _ADDED:
        if column in last and column in share:
            last[column] = f"{_number(last[column]) + share[column]:.2f}"
    seconds = _number(last.get("s", "0"))
    if "mean_load" in last and seconds > 0:
        last["mean_load"] = f"{100 * _number(last['cpu_time']) / seconds:.2f}"


def merge_worker_share(benchmark: str | os.PathLike) -> bool:
    """Add the worker's share into ``benchmark`` and drop the share file; True if merged."""
    benchmark = Path(benchmark)
    share = _pending_share(benchmark)
    if share is None:
        return False
    with open(benchmark, newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        fields, rows = reader.fieldnames, list(reader)
    if not fields or not rows:
        return False
    _with_share(rows, share)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(benchmark, out.getvalue())
    worker_share_path(benchmark).unlink(missing_ok=True)
    return True


def merge_worker_shares(root: str | os.PathLike = "benchmarks") -> int:
    """Merge every pending share under ``root``; return how many were merged."""
    merged = 0
    for share_path in Path(root).rglob(f"*{SUFFIX}"):
        merged += merge_worker_share(share_path.with_name(share_path.name[: -len(SUFFIX)]))
    return merged


def job_cpu_seconds(benchmark: str | os.PathLike) -> float:
    """A job's ``cpu_time``, with the worker's share if it is not merged into the file yet."""
    benchmark = Path(benchmark)
    with open(benchmark, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    cpu = _number(rows[-1].get("cpu_time", "NA")) if rows else 0.0
    share = _pending_share(benchmark)
    return cpu + (share or {}).get("cpu_time", 0.0)
