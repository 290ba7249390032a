"""One pipeline step as a job runs it, stamping the wall and CPU clocks after each phase.

Run as a file (``python job.py SPEC``), not as a module, so that nothing of the library is
imported before the workflow script's own imports are timed. Like a job script, it first offers
itself to the warm worker: with ``$UNLEARNING_WORKER`` set, the rest runs in a fork of the worker.
The phases: the script's imports, thread set-up (as ``entry.run_step`` does), then the phases the
step function itself ends (its own imports, loading, the work, saving; see
:mod:`unlearning.phases`), so what is timed is the pipeline's own step. The last stdout line is
JSON, one ``[phase, time.time(), time.process_time(), [packages first imported]]`` per phase.
"""

import time

MARKS = [("start", time.time(), time.process_time(), [])]

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

# Run as a file, this folder heads sys.path; drop it so no module here shadows another.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

from unlearning.worker import hand_to_worker  # noqa: E402

hand_to_worker()

# Heavy packages whose first import the phases report, so a moved import shows where it went.
WATCH = (
    "numpy", "pandas", "scipy", "sklearn", "torch", "torch._dynamo", "torch._inductor",
    "torchvision", "matplotlib", "seaborn", "PIL", "medmnist", "tqdm", "yaml",
)  # fmt: skip
# What a fork of the warm worker finds in memory is not this job's import.
_seen = {name for name in WATCH if name in sys.modules}


def mark(name):
    now, cpu = time.time(), time.process_time()
    new = [m for m in WATCH if m in sys.modules and m not in _seen]
    _seen.update(new)
    MARKS.append((name, now, cpu, new))


def _evaluation(spec):
    from unlearning.steps.evaluate import Evaluation

    return Evaluation.for_job(
        spec["identity"], spec["evaluation"], spec["seed"], spec["outputs"], spec["inputs"]
    )


def train(spec):
    from unlearning.steps.train import train as step

    out = spec["outputs"]
    return step(
        spec["data"], None, spec["model"], spec["train"], spec["seed"], spec["device"],
        out["model"], out["run"], progress=False,
    )  # fmt: skip


def unlearn(spec):
    from unlearning.steps.unlearn import MethodSetting
    from unlearning.steps.unlearn import unlearn as step

    out = spec["outputs"]
    return step(
        spec["data"], spec["split"], spec["original"],
        MethodSetting(spec["method"], spec["setting"], spec["params"]),
        spec["seed"], spec["device"], out["model"], out["run"], progress=False,
        evaluation=_evaluation(spec),
    )  # fmt: skip


def evaluate(spec):
    from unlearning.steps.evaluate import evaluate as step

    return step(
        spec["data"], spec["split"], spec["model"], spec["run"], spec["device"], _evaluation(spec)
    )


def main(spec):
    exec(compile(spec["imports"], spec["script"], "exec"), {})
    mark("imports")
    from unlearning.runtime import configure_torch

    configure_torch(spec["threads"])
    import torch

    from unlearning.startup import skip_dynamo_import

    skip_dynamo_import(torch)  # as run_step does
    mark("setup")
    from unlearning import phases

    phases.listeners.append(mark)
    {"train": train, "unlearn": unlearn, "evaluate": evaluate}[spec["kind"]](spec)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
    print(json.dumps(MARKS), flush=True)
    from unlearning.startup import end_process

    end_process(0)  # as run_step does
