"""Clocks, medians and the machine description every figure is read against."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so a clock read after it includes that work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def clock(device: torch.device) -> str:
    """The clock a figure is read from: on the CPU the process's CPU time, which a neighbour's
    load on a shared machine hardly changes (the loops do no I/O while timed); on a GPU the wall
    time after a synchronisation, since the work runs off the process."""
    return "cpu" if device.type == "cpu" else "wall"


def paired(
    runs: dict[str, Callable[[], object]],
    device: torch.device,
    *,
    warmup: int,
    repeats: int,
) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU seconds of each callable, ``repeats`` times after ``warmup`` untimed calls.

    The callables alternate (ABBA...), so a change of load falls on both sides of a ratio.
    Returns ``{"wall": {name: [s, ...]}, "cpu": {name: [s, ...]}}``.
    """
    names = list(runs)
    for _ in range(warmup):
        for name in names:
            runs[name]()
    out: dict[str, dict[str, list[float]]] = {
        "wall": {name: [] for name in names},
        "cpu": {name: [] for name in names},
    }
    for r in range(repeats):
        for name in names if r % 2 == 0 else reversed(names):
            sync(device)
            wall, cpu = time.perf_counter(), time.process_time()
            runs[name]()
            sync(device)
            out["cpu"][name].append(time.process_time() - cpu)
            out["wall"][name].append(time.perf_counter() - wall)
    return out


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def comparison(timed: dict[str, dict[str, list[float]]], device: torch.device) -> dict[str, Any]:
    """Medians of the project's and the bare side's seconds on the device's clock, and the
    speed ratio: the median over repeats of bare / project, each repeat's pair having run back
    to back, with the lowest and highest pair as its spread."""
    name = clock(device)
    project, bare = timed[name]["project"], timed[name]["bare"]
    ratios = [b / p for p, b in zip(project, bare, strict=True)]
    return {
        "clock": name,
        "project_s": median(project),
        "bare_s": median(bare),
        "speed_vs_bare": median(ratios),
        "speed_range": [min(ratios), max(ratios)],
        "samples_s": timed,
    }


def versus_bare(
    project: Callable[[], object],
    bare: Callable[[], object],
    device: torch.device,
    sizes: Any,
    *,
    images: int | None = None,
) -> dict[str, Any]:
    """The project's loop against the bare PyTorch loop on the same work (:func:`paired`, then
    :func:`comparison`); with ``images``, also each side's images per second."""
    timed = paired(
        {"project": project, "bare": bare}, device, warmup=sizes.warmup, repeats=sizes.repeats
    )
    c = comparison(timed, device)
    if images is None:
        return c
    rates = {"project_img_s": images / c["project_s"], "bare_img_s": images / c["bare_s"]}
    return {"images": images, **rates, **c}


def cpu_model() -> str:
    """The processor's name from /proc/cpuinfo where there is one (Linux), else the platform's."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(threads: int, devices: list[str]) -> dict[str, object]:
    """What the figures were measured on; the load average says how busy the machine was."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    info: dict[str, object] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "torch": torch.__version__,
        "threads": threads,
        "devices": devices,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if hasattr(os, "getloadavg"):
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    if "cuda" in devices:
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    return info
