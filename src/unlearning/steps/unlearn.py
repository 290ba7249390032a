"""The unlearning step: one method at one setting from the original, and the evaluation of the
model it leaves in the same job (rule unlearn)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from unlearning import methods as methods_pkg
from unlearning.atomic import write_json
from unlearning.data.prepared import load_prepared
from unlearning.errors import UserError
from unlearning.models import load_checkpoint, save_checkpoint
from unlearning.models.outputs import output_problem
from unlearning.phases import mark
from unlearning.progress import NonFiniteLoss
from unlearning.runtime import peak_memory, seed_everything, select_device
from unlearning.steps.evaluate import Evaluation, evaluate_model
from unlearning.steps.files import load_split, read_json
from unlearning.steps.runs import environment, step_clock


@dataclass(frozen=True)
class MethodSetting:
    """One setting of one method: the method's name, the setting's name (it only names the run
    in messages), its hyperparameters, and the model and run record of each earlier run it builds
    on (``compose``), by role; their seconds count toward this run's cost."""

    method: str
    name: str | None
    params: dict[str, Any]
    sources: Mapping[str, tuple[str | Path, str | Path]] = field(default_factory=dict)

    def run_name(self) -> str:
        return f"{self.method}/{self.name}" if self.name else self.method

    def described(self) -> str:
        """The setting as a sentence names it."""
        return f"setting {self.name!r} of method {self.method}" if self.name else self.method


def _frozen(model: torch.nn.Module) -> torch.nn.Module:
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def unlearn(
    data_folder: str | Path,
    split_path: str | Path,
    original_path: str | Path,
    setting: MethodSetting,
    seed: int,
    device_name: str,
    out_model: str | Path,
    out_run: str | Path,
    progress: bool = True,
    *,
    evaluation: Evaluation | None = None,
) -> str:
    """Run one method at one setting, then evaluate the model it leaves when ``evaluation`` is
    given: data, model and interpreter are loaded once for both, which at paper scale is most of
    a job's cost."""
    method_name, params = setting.method, setting.params
    method = methods_pkg.get_method(method_name)
    parsed = method.parse_params(dict(params))
    mark("step_imports")
    data = load_prepared(data_folder)
    split = load_split(split_path)
    device = select_device(device_name)
    original, description = load_checkpoint(original_path, map_location=device)
    source_models, source_seconds = {}, 0.0
    for role, (model_path, run_path) in setting.sources.items():
        source_models[role] = _frozen(load_checkpoint(model_path, map_location=device)[0])
        source_seconds += read_json(run_path, "Run record", "rerun that unlearning job")["seconds"]
    generator = seed_everything(seed)
    task = methods_pkg.UnlearningTask(
        model=copy.deepcopy(original),
        original=_frozen(original),
        forget=data.part("train", split["train_forget"]),
        remain=data.part("train", split["train_remain"]),
        validation=data.part("val"),
        num_classes=data.num_classes,
        device=device,
        generator=generator,
        progress=progress,
        sources=source_models,
    )
    mark("load")
    with step_clock(device) as clock:
        try:
            model = method.run(task, parsed)
        except NonFiniteLoss as exc:
            raise UserError(
                f"Unlearning {setting.run_name()} diverged: the {exc.where()}; lower the learning "
                f"rate (or other step sizes) of {setting.described()} in the config."
            ) from exc
    problem = output_problem(model, {"forget": task.forget, "remain": task.remain}, device)
    if problem is not None:
        raise UserError(
            f"Unlearning {setting.run_name()} left a model that gives {problem} although its loss "
            f"and weights are finite; its updates diverged, so lower the learning rate (or other "
            f"step sizes) of {setting.described()} in the config."
        )
    mark("step")
    seconds = clock.seconds + source_seconds
    save_checkpoint(
        out_model,
        model,
        {**description, "kind": "unlearned", "method": method_name, "params": params, "seed": seed},
    )
    run = {
        "kind": "unlearned",
        "method": method_name,
        "params": params,
        "seed": seed,
        "seconds": seconds,
        "own_seconds": clock.seconds,
        "n_forget": len(task.forget),
        "n_remain": len(task.remain),
        **peak_memory(device),
        **environment(device),
    }
    write_json(out_run, run)
    mark("save")
    summary = f"{method_name} on {len(task.forget)} forget images: {seconds:.2f} s"
    if evaluation is None:
        return summary
    # The metrics describe the file other jobs will read, not the object in memory.
    saved, _ = load_checkpoint(out_model, map_location=device)
    return summary + "; " + evaluate_model(saved, run, data, split, device, evaluation)
