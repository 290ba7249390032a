"""Marks between the phases of a step (its own imports, loading, the work, saving), so that the
benchmark times the pipeline's step functions themselves and a change to a step changes what is
timed. Nothing happens unless a listener is set; torch-free, like the jobs' first imports.
"""

from __future__ import annotations

from collections.abc import Callable

#: Called with the phase's name each time a step ends a phase (``unlearning.bench.job``).
listeners: list[Callable[[str], None]] = []


def mark(phase: str) -> None:
    """End the span of the step that was ``phase``; a phase may recur, its spans add up."""
    for listener in listeners:
        listener(phase)
