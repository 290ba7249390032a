"""All metrics of one model in one flat, JSON-ready dict (one row of the metrics table)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from unlearning.data.imageset import ImageSet
from unlearning.gaps import GAP_SUBSETS
from unlearning.metrics.accuracy import accuracy, per_class_accuracy, per_sample_loss
from unlearning.metrics.distance import (
    accuracy_gaps,
    js_divergence,
    metric_value,
    paper_distance,
    reference_mean,
    tug_of_war,
)
from unlearning.metrics.mia import (
    MIA_ATTACKS,
    MIA_FEATURES,
    loss_mia,
    mia_efficacy,
    mia_efficacy_svc,
)
from unlearning.metrics.predict import predict_logits

REQUIRED_SUBSETS = ("train_forget", "train_remain", "test", "test_forget", "test_remain")
OPTIONAL_SUBSETS = ("val_forget", "val_remain")
LOSS_MIA_FOLDS = 5


def _jsonable(value: object) -> object:
    """Plain Python scalars with nan as None, so ``json.dumps(allow_nan=False)`` succeeds."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


#: Subsets whose per-sample losses are saved for the loss histograms (``losses.npz``).
LOSS_SUBSETS = ("train_forget", "test_forget", "test_remain")


def evaluate(model: nn.Module, *args, **kwargs) -> dict[str, object]:
    """All metrics of ``model``; see :func:`evaluate_with_losses` for the arguments."""
    return evaluate_with_losses(model, *args, **kwargs)[0]


def _predict_subsets(
    model: nn.Module,
    subsets: Mapping[str, ImageSet],
    names: list[str],
    device: torch.device | str,
    batch_size: int,
) -> dict[str, torch.Tensor]:
    """Logits of every named subset. A subset whose images are all rows of the test set (the
    test side of the forget condition) takes them from the test set's logits instead of running
    the network on those images a second time."""
    test = subsets["test"]
    logits = {"test": predict_logits(model, test, device, batch_size)}
    lookup = None
    if test.index is not None and len(test):
        lookup = torch.full((test.source.shape[0],), -1, dtype=torch.long)
        lookup[test.index] = torch.arange(len(test))
    for k in names:
        if k == "test":
            continue
        part = subsets[k]
        if lookup is not None and part.source is test.source and part.index is not None:
            positions = lookup[part.index]
            if len(part) and bool((positions >= 0).all()):
                logits[k] = logits["test"][positions]
                continue
        logits[k] = predict_logits(model, part, device, batch_size)
    return logits


def evaluate_with_losses(
    model: nn.Module,
    subsets: Mapping[str, ImageSet],
    num_classes: int,
    device: torch.device | str,
    *,
    headline: Mapping[str, str],
    reference_models: Sequence[nn.Module] = (),
    reference_metrics: Sequence[Mapping[str, object]] = (),
    mia_feature: str = "confidence",
    mia_attack: str = "svc",
    seed: int = 0,
    batch_size: int = 1024,
) -> tuple[dict[str, object], dict[str, np.ndarray]]:
    """Accuracies, MIAs and distances to the retrained references for ``model``, and the
    per-sample losses of :data:`LOSS_SUBSETS` (float32 arrays) for the loss histograms.

    ``reference_metrics`` are the metrics of every retrain reference (replicas differing in
    initialisation and batch order): the gaps, the distance and ToW are taken to their mean
    accuracies, ``js_forget`` is the mean JS divergence to ``reference_models``.

    ``headline`` maps "forget"/"remain" to the subset keys reported as ``acc_forget`` and
    ``acc_remain``. Reference-based keys are present but None when no reference is given, so a
    missing comparison is never mistaken for a perfect one.

    Both attacks' per-feature shares are recorded (:data:`MIA_FEATURES`, SalUn's five plus the
    loss).

    Both membership attacks run on every feature: ``mia_svc_<feature>`` (SalUn's SVC attack, the
    literature's MIA-efficacy) and ``mia_logistic_<feature>`` (balanced logistic regression).
    ``mia_efficacy`` repeats the one chosen by ``mia_attack`` and ``mia_feature``, both recorded.
    """
    missing = [k for k in REQUIRED_SUBSETS if k not in subsets]
    if missing:
        raise ValueError(f"evaluate() needs subsets {missing}; pass them in 'subsets'")
    names = [k for k in (*REQUIRED_SUBSETS, *OPTIONAL_SUBSETS) if k in subsets]
    for role in ("forget", "remain"):
        if headline.get(role) not in names:
            raise ValueError(f"headline['{role}'] must name one of {names}")
    if mia_feature not in MIA_FEATURES:
        raise ValueError(f"mia_feature must be one of {MIA_FEATURES}, got {mia_feature!r}")
    if mia_attack not in MIA_ATTACKS:
        raise ValueError(f"mia_attack must be one of {MIA_ATTACKS}, got {mia_attack!r}")

    logits = _predict_subsets(model, subsets, names, device, batch_size)
    labels = {k: subsets[k].labels for k in names}

    out: dict[str, object] = {}
    for k in names:
        out[f"acc_{k}"] = accuracy(logits[k], labels[k])
        out[f"n_{k}"] = len(subsets[k])
    out["num_classes"] = num_classes
    out["headline_forget"] = headline["forget"]
    out["headline_remain"] = headline["remain"]
    out["acc_forget"] = out[f"acc_{headline['forget']}"]
    out["acc_remain"] = out[f"acc_{headline['remain']}"]
    for c, acc in enumerate(per_class_accuracy(logits["test"], labels["test"], num_classes)):
        out[f"acc_class_{c}"] = acc

    attack_sets = (
        logits["train_remain"], labels["train_remain"],
        logits["test"], labels["test"],
        logits["train_forget"], labels["train_forget"],
    )  # fmt: skip
    mia = {
        "svc": mia_efficacy_svc(*attack_sets),
        "logistic": mia_efficacy(*attack_sets, seed=seed),
    }
    for attack in MIA_ATTACKS:
        for feature in MIA_FEATURES:
            out[f"mia_{attack}_{feature}"] = mia[attack][feature]
    out["mia_efficacy"] = mia[mia_attack][mia_feature]
    out["mia_feature"] = mia_feature
    out["mia_attack"] = mia_attack

    losses = {k: per_sample_loss(logits[k], labels[k]) for k in LOSS_SUBSETS}
    heldout = "test_forget" if len(subsets["test_forget"]) >= LOSS_MIA_FOLDS else "test"
    out["loss_mia"] = loss_mia(
        losses["train_forget"],
        losses[heldout] if heldout in losses else per_sample_loss(logits[heldout], labels[heldout]),
        seed=seed,
        folds=LOSS_MIA_FOLDS,
    )
    out["loss_mia_heldout"] = heldout

    gap_keys = [f"gap_{k}" for k in GAP_SUBSETS] + ["gap_mean"]
    out["n_references"] = len(reference_metrics)
    if reference_metrics:
        keys = [f"acc_{k}" for k in GAP_SUBSETS] + ["acc_forget", "acc_remain"]
        mean = reference_mean(reference_metrics, keys)
        out.update(accuracy_gaps(out, mean, GAP_SUBSETS))
        out["distance"] = paper_distance(
            metric_value(out["acc_remain"]),
            metric_value(out["acc_forget"]),
            mean["acc_remain"],
            mean["acc_forget"],
        )
        out["tow"] = tug_of_war(out, mean)
    else:
        out.update(dict.fromkeys([*gap_keys, "distance", "tow"]))
    if reference_models:
        divergences = [
            js_divergence(
                logits["train_forget"],
                logits["train_forget"]
                if reference is model
                else predict_logits(reference, subsets["train_forget"], device, batch_size),
            )
            for reference in reference_models
        ]
        out["js_forget"] = float(np.mean(divergences))
    else:
        out["js_forget"] = None
    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in losses.items()}
    return {key: _jsonable(value) for key, value in out.items()}, arrays
