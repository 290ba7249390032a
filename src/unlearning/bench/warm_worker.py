"""A warm worker for the benchmark's jobs, started as a local run starts one
(:func:`unlearning.worker.start`) and ready before the first timed job: the fixed cost of a job
forked from it is then what a job of a local run pays."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from unlearning import worker

#: A job script that only hands itself over, to wait until the worker has imported what it
#: preloads (connections made during the imports wait for them).
PROBE = (
    "from unlearning.worker import hand_to_worker, in_fork\n"
    "hand_to_worker()\n"
    "print('forked' if in_fork() else 'not forked')\n"
)
START_TIMEOUT_S = 300


def job_environment(socket: str | None) -> dict[str, str]:
    """This process's environment for a job, handed to the worker at ``socket`` (None: none)."""
    env = {key: value for key, value in os.environ.items() if key != worker.ENV}
    if socket is not None:
        env[worker.ENV] = socket
    return env


@contextlib.contextmanager
def warm_worker(folder: Path) -> Iterator[str]:
    """Start a worker, wait until a probe job has run in a fork of it, yield its socket path,
    and stop it on leaving."""
    socket = worker.start()
    try:
        worker.wait_until_listening(socket, START_TIMEOUT_S)
        probe = folder / "probe.py"
        probe.write_text(PROBE)
        result = subprocess.run(
            [sys.executable, str(probe)],
            env=job_environment(socket),
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
        )
        if result.stdout.strip() != "forked":
            raise RuntimeError(f"the warm worker did not take a job: {result.stderr[-2000:]}")
        yield socket
    finally:
        worker.stop()
