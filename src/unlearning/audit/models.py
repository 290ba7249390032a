"""The audit's jobs that train and unlearn: the library's own steps, followed by the one number
per forget example the attack needs, the logit-scaled confidence of its true class.

Each job saves its model like the main pipeline does (``model.pt``, ``model.json``, ``run.json``)
and adds ``confidence.npz``: ``forget`` (training-partition indices, in the split's order),
``labels`` and ``confidence``. The only audit module that imports torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from unlearning.atomic import write_json, write_npz
from unlearning.audit.ulira import logit_confidence
from unlearning.data.prepared import load_prepared
from unlearning.models import load_checkpoint
from unlearning.models.checkpoint import sidecar_path
from unlearning.runtime import select_device
from unlearning.steps.files import load_split
from unlearning.steps.train import train
from unlearning.steps.unlearn import MethodSetting, unlearn


def record_confidence(
    data_folder: str | Path,
    split_path: str | Path,
    model_path: str | Path,
    device_name: str,
    out_confidence: str | Path,
    batch_size: int,
) -> str:
    """The saved model's logit-scaled confidence on every forget example of the split."""
    from unlearning.metrics.predict import predict_logits

    data = load_prepared(data_folder)
    forget = np.asarray(load_split(split_path)["train_forget"], dtype=np.int64)
    device = select_device(device_name)
    model, _ = load_checkpoint(model_path, map_location=device)
    logits = predict_logits(model, data.part("train", forget), device, batch_size).numpy()
    labels = data.part_labels("train")[forget]
    confidence = logit_confidence(logits, labels)
    write_npz(out_confidence, {"forget": forget, "labels": labels, "confidence": confidence})
    return f"mean logit-scaled confidence on {len(forget)} forget images {confidence.mean():.2f}"


def _annotate(path: str | Path, **fields: Any) -> None:
    record = json.loads(Path(path).read_text())
    write_json(path, {**record, **fields})


def train_model(
    data_folder: str | Path,
    training_split: str | Path,
    forget_split: str | Path,
    role: str,
    split: str,
    model_cfg: dict[str, Any],
    train_cfg: dict[str, Any],
    seed: int,
    device_name: str,
    outputs: dict[str, str | Path],
    *,
    batch_size: int,
    progress: bool = True,
) -> str:
    """Train one of a split's reference models (``original``, ``retrain``, ``retrain_again``)
    on ``training_split``'s remain list, then record its confidences on ``forget_split``'s
    forget set. ``outputs`` names ``model``, ``run`` and ``confidence``."""
    summary = train(
        data_folder,
        training_split,
        model_cfg,
        train_cfg,
        seed,
        device_name,
        outputs["model"],
        outputs["run"],
        progress=progress,
    )
    kind = "original" if role == "original" else "retrain"
    audit = {"split": split, "role": role}
    _annotate(sidecar_path(outputs["model"]), kind=kind, audit=audit)
    _annotate(outputs["run"], kind=kind, audit=audit)
    scores = record_confidence(
        data_folder, forget_split, outputs["model"], device_name, outputs["confidence"], batch_size
    )
    return f"{split} {role}: {summary}; {scores}"


def unlearn_model(
    data_folder: str | Path,
    split_path: str | Path,
    original_path: str | Path,
    method: str,
    setting: str,
    params: dict[str, Any],
    seed: int,
    device_name: str,
    outputs: dict[str, str | Path],
    *,
    batch_size: int,
    progress: bool = True,
) -> str:
    """Unlearn the split's forget set from its original with one method setting, then record
    the unlearned model's confidences. ``outputs`` names ``model``, ``run`` and ``confidence``."""
    summary = unlearn(
        data_folder,
        split_path,
        original_path,
        MethodSetting(method, setting, params),
        seed,
        device_name,
        outputs["model"],
        outputs["run"],
        progress=progress,
    )
    scores = record_confidence(
        data_folder, split_path, outputs["model"], device_name, outputs["confidence"], batch_size
    )
    return f"{summary}; {scores}"
