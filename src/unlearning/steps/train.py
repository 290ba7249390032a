"""The steps that make an original or a retrain reference: training one (rules train_original,
train_retrain; a retrain is evaluated in the same job), or importing the user's own original."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from unlearning.atomic import write_json
from unlearning.data.prepared import PreparedData, load_prepared
from unlearning.errors import UserError
from unlearning.models import load_checkpoint, save_checkpoint
from unlearning.models.architectures import build_from_description
from unlearning.models.checkpoint import first_non_finite
from unlearning.models.outputs import LOGIT_LIMIT, output_problem
from unlearning.phases import mark
from unlearning.progress import NonFiniteLoss
from unlearning.runtime import peak_memory, seed_everything, select_device
from unlearning.settings import config_hash
from unlearning.steps.evaluate import Evaluation, evaluate_model
from unlearning.steps.files import load_split
from unlearning.steps.runs import environment, step_clock
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
    mark("load")
    with step_clock(device) as clock:
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
    dataset = Path(data_folder).name
    problem = output_problem(model, {"training": train_set}, device)
    if problem is not None:
        raise UserError(
            f"The {kind} model of dataset {dataset} gives {problem} although its loss and "
            f"weights are finite; its training diverged, so lower datasets.{dataset}.train.lr."
        )
    mark("step")
    save_checkpoint(out_model, model, description)
    run = {
        "kind": kind,
        "seed": seed,
        "seconds": clock.seconds,
        "final_loss": loss,
        "n_train": len(train_set),
        "train": train_cfg,
        "model": model_cfg,
        **peak_memory(device),
        **environment(device),
    }
    write_json(out_run, run)
    mark("save")
    summary = (
        f"{kind} trained on {len(train_set)} images, final loss {loss:.4f}, {clock.seconds:.1f} s"
    )
    if evaluation is None or split is None:
        return summary
    # The metrics describe the file other jobs will read, not the object in memory.
    saved, _ = load_checkpoint(out_model, map_location=device)
    return summary + "; " + evaluate_model(saved, run, data, split, device, evaluation)


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
            **environment(device),
        },
    )
    return f"original imported from {checkpoint}"
