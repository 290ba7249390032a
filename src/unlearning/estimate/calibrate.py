"""Timed batches on this machine, cached under ``.cache/estimate/calibration.json``.

Per model key (architecture, width, channels, classes, image size, batch size): seconds of one
training step (forward, backward, SGD update) on a batch of random images, and of one evaluation
forward per image (batches of up to 256, under ``inference_mode``). One untimed batch warms up,
then the median of ``repeats`` timed ones is kept. On the CPU the clock is the process's CPU time
(what a busy neighbour hardly changes, and what Snakemake's benchmark ``cpu_time`` records), on a
GPU the wall time after a synchronisation. The start-up of a job is measured once per cache both
ways: importing torch and scikit-learn in a fresh interpreter, and handing an empty job to the
warm worker (:mod:`unlearning.worker`).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CACHE = Path(".cache/estimate/calibration.json")
EVAL_BATCH = 256


def _machine(device: str, threads: int) -> str:
    import torch

    return f"{platform.node()}|{platform.processor() or platform.machine()}|{os.cpu_count()}|" + (
        f"torch {torch.__version__}|{device}|threads {threads}"
    )


def _load(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _save(path: Path, cache: dict[str, Any]) -> None:
    from unlearning.atomic import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(cache, indent=1, sort_keys=True))


def _timed(fn, device, repeats: int) -> float:
    import torch

    fn()  # warm-up
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(
            time.perf_counter() - wall if device.type == "cuda" else time.process_time() - cpu
        )
    return float(statistics.median(times))


def time_model(key: tuple, device_name: str, repeats: int = 2) -> dict[str, float]:
    """Seconds of one training batch and of one evaluated image for ``key``."""
    import torch
    import torch.nn.functional as F

    from unlearning.models.architectures import build_model
    from unlearning.runtime import select_device

    architecture, width, channels, classes, size, batch = key
    device = select_device(device_name)
    generator = torch.Generator().manual_seed(0)
    model = build_model(
        architecture, classes, channels, size, [0.5] * channels, [0.25] * channels, width
    ).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x = torch.rand(batch, channels, size, size, generator=generator).to(device)
    y = torch.randint(0, classes, (batch,), generator=generator).to(device)

    def step() -> None:
        model.train()
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    eval_batch = min(EVAL_BATCH, batch * 4)
    xe = torch.rand(eval_batch, channels, size, size, generator=generator).to(device)

    def forward() -> None:
        model.eval()
        with torch.inference_mode():
            model(xe)

    return {
        "train_batch_s": _timed(step, device, repeats),
        "eval_image_s": _timed(forward, device, repeats) / eval_batch,
    }


def startup_seconds() -> float:
    """CPU seconds of a fresh interpreter importing what an evaluating job imports."""
    code = "import torch, sklearn.svm, pandas, numpy"
    start = time.perf_counter()
    before = os.times()
    subprocess.run([sys.executable, "-c", code], check=True)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return cpu if cpu > 0 else time.perf_counter() - start


_WORKER_JOB = """
from types import SimpleNamespace
snakemake = SimpleNamespace(log=["logs/job.log"])
import snakemake.script as preamble  # what Snakemake's preamble imports in the job's process
from unlearning.worker import hand_to_worker
hand_to_worker()
import unlearning.entry
"""


def worker_startup_seconds() -> float:
    """CPU seconds a job pays when the warm worker runs it: its own small process, which hands
    the script over, plus the worker's fork running an empty script (the worker's own imports
    are paid once per run, not per job)."""
    import tempfile

    from unlearning import worker
    from unlearning.benchmarks import read_worker_share

    with tempfile.TemporaryDirectory(prefix="unlearning-estimate-") as folder:
        script = Path(folder, "job.py")
        script.write_text(_WORKER_JOB)
        path = worker.start()  # exported to the job in this process's environment
        try:
            worker.wait_until_listening(path)
            before = os.times()
            subprocess.run([sys.executable, str(script)], cwd=folder, check=True)
            after = os.times()
        finally:
            worker.stop()
        client = (after.children_user - before.children_user) + (
            after.children_system - before.children_system
        )
        return client + read_worker_share(Path(folder, "benchmarks/job.tsv"))["cpu_time"]


def calibrate(keys: list[tuple], device_name: str, threads: int, cache_path: Path = CACHE) -> dict:
    """Timings of every key (from the cache where present) and the job start-up seconds;
    returns ``{"models": {key_text: timings}, "startup_s": s, "device": ..., "measured": [...]}``.
    """
    import torch

    from unlearning.runtime import select_device

    device = str(select_device(device_name))
    torch.set_num_threads(max(1, int(threads)))
    machine = _machine(device, threads)
    cache = _load(cache_path)
    entry = cache.setdefault(machine, {"models": {}})
    measured = []
    for key in keys:
        text = json.dumps(list(key))
        if text not in entry["models"]:
            entry["models"][text] = time_model(key, device_name)
            measured.append(key)
    if "startup_s" not in entry:
        entry["startup_s"] = startup_seconds()
    if "worker_startup_s" not in entry:
        entry["worker_startup_s"] = worker_startup_seconds()
    if measured or not cache_path.exists():
        _save(cache_path, cache)
    return {
        "models": {tuple(json.loads(k)): v for k, v in entry["models"].items()},
        "startup_s": entry["startup_s"],
        "worker_startup_s": entry["worker_startup_s"],
        "device": device,
        "measured": measured,
    }
