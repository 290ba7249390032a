"""One pipeline step in a fresh interpreter, stamping the wall and CPU clocks after each phase.

Run as a file (``python job.py SPEC``), not as a module, so that nothing of the library is
imported before the workflow script's own imports are timed. The phases mirror a job: the
script's imports, thread set-up, the modules the step imports on its own, data and model loading,
the step, writing its outputs. The last stdout line is JSON, one
``[phase, time.time(), time.process_time(), [packages first imported]]`` per phase.
"""

import time

MARKS = [("start", time.time(), time.process_time(), [])]

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

# Run as a file, this folder heads sys.path; drop it so no module here shadows another.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)


# Heavy packages whose first import the phases report, so a moved import shows where it went.
WATCH = (
    "numpy", "pandas", "scipy", "sklearn", "torch", "torch._dynamo", "torch._inductor",
    "torchvision", "matplotlib", "seaborn", "PIL", "medmnist", "tqdm", "yaml",
)  # fmt: skip
_seen = set()


def mark(name):
    now, cpu = time.time(), time.process_time()
    new = [m for m in WATCH if m in sys.modules and m not in _seen]
    _seen.update(new)
    MARKS.append((name, now, cpu, new))


def sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train(spec, device):
    from unlearning.atomic import write_json
    from unlearning.data.prepared import load_prepared
    from unlearning.models import build_model, save_checkpoint
    from unlearning.runtime import seed_everything
    from unlearning.training import TrainConfig, train_classifier

    mark("step_imports")
    data = load_prepared(spec["data"])
    model_cfg = spec["model"]
    description = {
        "architecture": model_cfg.get("architecture", "allcnn"),
        "width_factor": model_cfg.get("width_factor", 1.0),
        "num_classes": data.num_classes,
        "classes": data.info["classes"],
        "in_channels": data.info["channels"],
        "image_size": data.info["image_size"],
        "mean": data.info["mean"],
        "std": data.info["std"],
        "kind": "original",
        "seed": spec["seed"],
    }
    model = build_model(
        description["architecture"],
        data.num_classes,
        description["in_channels"],
        description["image_size"],
        description["mean"],
        description["std"],
        width_factor=description["width_factor"],
    ).to(device)
    train_set = data.part("train")
    generator = seed_everything(spec["seed"])
    mark("load")
    loss = train_classifier(
        model, train_set, TrainConfig(**spec["train"]), device=device, generator=generator,
        progress=False,
    )  # fmt: skip
    sync(device)
    mark("step")
    save_checkpoint(spec["out_model"], model, description)
    write_json(spec["out_run"], {"kind": "original", "final_loss": loss})
    mark("save")


def unlearn(spec, device):
    import copy

    from unlearning.atomic import write_json
    from unlearning.data.prepared import load_prepared
    from unlearning.methods import UnlearningTask, get_method
    from unlearning.models import load_checkpoint, save_checkpoint
    from unlearning.runtime import seed_everything

    mark("step_imports")
    method = get_method(spec["method"])
    params = method.parse_params(dict(spec["params"]))
    data = load_prepared(spec["data"])
    split = json.loads(open(spec["split"]).read())
    original, description = load_checkpoint(spec["in_model"], map_location=device)
    model = copy.deepcopy(original)
    original.eval().requires_grad_(False)
    task = UnlearningTask(
        model=model,
        original=original,
        forget=data.part("train", split["train_forget"]),
        remain=data.part("train", split["train_remain"]),
        validation=data.part("val"),
        num_classes=data.num_classes,
        device=device,
        generator=seed_everything(spec["seed"]),
        progress=False,
    )
    mark("load")
    model = method.run(task, params)
    sync(device)
    mark("step")
    save_checkpoint(spec["out_model"], model, {**description, "kind": "unlearned"})
    write_json(spec["out_run"], {"kind": "unlearned", "method": spec["method"]})
    mark("save")
    # The unlearn rule evaluates the model it leaves in the same process.
    evaluate(spec["evaluation"], device, phase="evaluate_")


def evaluate(spec, device, phase=""):
    """An evaluate job; inside the unlearn job its phases are stamped ``evaluate_<phase>``."""
    from unlearning.atomic import write_json, write_npz
    from unlearning.data.prepared import load_prepared
    from unlearning.metrics.evaluate import evaluate_with_losses
    from unlearning.models import load_checkpoint
    from unlearning.steps.evaluate import subsets

    mark(phase + "step_imports")
    data = load_prepared(spec["data"])
    split = json.loads(open(spec["split"]).read())
    model, _ = load_checkpoint(spec["in_model"], map_location=device)
    reference, _ = load_checkpoint(spec["reference_model"], map_location=device)
    mark(phase + "load")
    metrics, losses = evaluate_with_losses(
        model,
        subsets(data, split),
        data.num_classes,
        device,
        headline=split["headline"],
        reference_models=[reference],
        seed=spec["seed"],
        **spec["evaluation"],
    )
    sync(device)
    mark(phase + "step")
    write_json(spec["out_metrics"], metrics)
    write_npz(spec["out_losses"], losses)
    mark(phase + "save")


def main(spec):
    exec(compile(spec["imports"], spec["script"], "exec"), {})
    mark("imports")
    from unlearning.runtime import configure_torch, select_device

    configure_torch(spec["threads"])
    import torch

    from unlearning.startup import skip_dynamo_import

    skip_dynamo_import(torch)  # as run_step does
    device = select_device(spec["device"])
    mark("setup")
    {"train": train, "unlearn": unlearn, "evaluate": evaluate}[spec["kind"]](spec, device)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
    print(json.dumps(MARKS), flush=True)
    from unlearning.startup import end_process

    end_process(0)  # as run_step does
