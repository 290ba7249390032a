"""Device choice, seeding and thread control shared by every entry point.

torch and NumPy are imported inside the functions that use them: the workflow imports
:func:`export_source_path` from here while it parses, which must stay free of torch.
"""

from __future__ import annotations

import os
import random
import resource
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
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(
            f"Config asks for device '{name}' but no CUDA GPU is visible; set device: auto or cpu."
        )
    return torch.device(name)


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
    current = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([src, current] if current else [src])
