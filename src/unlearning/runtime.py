"""Device choice, seeding and thread control shared by every entry point.

torch and NumPy are imported inside the functions that use them: the workflow imports
:func:`export_source_path` from here while it parses, which must stay free of torch.
"""

from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
from typing import TYPE_CHECKING

from unlearning.errors import UserError

if TYPE_CHECKING:
    import torch


def select_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else CPU; ``cuda`` without a GPU is an error."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        _check_cuda_index(name, count)
    return torch.device(name)


def _check_cuda_index(name: str, count: int) -> None:
    index = int(name.partition(":")[2] or 0)
    if count == 0:
        raise UserError(
            f"Config asks for device '{name}' but no CUDA GPU is visible; set device: auto or cpu."
        )
    if index >= count:
        raise UserError(
            f"Config asks for device '{name}' but only {count} CUDA GPU(s) are visible "
            f"(cuda:0 to cuda:{count - 1}); set device: auto, cpu or a visible index."
        )


_COUNT_GPUS = """
try:
    import torch
except ImportError:
    print(-1)
else:
    print(torch.cuda.device_count() if torch.cuda.is_available() else 0)
"""


def check_device_available(name: str, python: str | None = None) -> None:
    """Refuse a device the jobs cannot use before any job starts (and replaces its outputs).

    ``auto`` and ``cpu`` always work and cost nothing. For ``cuda`` or ``cuda:N``, ``python``
    (default: this interpreter) counts the GPUs in a subprocess, so the workflow process itself
    never imports torch; an interpreter without torch (jobs in conda environments) is not asked,
    and every job still checks its device for itself.
    """
    if not name.startswith("cuda"):
        return
    try:
        result = subprocess.run(
            [python or sys.executable, "-c", _COUNT_GPUS],
            capture_output=True,
            text=True,
            timeout=300,
        )
        count = int(result.stdout.split()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return  # cannot tell here; the jobs check
    if count >= 0:
        _check_cuda_index(name, count)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a CPU generator for data order and noise."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def configure_torch(threads: int, deterministic: bool = True) -> None:
    """Follow the rule's ``threads`` and make runs repeatable.

    CPU kernels are deterministic as they are (a test checks bit-identical reruns), and
    ``torch.use_deterministic_algorithms`` costs about a second per job (it imports
    ``torch._inductor``), so it is switched on only where a GPU can be used.
    """
    import torch

    torch.set_num_threads(max(1, int(threads)))
    if deterministic and torch.cuda.is_available():
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)


def peak_memory(device: torch.device) -> dict[str, float | None]:
    """Peak resident memory of this process and, on CUDA, peak allocated GPU memory (MiB)."""
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mib = rss_kib / 1024 if sys.platform != "darwin" else rss_kib / 2**20
    cuda_mib = None
    if device.type == "cuda":
        import torch

        cuda_mib = torch.cuda.max_memory_allocated(device) / 2**20
    return {"peak_rss_mib": round(rss_mib, 1), "peak_cuda_mib": cuda_mib}


def export_source_path(src: str) -> None:
    """Put the checkout's ``src/`` first on PYTHONPATH for the jobs this process starts.

    Jobs then import this checkout's library even inside conda environments (``--sdm conda``)
    that do not have the package installed. Every job re-parses the workflow, so the variable is
    set again wherever a job runs, also on a cluster node.
    """
    os.environ["PYTHONPATH"] = source_first(src, os.environ.get("PYTHONPATH"))


def source_first(src: str, pythonpath: str | None) -> str:
    """``pythonpath`` with ``src`` put first."""
    return os.pathsep.join([src, pythonpath] if pythonpath else [src])
