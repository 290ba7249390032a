"""What the steps that make a model share: the clock of their work, which waits for queued GPU
work, and the environment their run record names."""

from __future__ import annotations

import contextlib
import platform
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class StepClock:
    """Wall seconds of a step's work, set when its block ends."""

    seconds: float = 0.0


@contextlib.contextmanager
def step_clock(device: torch.device) -> Iterator[StepClock]:
    """Time the block's work on ``device``, GPU work included; the peak GPU memory the run
    record reports counts from here."""
    clock = StepClock()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    _sync(device)
    start = time.perf_counter()
    yield clock
    _sync(device)
    clock.seconds = time.perf_counter() - start


def environment(device: torch.device) -> dict[str, Any]:
    """Where a run ran, for its run record."""
    env = {
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return env
