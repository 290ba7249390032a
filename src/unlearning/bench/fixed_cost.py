"""Figure 5: what a job pays around its own work, measured in fresh interpreters.

Two views. The import ladder times whole ``python -c`` processes that import more and more (the
workflow scripts' own import lines are read from the scripts, so the figure follows them). The
per-rule runs execute train, unlearn and evaluate on the default config's digits data in a
fresh interpreter each (``job.py``) and split the wall time into phases; everything but the step
is the fixed cost a job pays whatever its size.
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

import yaml

from unlearning.bench.fixtures import Sizes
from unlearning.bench.timing import median

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


def run_job(spec: dict[str, Any], root: Path) -> dict[str, Any]:
    """One step in a fresh interpreter: wall and CPU seconds per phase, total and fixed (all but
    the step). The interpreter's start and exit are the spans before the child's first stamp and
    after its last one."""
    cpu, start = children_cpu(), time.time()
    proc = subprocess.run(
        [sys.executable, str(JOB), json.dumps(spec)],
        cwd=root,
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
    cpus = [0.0, *(m[2] for m in marks), cpu_total]
    out: dict[str, Any] = {f"{phase}{unit}": 0.0 for phase in PHASES for unit in ("_s", "_cpu_s")}
    for i, name in enumerate(names):
        # The unlearn job's evaluation phases count with the matching phases of the job.
        phase = name.removeprefix("evaluate_")
        out[f"{phase}_s"] += walls[i + 1] - walls[i]
        out[f"{phase}_cpu_s"] += cpus[i + 1] - cpus[i]
    out["total_s"], out["cpu_total_s"] = done - start, cpu_total
    out["fixed_s"] = out["total_s"] - out["step_s"]
    out["fixed_cpu_s"] = cpu_total - out["step_cpu_s"]
    out["fixed_share"] = out["fixed_s"] / out["total_s"]
    out["first_imported"] = {m[0]: m[3] for m in marks if m[3]}
    return out


def _epochs(config: dict[str, Any]) -> str:
    return f"{config['epochs']} epoch{'' if config['epochs'] == 1 else 's'}"


def digits_jobs(
    root: Path, config_path: Path, device: str, threads: int, sizes: Sizes, work: Path
) -> dict[str, Any]:
    """Train, unlearn (psg's default setting) and evaluate on the default config's digits set."""
    from unlearning.data.conditions import make_split
    from unlearning.data.digits import prepare_digits
    from unlearning.data.prepared import load_prepared

    config = yaml.safe_load(config_path.read_text())
    dataset = config["datasets"]["digits"]
    condition_name, condition = next(iter(dataset["conditions"].items()))
    data = work / "data"
    pixels = sizes.digits_image_size or dataset.get("image_size", 16)
    prepare_digits(
        data,
        image_size=pixels,
        val_fraction=dataset.get("val_fraction", 0.1),
        test_fraction=dataset.get("test_fraction", 0.2),
        split_seed=dataset.get("split_seed", 0),
    )
    split = work / "split.json"
    split.write_text(json.dumps(make_split(condition_name, condition, load_prepared(data), 0)))
    train_cfg = dict(dataset["train"])
    psg = dict(config["methods"]["psg"]["params"])
    if sizes.digits_train_epochs:
        train_cfg["epochs"] = sizes.digits_train_epochs
    if sizes.digits_unlearn_epochs:
        psg["epochs"] = sizes.digits_unlearn_epochs
    evaluation = config.get("evaluation", {})
    common = {"data": str(data), "split": str(split), "seed": 0, "device": device}
    common["threads"] = threads
    specs = {
        "train": {
            "model": dataset["model"],
            "train": train_cfg,
            "out_model": str(work / "original/model.pt"),
            "out_run": str(work / "original/run.json"),
        },
        "unlearn": {
            "method": "psg",
            "params": psg,
            "in_model": str(work / "original/model.pt"),
            "out_model": str(work / "psg/model.pt"),
            "out_run": str(work / "psg/run.json"),
        },
        "evaluate": {
            "in_model": str(work / "psg/model.pt"),
            "reference_model": str(work / "original/model.pt"),
            "evaluation": {
                "mia_feature": evaluation.get("mia_feature", "confidence"),
                "mia_attack": evaluation.get("mia_attack", "svc"),
                "batch_size": evaluation.get("batch_size", 1024),
            },
            "out_metrics": str(work / "psg/metrics.json"),
            "out_losses": str(work / "psg/losses.npz"),
        },
    }
    specs["unlearn"]["evaluation"] = {**common, **specs["evaluate"]}
    rules = {}
    for kind, spec in specs.items():
        script = root / "workflow/scripts" / SCRIPTS[kind]
        full = {**common, **spec, "kind": kind, "script": str(script)}
        rules[kind] = run_job({**full, "imports": script_imports(script)}, root)
    return {
        "workload": f"digits at {pixels} px ({condition_name}): train {_epochs(train_cfg)}, "
        f"psg {_epochs(psg)}, evaluate with the original as reference",
        "rules": rules,
    }


def measure(
    root: Path, config_path: Path, device: str, threads: int, sizes: Sizes, ladder: bool = True
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as work:
        out = digits_jobs(root, config_path, device, threads, sizes, Path(work))
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
