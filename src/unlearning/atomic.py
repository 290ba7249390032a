"""Write outputs under a temporary name and rename them into place.

An interrupted job must never leave a file that looks finished, so every writer in the project
goes through these helpers.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from unlearning.errors import UserError

log = logging.getLogger("unlearning")


def current_umask() -> int:
    """The process's umask, read without changing it where Linux reports it (``os.umask`` can
    only be read by setting it, which races with other threads creating files)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _plain_mode(path: Path, folder: bool) -> None:
    """Give a temporary file or folder the mode a plain ``open`` or ``mkdir`` would: ``mkstemp``
    and ``mkdtemp`` create them private (0600, 0700) whatever the umask, and a rename keeps that,
    so collaborators on a shared cluster could not read the results."""
    os.chmod(path, (0o777 if folder else 0o666) & ~current_umask())


#: Errors of a full disk or an exhausted quota: the user's to fix, not a bug.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def disk_full(exc: BaseException, path: str | os.PathLike) -> UserError | None:
    """One sentence for a write that failed because the disk or quota is full, else None."""
    if not isinstance(exc, OSError) or exc.errno not in DISK_FULL:
        return None
    what = "quota" if exc.errno == errno.EDQUOT else "space"
    return UserError(
        f"No {what} left on the disk holding {path} while writing it; free space there (or "
        "run from a folder on another disk) and run again, which redoes only what is missing."
    )


@contextlib.contextmanager
def _disk_full_named(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        error = disk_full(exc, path)
        if error is None:
            raise
        raise error from exc


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success. A full
    disk is reported as one sentence naming ``path``."""
    final = Path(path)
    with _disk_full_named(final):
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        _plain_mode(tmp_path, folder=False)
        try:
            yield tmp_path
            os.replace(tmp_path, final)
        finally:
            if tmp_path.exists():
                tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; it replaces ``path`` only on success."""
    final = Path(path)
    with _disk_full_named(final):
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
        _plain_mode(tmp, folder=True)
        try:
            yield tmp
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)


def finite_json(obj: Any, where: str = "") -> tuple[Any, list[str]]:
    """``obj`` with every NaN or infinite float replaced by None, and the keys replaced.

    JSON has no NaN: Python writes a ``NaN`` token that strict readers reject, and an undefined
    number is what None already means in every result file ("missing, never 0").
    """
    if isinstance(obj, float) and not math.isfinite(obj):
        return None, [where or "<value>"]
    if isinstance(obj, dict):
        out, bad = {}, []
        for key, value in obj.items():
            out[key], inner = finite_json(value, f"{where}.{key}" if where else str(key))
            bad += inner
        return out, bad
    if isinstance(obj, list | tuple):
        items = [finite_json(value, f"{where}[{i}]") for i, value in enumerate(obj)]
        return [value for value, _ in items], [key for _, inner in items for key in inner]
    return obj, []


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write strict JSON: non-finite floats become null, with a warning naming their keys."""
    obj, replaced = finite_json(obj)
    if replaced:
        log.warning("%s: non-finite values written as null: %s", path, ", ".join(replaced))
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n")


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_npz(path: str | os.PathLike, arrays: dict[str, Any]) -> None:
    """Save arrays uncompressed (they are small; loading stays fast)."""
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
