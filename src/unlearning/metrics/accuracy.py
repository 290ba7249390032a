"""Accuracy and per-sample loss from precomputed logits (no model calls here)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

ArrayLike = torch.Tensor | np.ndarray


def as_logits_labels(logits: ArrayLike, labels: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    """Float64 CPU logits and int64 labels, checked for matching length.

    Float64 keeps softmax/log terms accurate for the small probabilities that MIA features and
    divergences depend on.
    """
    lg = torch.as_tensor(logits).detach().to("cpu", torch.float64)
    lb = torch.as_tensor(labels).detach().to("cpu", torch.int64)
    if lg.ndim != 2 or lb.ndim != 1 or lg.shape[0] != lb.shape[0]:
        raise ValueError(
            f"need (N, C) logits and N labels, got {tuple(lg.shape)} and {tuple(lb.shape)}"
        )
    return lg, lb


def accuracy(logits: ArrayLike, labels: ArrayLike) -> float:
    """Top-1 accuracy; nan for an empty set (a missing value, not a zero)."""
    lg, lb = as_logits_labels(logits, labels)
    if lb.numel() == 0:
        return float("nan")
    return float((lg.argmax(dim=1) == lb).double().mean())


def per_class_accuracy(logits: ArrayLike, labels: ArrayLike, num_classes: int) -> list[float]:
    """Accuracy within each true class; nan for classes without samples."""
    lg, lb = as_logits_labels(logits, labels)
    if lb.numel() and (int(lb.min()) < 0 or int(lb.max()) >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}); got {lb.min()}..{lb.max()}")
    if lb.numel() == 0:
        return [float("nan")] * num_classes
    correct = (lg.argmax(dim=1) == lb).double()
    totals = torch.bincount(lb, minlength=num_classes).double()
    hits = torch.bincount(lb, weights=correct, minlength=num_classes)
    acc = torch.where(totals > 0, hits / totals.clamp(min=1), torch.full_like(totals, float("nan")))
    return [float(a) for a in acc]


def per_sample_loss(logits: ArrayLike, labels: ArrayLike) -> np.ndarray:
    """Cross-entropy of each sample (float64), the input of loss-based membership attacks."""
    lg, lb = as_logits_labels(logits, labels)
    if lb.numel() == 0:
        return np.empty(0, dtype=np.float64)
    return F.cross_entropy(lg, lb, reduction="none").numpy()
