"""How far an unlearned model is from the retrained one (docs/architecture.md, Metrics)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import torch

from unlearning.gaps import TOW_KEYS
from unlearning.metrics.accuracy import ArrayLike


def js_divergence(logits_p: ArrayLike, logits_q: ArrayLike) -> float:
    """Mean Jensen–Shannon divergence (base 2, in [0, 1]) between two models' softmax outputs.

    Measured on the same samples, in the same order; nan for an empty set.
    """
    lp = torch.as_tensor(logits_p).detach().to("cpu", torch.float64)
    lq = torch.as_tensor(logits_q).detach().to("cpu", torch.float64)
    if lp.shape != lq.shape or lp.ndim != 2:
        raise ValueError(
            f"logits must share an (N, C) shape, got {tuple(lp.shape)} and {tuple(lq.shape)}"
        )
    if lp.shape[0] == 0:
        return float("nan")
    p, q = lp.softmax(dim=1), lq.softmax(dim=1)
    m = 0.5 * (p + q)
    # xlogy(0, .) = 0 handles the zero-probability terms of KL exactly.
    kl_pm = (torch.xlogy(p, p) - torch.xlogy(p, m)).sum(dim=1)
    kl_qm = (torch.xlogy(q, q) - torch.xlogy(q, m)).sum(dim=1)
    js = (0.5 * (kl_pm + kl_qm) / math.log(2.0)).clamp(0.0, 1.0)
    return float(js.mean())


def paper_distance(remain: float, forget: float, remain_ref: float, forget_ref: float) -> float:
    """Euclidean distance in the (remain accuracy, forget accuracy) plane, as the paper plots it."""
    return math.sqrt((remain - remain_ref) ** 2 + (forget - forget_ref) ** 2)


def metric_value(value: object) -> float:
    """Metric value as a float; None (a missing value in metrics.json) becomes nan."""
    return float("nan") if value is None else float(value)  # type: ignore[arg-type]


def accuracy_gaps(
    metrics: Mapping[str, object], reference: Mapping[str, object], subsets: Iterable[str]
) -> dict[str, float]:
    """``gap_<subset>`` = |acc − reference acc| per subset and ``gap_mean`` over the defined gaps.

    Missing or None accuracies give a nan gap, which the mean skips (nan when none is defined).
    """
    gaps: dict[str, float] = {}
    for subset in subsets:
        key = f"acc_{subset}"
        gaps[f"gap_{subset}"] = abs(
            metric_value(metrics.get(key)) - metric_value(reference.get(key))
        )
    defined = [g for g in gaps.values() if not math.isnan(g)]
    gaps["gap_mean"] = sum(defined) / len(defined) if defined else float("nan")
    return gaps


def reference_mean(
    references: Sequence[Mapping[str, object]], keys: Iterable[str]
) -> dict[str, float]:
    """Per key, the mean over the retrain references that have a value (nan when none has).

    The references are replicas of one retrain (other initialisation and batch order), so their
    mean is the expected retrained model; one reference is its own mean.
    """
    out = {}
    for key in keys:
        values = [metric_value(r.get(key)) for r in references]
        defined = [v for v in values if not math.isnan(v)]
        out[key] = sum(defined) / len(defined) if defined else float("nan")
    return out


def tug_of_war(metrics: Mapping[str, object], reference: Mapping[str, object]) -> float:
    """ToW = Π over forget, remain and test of (1 − |acc − reference acc|); 1 is the retrain.

    Accuracies are fractions, so each factor lies in [0, 1]; nan when any accuracy is missing.
    """
    product = 1.0
    for key in TOW_KEYS:
        gap = abs(metric_value(metrics.get(key)) - metric_value(reference.get(key)))
        if math.isnan(gap):
            return float("nan")
        product *= 1.0 - gap
    return product
