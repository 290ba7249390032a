"""Warnings of a run, written to each job's log and repeated when the run ends.

A warning in one job's log among hundreds is easily missed: a forget set of two images, or
images blown up from a few pixels, produce numbers that look like any others. Job logs mark
warnings with :data:`MARK`; when the run ends, the workflow lists every marked line of the logs
written since it started, after the warnings found while planning. Torch-free.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

MARK = "warning: "


class JobLogFormatter(logging.Formatter):
    """Time and message per line, warnings marked so the end of the run can find them."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(message)s")
        self._warning = logging.Formatter(f"%(asctime)s {MARK}%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno == logging.WARNING:
            return self._warning.format(record)
        return super().format(record)


def collect(folder: str | os.PathLike, since: float) -> list[str]:
    """``<message> (<log>)`` for each marked line of the logs under ``folder`` written at or
    after ``since`` (seconds since the epoch), in path order, without repeats."""
    found: list[str] = []
    root = Path(folder)
    if not root.is_dir():
        return found
    for path in sorted(root.rglob("*.log")):
        try:
            if path.stat().st_mtime < since:
                continue
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            _, mark, message = line.partition(f" {MARK}")
            entry = f"{message} ({path})"
            if mark and entry not in found:
                found.append(entry)
    return found


def report(planning: list[str], folder: str | os.PathLike, since: float) -> None:
    """Print the planning warnings and those the run's jobs logged, if any, to stderr."""
    found = [*planning, *collect(folder, since)]
    if found:
        print(f"{len(found)} warning(s) in this run:", file=sys.stderr)
        for message in found:
            print(f"  {MARK}{message}", file=sys.stderr)
