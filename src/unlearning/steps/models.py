"""Steps that train, unlearn and evaluate models: the only steps that import torch."""

from __future__ import annotations

import copy
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from unlearning import methods as methods_pkg
from unlearning.atomic import write_json, write_npz
from unlearning.data.imageset import ImageSet
from unlearning.data.prepared import PreparedData, load_prepared
from unlearning.errors import UserError
from unlearning.models import load_checkpoint, save_checkpoint
from unlearning.models.architectures import build_from_description
from unlearning.models.checkpoint import first_non_finite
from unlearning.models.outputs import LOGIT_LIMIT, output_problem
from unlearning.progress import NonFiniteLoss
from unlearning.runtime import peak_memory, seed_everything, select_device
from unlearning.settings import config_hash
from unlearning.steps.files import load_split, read_json
from unlearning.steps.report import hyperparameter_columns
from unlearning.training import TrainConfig, train_classifier


def _description(data: PreparedData, model_cfg: dict[str, Any], extra: dict[str, Any]) -> dict:
    """The checkpoint description; ``model.normalization`` fixes the input normalisation (the
    paper's per-dataset constants) instead of the prepared data's own statistics."""
    normalization = model_cfg.get("normalization") or {}
    channels = data.info["channels"]
    for key, values in normalization.items():
        if len(values) != channels:
            raise UserError(
                f"model.normalization.{key} has {len(values)} values but the images have "
                f"{channels} channel(s); give one value per channel."
            )
    return {
        "architecture": model_cfg["architecture"],
        "width_factor": model_cfg["width_factor"],
        "dropout": model_cfg["dropout"],
        "num_classes": data.num_classes,
        "classes": data.info["classes"],
        "in_channels": data.info["channels"],
        "image_size": data.info["image_size"],
        "mean": normalization["mean"] if normalization else data.info["mean"],
        "std": normalization["std"] if normalization else data.info["std"],
        **extra,
    }


def _environment(device: torch.device) -> dict[str, Any]:
    env = {
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return env


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train(
    data_folder: str | Path,
    split_path: str | Path | None,
    model_cfg: dict[str, Any],
    train_cfg: dict[str, Any],
    seed: int,
    device_name: str,
    out_model: str | Path,
    out_run: str | Path,
    progress: bool = True,
    *,
    evaluation: Evaluation | None = None,
) -> str:
    """Train the original (no split) or a retrain reference (on the split's train_remain), and
    evaluate the saved model when ``evaluation`` is given (a retrain reference: one job trains
    and evaluates it, so data and interpreter are loaded once)."""
    data = load_prepared(data_folder)
    train_set = data.part("train")
    kind, split = "original", None
    if split_path is not None:
        split = load_split(split_path)
        train_set = data.part("train", split["train_remain"])
        kind = "retrain"
    device = select_device(device_name)
    generator = seed_everything(seed)
    config = TrainConfig(**train_cfg)
    description = _description(
        data,
        model_cfg,
        {"kind": kind, "seed": seed, "config_hash": config_hash([model_cfg, train_cfg])},
    )
    model = build_from_description(description)
    if model_cfg.get("pretrained"):
        from unlearning.models.pretrained import load_imagenet

        load_imagenet(model, description["architecture"], model_cfg["pretrained"])
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    _sync(device)
    start = time.perf_counter()
    try:
        loss = train_classifier(
            model,
            train_set,
            config,
            device=device,
            generator=generator,
            progress=progress,
            description=kind,
        )
    except NonFiniteLoss as exc:
        dataset = Path(data_folder).name
        raise UserError(
            f"Training the {kind} model of dataset {dataset} diverged: the {exc.where()}; "
            f"lower datasets.{dataset}.train.lr."
        ) from exc
    _sync(device)
    seconds = time.perf_counter() - start
    dataset = Path(data_folder).name
    problem = output_problem(model, {"training": train_set}, device)
    if problem is not None:
        raise UserError(
            f"The {kind} model of dataset {dataset} gives {problem} although its loss and "
            f"weights are finite; its training diverged, so lower datasets.{dataset}.train.lr."
        )
    save_checkpoint(out_model, model, description)
    run = {
        "kind": kind,
        "seed": seed,
        "seconds": seconds,
        "final_loss": loss,
        "n_train": len(train_set),
        "train": train_cfg,
        "model": model_cfg,
        **peak_memory(device),
        **_environment(device),
    }
    write_json(out_run, run)
    summary = f"{kind} trained on {len(train_set)} images, final loss {loss:.4f}, {seconds:.1f} s"
    if evaluation is None or split is None:
        return summary
    # The metrics describe the file other jobs will read, not the object in memory.
    saved, _ = load_checkpoint(out_model, map_location=device)
    return summary + "; " + _evaluate(saved, run, data, split, device, evaluation)


def import_original(
    data_folder: str | Path,
    checkpoint: str | Path,
    model_cfg: dict[str, Any],
    normalization: dict[str, list[float]] | None,
    out_model: str | Path,
    out_run: str | Path,
) -> str:
    """Use a user's trained model as the original, after checking it against the dataset."""
    from unlearning.models.external import import_original as load_external

    data = load_prepared(data_folder)
    description = _description(
        data, model_cfg, {"kind": "original", "imported_from": str(checkpoint)}
    )
    if normalization:
        channels = data.info["channels"]
        for key in ("mean", "std"):
            if len(normalization[key]) != channels:
                raise UserError(
                    f"datasets.{Path(data_folder).name}.original.normalization.{key} has "
                    f"{len(normalization[key])} values but the images have {channels} "
                    "channel(s); give one value per channel, as the model's data loader used."
                )
        description.update(mean=normalization["mean"], std=normalization["std"])
    model = load_external(checkpoint, description)
    bad = first_non_finite(model.state_dict())
    if bad is not None:
        raise UserError(
            f"Original checkpoint {checkpoint} holds non-finite weights ({bad} has NaN or "
            "infinity); export a model whose training did not diverge."
        )
    problem = output_problem(model, {"training": data.part("train")}, "cpu", limit=LOGIT_LIMIT)
    if problem is not None:
        raise UserError(
            f"Original checkpoint {checkpoint} gives {problem}, so its predictions are "
            "meaningless; its weights were scaled or damaged after training or its training "
            "diverged, so export the model as it was when it last worked."
        )
    save_checkpoint(out_model, model, description)
    device = torch.device("cpu")
    write_json(
        out_run,
        {
            "kind": "original",
            "imported_from": str(checkpoint),
            "seconds": None,
            **peak_memory(device),
            **_environment(device),
        },
    )
    return f"original imported from {checkpoint}"


def _frozen(model: torch.nn.Module) -> torch.nn.Module:
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def unlearn(
    data_folder: str | Path,
    split_path: str | Path,
    original_path: str | Path,
    method_name: str,
    params: dict[str, Any],
    seed: int,
    device_name: str,
    out_model: str | Path,
    out_run: str | Path,
    progress: bool = True,
    sources: dict[str, tuple[str | Path, str | Path]] | None = None,
    *,
    evaluation: Evaluation | None = None,
    setting: str | None = None,
) -> str:
    """Run one method at one setting, then evaluate the model it leaves when ``evaluation`` is
    given: data, model and interpreter are loaded once for both, which at paper scale is most of
    a job's cost. ``sources`` maps a role to the model and run record of an earlier run the method
    builds on (``compose``); their seconds count toward this run's cost. ``setting`` (the
    setting's name) only names the run in messages."""
    method = methods_pkg.get_method(method_name)
    parsed = method.parse_params(dict(params))
    data = load_prepared(data_folder)
    split = load_split(split_path)
    device = select_device(device_name)
    original, description = load_checkpoint(original_path, map_location=device)
    source_models, source_seconds = {}, 0.0
    for role, (model_path, run_path) in (sources or {}).items():
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
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    _sync(device)
    start = time.perf_counter()
    run_name = f"{method_name}/{setting}" if setting else method_name
    which = f"setting {setting!r} of method {method_name}" if setting else method_name
    try:
        model = method.run(task, parsed)
    except NonFiniteLoss as exc:
        raise UserError(
            f"Unlearning {run_name} diverged: the {exc.where()}; lower the learning rate (or "
            f"other step sizes) of {which} in the config."
        ) from exc
    _sync(device)
    own_seconds = time.perf_counter() - start
    problem = output_problem(model, {"forget": task.forget, "remain": task.remain}, device)
    if problem is not None:
        raise UserError(
            f"Unlearning {run_name} left a model that gives {problem} although its loss and "
            f"weights are finite; its updates diverged, so lower the learning rate (or other "
            f"step sizes) of {which} in the config."
        )
    seconds = own_seconds + source_seconds
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
        "own_seconds": own_seconds,
        "n_forget": len(task.forget),
        "n_remain": len(task.remain),
        **peak_memory(device),
        **_environment(device),
    }
    write_json(out_run, run)
    summary = f"{method_name} on {len(task.forget)} forget images: {seconds:.2f} s"
    if evaluation is None:
        return summary
    # The metrics describe the file other jobs will read, not the object in memory.
    saved, _ = load_checkpoint(out_model, map_location=device)
    return summary + "; " + _evaluate(saved, run, data, split, device, evaluation)


def subsets(data: PreparedData, split: dict[str, Any]) -> dict[str, ImageSet]:
    out = {"test": data.part("test")}
    for part in ("train", "val", "test"):
        for side in ("forget", "remain"):
            out[f"{part}_{side}"] = data.part(part, split[f"{part}_{side}"])
    return out


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
    return _evaluate(model, run, data, split, device, evaluation)


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


def _evaluate(
    model: torch.nn.Module,
    run: dict[str, Any],
    data: PreparedData,
    split: dict[str, Any],
    device: torch.device,
    evaluation: Evaluation,
) -> str:
    from unlearning.metrics.evaluate import evaluate_with_losses  # scikit-learn: only here

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
    problem = output_problem(
        model, {"test": parts["test"], "forget": parts["train_forget"]}, device
    )
    if problem is not None:
        raise UserError(
            f"The {_model_name(identity, run)} gives {problem}; {_cause(identity, run)}."
        )
    ref_models = [
        load_checkpoint(path, map_location=device)[0] for path in evaluation.reference_models
    ]
    ref_metrics = [
        read_json(path, "Reference metrics", "rerun its evaluation")
        for path in evaluation.reference_metrics
    ]
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
    return (
        f"{identity['method']}/{identity['setting']}: forget {metrics['acc_forget']:.3f}, "
        f"remain {metrics['acc_remain']:.3f}, test {metrics['acc_test']:.3f}"
    )


def embed_models(
    data_folder: str | Path,
    split_path: str | Path,
    model_paths: dict[str, str | Path],
    device_name: str,
    out_npz: str | Path,
    *,
    max_points: int,
    seed: int,
    batch_size: int,
) -> str:
    """t-SNE maps of the same test images through each named model (rule embed_models)."""
    from unlearning import embedding

    data = load_prepared(data_folder)
    parts = subsets(data, load_split(split_path))
    device = select_device(device_name)
    seed_everything(seed)
    models = {
        name: load_checkpoint(path, map_location=device)[0] for name, path in model_paths.items()
    }
    arrays = embedding.embed_models(
        models,
        parts["test_forget"],
        parts["test_remain"],
        device,
        max_points=max_points,
        seed=seed,
        batch_size=batch_size,
    )
    write_npz(out_npz, arrays)
    return f"t-SNE maps of {len(arrays['labels'])} test samples for {', '.join(models)}"


def verify_checkpoints(folder: str | Path) -> str:
    """Check every checkpoint under ``folder`` against its recorded sha256 and for finite
    weights (rule verify), print one line for each corrupt one and remove its ``model.pt``. The
    default target asks for every result file, so the next plain run rebuilds a removed model and
    then, its inputs being newer, everything that depends on it."""
    from unlearning.models.checkpoint import checkpoint_problem

    paths = sorted(Path(folder).rglob("model.pt"))
    corrupt = 0
    for path in paths:
        problem = checkpoint_problem(path)
        if problem is not None:
            corrupt += 1
            path.unlink()
            print(f"corrupt: {path}: {problem} (removed; the next run rebuilds it)", flush=True)
    summary = f"{len(paths)} checkpoints under {folder} checked, {corrupt} corrupt"
    if corrupt:
        summary += ": run snakemake again to rebuild them and every result that depends on them"
    print(f"verify: {summary}.", flush=True)
    return summary
