"""The evaluation step: the metrics of a saved model against the retrain references (rule
evaluate_original), and the same evaluation for the jobs that train or unlearn a model and
evaluate it in the same process (rules train_retrain, unlearn)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from unlearning import methods as methods_pkg
from unlearning.atomic import write_json, write_npz
from unlearning.data.imageset import ImageSet
from unlearning.data.prepared import PreparedData, load_prepared
from unlearning.errors import UserError
from unlearning.models import load_checkpoint
from unlearning.models.outputs import output_problem
from unlearning.phases import mark
from unlearning.runtime import select_device
from unlearning.steps.files import load_split, read_json
from unlearning.steps.report import hyperparameter_columns


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation writes and measures against: the model's identity columns (dataset,
    seed, condition, method, setting, model_kind; the condition's labels come from the split), the
    config's ``evaluation`` settings, its outputs, and the retrain references: every replica's
    model, metrics and run record, in replica order (empty when the dataset has no retrain)."""

    identity: dict[str, Any]
    out_metrics: str | Path
    mia_feature: str
    mia_attack: str
    batch_size: int
    seed: int
    out_losses: str | Path | None = None
    reference_models: Sequence[str | Path] = ()
    reference_metrics: Sequence[str | Path] = ()
    reference_runs: Sequence[str | Path] = ()

    @classmethod
    def for_job(
        cls,
        identity: dict[str, Any],
        settings: Mapping[str, Any],
        seed: int | str,
        outputs: Mapping[str, Any],
        inputs: Mapping[str, Any],
    ) -> Evaluation:
        """The request of a job that writes ``metrics`` and ``losses`` (its ``outputs``), from
        its identity, the config's evaluation ``settings`` and its seed; its references are the
        ``reference_models``, ``reference_metrics`` and ``reference_runs`` of its ``inputs``,
        where it has them. Every rule that evaluates builds its request here."""
        return cls(
            identity,
            outputs["metrics"],
            out_losses=outputs["losses"],
            reference_models=list(inputs.get("reference_models", [])),
            reference_metrics=list(inputs.get("reference_metrics", [])),
            reference_runs=list(inputs.get("reference_runs", [])),
            seed=int(seed),
            **settings,
        )


def subsets(data: PreparedData, split: dict[str, Any]) -> dict[str, ImageSet]:
    """The test partition and each partition's forget and remain sides, by the split."""
    out = {"test": data.part("test")}
    for part in ("train", "val", "test"):
        for side in ("forget", "remain"):
            out[f"{part}_{side}"] = data.part(part, split[f"{part}_{side}"])
    return out


def evaluate(
    data_folder: str | Path,
    split_path: str | Path,
    model_path: str | Path,
    run_path: str | Path,
    device_name: str,
    evaluation: Evaluation,
) -> str:
    """Evaluate a saved model (rule evaluate_original)."""
    data = load_prepared(data_folder)
    split = load_split(split_path)
    device = select_device(device_name)
    model, _ = load_checkpoint(model_path, map_location=device)
    run = read_json(run_path, "Run record", "rerun the rule that trained this model")
    mark("load")
    return evaluate_model(model, run, data, split, device, evaluation)


def _model_name(identity: dict[str, Any], run: dict[str, Any]) -> str:
    kind = identity["model_kind"]
    if kind == "unlearned":
        return f"model of method {identity['method']}, setting {identity['setting']!r}"
    if run.get("imported_from"):
        return f"original model imported from {run['imported_from']}"
    return f"{kind} model of dataset {identity['dataset']}"


def _cause(identity: dict[str, Any], run: dict[str, Any]) -> str:
    """The likely cause of non-finite outputs from a model whose weights are finite, and the fix."""
    if identity["model_kind"] == "unlearned":
        return (
            "its unlearning updates diverged, so lower the learning rate (or other step sizes) "
            f"of setting {identity['setting']!r} of method {identity['method']} in the config"
        )
    if run.get("imported_from"):
        return (
            "the checkpoint is damaged or its training diverged, so fix "
            f"datasets.{identity['dataset']}.original.checkpoint"
        )
    return (
        "its training diverged, so lower "
        f"datasets.{identity['dataset']}.train.lr and delete the model to retrain it"
    )


def evaluate_model(
    model: torch.nn.Module,
    run: dict[str, Any],
    data: PreparedData,
    split: dict[str, Any],
    device: torch.device,
    evaluation: Evaluation,
) -> str:
    """Evaluate ``model`` (trained or unlearned as ``run`` records) and write what
    ``evaluation`` asks for; return the summary line."""
    from unlearning.metrics.evaluate import evaluate_with_losses  # scikit-learn: only here

    mark("step_imports")
    # What the condition forgets is resolved once, by the split (a class named "1" may sit at
    # index 0); figures highlight the class by index and plot against the fraction.
    forget_class = split["forget_class"] or {}
    identity = {
        **evaluation.identity,
        "condition_kind": split["kind"],
        "condition_fraction": split["fraction"],
        "condition_class": forget_class.get("index"),
    }
    parts = subsets(data, split)
    mark("load")
    problem = output_problem(
        model, {"test": parts["test"], "forget": parts["train_forget"]}, device
    )
    if problem is not None:
        raise UserError(
            f"The {_model_name(identity, run)} gives {problem}; {_cause(identity, run)}."
        )
    mark("step")
    ref_models = [
        load_checkpoint(path, map_location=device)[0] for path in evaluation.reference_models
    ]
    ref_metrics = [
        read_json(path, "Reference metrics", "rerun its evaluation")
        for path in evaluation.reference_metrics
    ]
    mark("load")
    metrics, losses = evaluate_with_losses(
        model,
        parts,
        data.num_classes,
        device,
        headline=split["headline"],
        reference_models=ref_models,
        reference_metrics=ref_metrics,
        mia_feature=evaluation.mia_feature,
        mia_attack=evaluation.mia_attack,
        seed=evaluation.seed,
        batch_size=evaluation.batch_size,
    )
    mark("step")
    ref_seconds = None
    if evaluation.reference_runs:
        # the mean retrain's wall seconds: what a retrain costs, measured len(runs) times
        ref_seconds = sum(
            read_json(path, "Run record", "rerun the retrain rule")["seconds"]
            for path in evaluation.reference_runs
        ) / len(evaluation.reference_runs)
    cost = {
        "unlearn_seconds": run["seconds"],
        "retrain_seconds": ref_seconds,
        "seconds_ratio": (
            run["seconds"] / ref_seconds
            if ref_seconds and identity["model_kind"] == "unlearned"
            else None
        ),
        "peak_rss_mib": run.get("peak_rss_mib"),
        "peak_cuda_mib": run.get("peak_cuda_mib"),
        "device": run.get("device"),
    }
    hyperparameters = {}
    if identity["model_kind"] == "unlearned":
        method = methods_pkg.get_method(identity["method"])
        hyperparameters = hyperparameter_columns(method.resolved_params(run.get("params") or {}))
    if evaluation.out_losses is not None:
        write_npz(evaluation.out_losses, losses)
    write_json(evaluation.out_metrics, {**identity, **metrics, **cost, **hyperparameters})
    mark("save")
    return (
        f"{identity['method']}/{identity['setting']}: forget {metrics['acc_forget']:.3f}, "
        f"remain {metrics['acc_remain']:.3f}, test {metrics['acc_test']:.3f}"
    )
