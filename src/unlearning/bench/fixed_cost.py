"""Figure 5: what a job pays around its own work, in a fresh interpreter and forked from the
warm worker.

Two views. The import ladder times whole ``python -c`` processes that import more and more (the
workflow scripts' own import lines are read from the scripts, so the figure follows them). The
per-rule runs execute train, evaluate and unlearn (``digits_jobs``) through the pipeline's own
step functions (``job.py``), each once in a fresh interpreter, as a cluster job or a run without
the worker starts, and once handed to a warm worker and forked from it, as a local run's jobs
start; the wall time splits into phases, and everything but the step is the fixed cost a job
pays whatever its size.
"""

from __future__ import annotations

import ast
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from unlearning.bench import digits_jobs
from unlearning.bench.fixtures import Sizes
from unlearning.bench.timing import median
from unlearning.bench.warm_worker import job_environment, warm_worker

SCRIPTS = {"train": "train.py", "unlearn": "unlearn.py", "evaluate": "evaluate.py"}
PHASES = ("interpreter", "imports", "setup", "step_imports", "load", "step", "save", "exit")
JOB = Path(__file__).with_name("job.py")
# What the two most numerous kinds of job import to do their work: the method registry, and the
# metrics (scikit-learn).
STEP_PACKAGES = ("unlearning.methods", "unlearning.metrics.evaluate")
TIMEOUT_S = 600


def script_imports(path: Path) -> str:
    """The top-level import statements of a workflow script, as a program."""
    tree = ast.parse(path.read_text())
    nodes = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    return "\n".join(ast.unparse(n) for n in nodes) or "pass"


def children_cpu() -> float:
    """CPU seconds (user + system) of the child processes waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_seconds(args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of a whole process, start to exit."""
    cpu, start = children_cpu(), time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=TIMEOUT_S)
    return time.perf_counter() - start, children_cpu() - cpu


def import_ladder(root: Path, sizes: Sizes) -> dict[str, Any]:
    """Median wall and CPU seconds of whole ``python -c PROGRAM`` processes, start to exit, for
    programs that import more and more."""
    scripts = {
        rule: script_imports(root / "workflow/scripts" / name) for rule, name in SCRIPTS.items()
    }
    programs: dict[str, str] = {"python -c pass": "pass", "import torch": "import torch"}
    full = sizes.full_import_ladder
    if full:
        # a job's first optimizer may import more of torch (torch._dynamo in torch 2.x)
        programs["import torch + first torch.optim.SGD"] = (
            "import torch; torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1)"
        )
        programs["import unlearning.steps"] = "import unlearning.steps"
    for program in dict.fromkeys(scripts.values()):
        names = ", ".join(f"{r}.py" for r, p in scripts.items() if p == program)
        programs[f"imports of {names}"] = program
    for package in STEP_PACKAGES if full else ():
        programs[f"import {package}"] = f"import {package}"
    out = {}
    for label, program in programs.items():
        samples = [
            process_seconds([sys.executable, "-c", program], root)
            for _ in range(sizes.import_repeats)
        ]
        wall, cpu = ([s[i] for s in samples] for i in (0, 1))
        out[label] = {"s": median(wall), "cpu_s": median(cpu), "samples_s": wall}
    return out


def run_job(spec: dict[str, Any], root: Path, socket: str | None = None) -> dict[str, Any]:
    """One step in a fresh interpreter, or (with the warm worker's ``socket``) in a fork of the
    worker: wall and CPU seconds per phase, total and fixed (all but the step). The interpreter
    phase runs from starting the process to the step's first line (for a fork: the job's process
    starts, hands over and the worker forks), the exit phase from its last stamp to the end of
    the job's process."""
    cpu, start = children_cpu(), time.time()
    proc = subprocess.run(
        [sys.executable, str(JOB), json.dumps(spec)],
        cwd=root,
        env=job_environment(socket),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    done, cpu_total = time.time(), children_cpu() - cpu
    if proc.returncode != 0:
        raise RuntimeError(f"{spec['kind']} job failed: {proc.stderr.strip()[-2000:]}")
    marks = json.loads(proc.stdout.strip().splitlines()[-1])
    names = ["interpreter", *(m[0] for m in marks[1:]), "exit"]
    walls = [start, *(m[1] for m in marks), done]
    if socket is None:
        cpus = [0.0, *(m[2] for m in marks), cpu_total]
    else:
        # The fork's clock starts at zero and it is not this process's child: the job's own
        # process (start, hand-over, wait) counts as interpreter, the fork's stamps follow it.
        cpus = [0.0, *(cpu_total + m[2] for m in marks), cpu_total + marks[-1][2]]
        cpu_total = cpus[-1]
    out: dict[str, Any] = {f"{phase}{unit}": 0.0 for phase in PHASES for unit in ("_s", "_cpu_s")}
    for i, name in enumerate(names):
        # A step may end a phase more than once (loading, then checking, then loading more).
        out[f"{name}_s"] += walls[i + 1] - walls[i]
        out[f"{name}_cpu_s"] += cpus[i + 1] - cpus[i]
    first_imported: dict[str, list[str]] = {}
    for name, _wall, _cpu, packages in marks:
        if packages:
            first_imported.setdefault(name, []).extend(packages)
    out["total_s"], out["cpu_total_s"] = done - start, cpu_total
    out["fixed_s"] = out["total_s"] - out["step_s"]
    out["fixed_cpu_s"] = cpu_total - out["step_cpu_s"]
    out["fixed_share"] = out["fixed_s"] / out["total_s"]
    out["first_imported"] = first_imported
    return out


def run_jobs(
    specs: dict[str, dict[str, Any]], root: Path, socket: str | None = None
) -> dict[str, dict[str, Any]]:
    """Each job of ``specs`` in turn (:func:`run_job`), with its workflow script's imports."""
    rules = {}
    for kind, spec in specs.items():
        script = root / "workflow/scripts" / SCRIPTS[kind]
        full = {**spec, "kind": kind, "script": str(script), "imports": script_imports(script)}
        rules[kind] = run_job(full, root, socket)
    return rules


def measure(
    root: Path, config_path: Path, device: str, threads: int, sizes: Sizes, ladder: bool = True
) -> dict[str, Any]:
    """The digits jobs in fresh interpreters (``rules``) and forked from a warm worker
    (``rules_in_worker``), and the import ladder."""
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as folder:
        work = Path(folder)
        workload, specs = digits_jobs.prepare(config_path, device, threads, sizes, work)
        out: dict[str, Any] = {"workload": workload, "rules": run_jobs(specs, root)}
        with warm_worker(work) as socket:
            out["rules_in_worker"] = run_jobs(specs, root, socket)
    if ladder:
        out["imports"] = import_ladder(root, sizes)
    return out


def cuda_init(root: Path) -> dict[str, float]:
    """``import torch``, then ``torch.cuda.init()`` and a first tiny op, in a fresh interpreter."""
    program = (
        "import time; t0 = time.perf_counter(); import torch; t1 = time.perf_counter(); "
        "torch.cuda.init(); x = torch.ones(1, device='cuda') * 2; torch.cuda.synchronize(); "
        "print(t1 - t0, time.perf_counter() - t1)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", program], cwd=root, capture_output=True, text=True, check=True,
        timeout=TIMEOUT_S,
    )  # fmt: skip
    import_s, init_s = (float(v) for v in proc.stdout.split()[-2:])
    return {"import_torch_s": import_s, "cuda_init_s": init_s}
