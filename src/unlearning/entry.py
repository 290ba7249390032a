"""What every workflow script does around its work: logging to the rule's log, threads, and
turning a :class:`UserError` into one sentence and a non-zero exit instead of a traceback."""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from unlearning.atomic import disk_full
from unlearning.errors import UserError
from unlearning.run_warnings import JobLogFormatter
from unlearning.runtime import configure_torch
from unlearning.startup import end_process, skip_dynamo_import
from unlearning.worker import in_fork

log = logging.getLogger("unlearning")


@contextlib.contextmanager
def _redirect_stderr(log_path: str | None) -> Iterator[None]:
    if not log_path:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", buffering=1) as fh, contextlib.redirect_stderr(fh):
        yield


def run_step(
    name: str,
    work: Callable[[], str | None],
    *,
    log_path: str | None,
    threads: int | None = None,
) -> None:
    """Run ``work`` with stderr (progress bars, warnings) in ``log_path``; ``work`` returns the
    one-line summary that ends the log. A user error exits 1 with its sentence on the console;
    success ends the process at once (:func:`~unlearning.startup.end_process`), so this is the
    last call of a job script.

    ``threads`` is given by the steps that run torch; the others never import it."""
    if threads is not None:
        import torch

        configure_torch(threads)
        skip_dynamo_import(torch)
    start = time.perf_counter()
    try:
        with _redirect_stderr(log_path):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(JobLogFormatter())  # warnings marked for the end of the run
            logging.basicConfig(handlers=[handler], level=logging.INFO, force=True)
            # Where the job ran: on a cluster, the node and the GPUs the scheduler granted.
            log.info(
                "%s on %s, CUDA_VISIBLE_DEVICES=%s%s",
                name,
                platform.node(),
                os.environ.get("CUDA_VISIBLE_DEVICES", "unset"),
                ", in the warm worker" if in_fork() else "",
            )
            try:
                summary = work()
            except UserError as exc:
                log.error("error: %s", exc)
                raise
            log.info(
                "%s done in %.1f s%s",
                name,
                time.perf_counter() - start,
                f": {summary}" if summary else "",
            )
    except UserError as exc:
        print(f"error in {name}: {exc}", file=sys.stderr)
        sys.exit(1)
    except OSError as exc:  # a full disk outside the atomic writers (the log, a library's file)
        error = disk_full(exc, exc.filename or log_path or "the output folder")
        if error is None:
            raise
        print(f"error in {name}: {error}", file=sys.stderr)
        sys.exit(1)
    end_process(0)
