"""The statistics of U-LiRA, the per-example unlearning membership attack (Hayes et al. 2024,
"Inexact unlearning needs more careful evaluations to avoid a false sense of privacy", §4).

Numpy only: the attack works on arrays of logit-scaled confidences that the audit's jobs saved.

- :func:`logit_confidence`: ``φ = log(p_y / (1 − p_y))`` of the true class, computed from the
  logits as ``z_y − logsumexp_{j≠y} z_j`` (the same number, without rounding ``p_y`` to 1);
- :func:`fit_gaussians`: per forget example, the mean and standard deviation of φ across the
  shadow splits (one Gaussian under "unlearned", one under "retrained");
- :func:`log_likelihood_ratio`: ``log N(φ; μ_u, σ_u) − log N(φ; μ_r, σ_r)``, the attack's score
  (positive: "this model unlearned the example rather than never trained on it");
- :func:`auc`, :func:`roc_curve`, :func:`tpr_at_fpr`, :func:`balanced_accuracy`: how well the
  scores separate unlearned targets (positives) from retrained ones (negatives);
- :func:`u_lira`: all of it for one audited method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A Gaussian's mean and variance need two observations per forget example, one per shadow split.
MIN_SHADOWS = 2
#: Floor of a fitted standard deviation, in logit units (φ spans about −20 to 20): an example
#: whose confidence is the same in every shadow would otherwise give an infinite score.
MIN_STD = 1e-3
#: The low false-positive rates the report gives the true-positive rate at.
LOW_FPRS = (0.01, 0.05)


def _finite(name: str, array: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinity")
    return array


def logit_confidence(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``log(p_y / (1 − p_y))`` for each row of ``logits`` (N, C) and its true class ``labels``.

    ``p = softmax(z)``, so ``p_y / (1 − p_y) = exp(z_y) / Σ_{j≠y} exp(z_j)``: the difference of
    the true logit and the log-sum-exp of the others, finite for any finite logits.
    """
    z = _finite("logits", np.asarray(logits, dtype=np.float64))
    labels = np.asarray(labels, dtype=np.int64)
    if z.ndim != 2 or z.shape[1] < 2 or labels.shape != (len(z),):
        raise ValueError("logits must be (N, C) with C >= 2 and labels (N,)")
    rows = np.arange(len(z))
    true = z[rows, labels]
    others = z.copy()
    others[rows, labels] = -np.inf
    top = others.max(axis=1)
    rest = top + np.log(np.exp(others - top[:, None]).sum(axis=1))
    return true - rest


def fit_gaussians(observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column (forget example), the mean and the unbiased standard deviation (floored at
    :data:`MIN_STD`) of ``observations`` (S shadow splits, N examples)."""
    x = _finite("observations", np.asarray(observations, dtype=np.float64))
    if x.ndim != 2:
        raise ValueError("observations must be (shadow splits, examples)")
    if len(x) < MIN_SHADOWS:
        raise ValueError(
            f"a Gaussian per example needs at least {MIN_SHADOWS} shadow splits, got {len(x)}"
        )
    return x.mean(axis=0), np.maximum(x.std(axis=0, ddof=1), MIN_STD)


def _log_normal(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return -0.5 * np.square((x - mean) / std) - np.log(std) - 0.5 * np.log(2 * np.pi)


def log_likelihood_ratio(
    x: np.ndarray,
    unlearned: tuple[np.ndarray, np.ndarray],
    retrained: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """``log N(x; μ_u, σ_u) − log N(x; μ_r, σ_r)`` elementwise (``x`` broadcasts over rows)."""
    x = _finite("confidences", np.asarray(x, dtype=np.float64))
    return _log_normal(x, *unlearned) - _log_normal(x, *retrained)


def _pair(positive: np.ndarray, negative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pos = _finite("scores", np.asarray(positive, dtype=np.float64).ravel())
    neg = _finite("scores", np.asarray(negative, dtype=np.float64).ravel())
    if not len(pos) or not len(neg):
        raise ValueError("the attack needs at least one positive and one negative score")
    return pos, neg


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of their ranks."""
    order = np.argsort(x, kind="mergesort")
    _, first, counts = np.unique(x[order], return_index=True, return_counts=True)
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)
    return ranks


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """The probability that a positive scores above a negative, ties counting one half (the
    Mann–Whitney statistic, equal to the area under :func:`roc_curve`)."""
    pos, neg = _pair(positive, negative)
    ranks = _average_ranks(np.concatenate([pos, neg]))
    above = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(above / (len(pos) * len(neg)))


def roc_curve(positive: np.ndarray, negative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates of "positive iff score ≥ t" for every distinct score t,
    from the highest down, starting at (0, 0) and ending at (1, 1)."""
    pos, neg = _pair(positive, negative)
    scores = np.concatenate([pos, neg])
    is_pos = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    order = np.argsort(-scores, kind="mergesort")
    tp, fp = np.cumsum(is_pos[order]), np.cumsum(1 - is_pos[order])
    ends = np.r_[np.flatnonzero(np.diff(scores[order]) != 0), len(scores) - 1]
    return np.r_[0.0, fp[ends] / len(neg)], np.r_[0.0, tp[ends] / len(pos)]


def tpr_at_fpr(positive: np.ndarray, negative: np.ndarray, fpr: float) -> float:
    """The highest true-positive rate of a threshold whose false-positive rate is at most
    ``fpr``."""
    false_pos, true_pos = roc_curve(positive, negative)
    return float(true_pos[false_pos <= fpr].max())


def balanced_accuracy(positive: np.ndarray, negative: np.ndarray, threshold: float = 0.0) -> float:
    """Mean of the true-positive and true-negative rates of "positive iff score > threshold".

    The default threshold 0 is a likelihood ratio of 1, the decision an attacker who gives both
    hypotheses equal odds makes without tuning anything on the targets."""
    pos, neg = _pair(positive, negative)
    return float(((pos > threshold).mean() + (neg <= threshold).mean()) / 2)


@dataclass(frozen=True)
class AttackResult:
    """U-LiRA on one audited method: the metrics and the scores behind them (targets, examples)."""

    auc: float
    balanced_accuracy: float
    tpr_at_low_fpr: dict[float, float]
    scores_unlearned: np.ndarray
    scores_retrained: np.ndarray

    def roc(self) -> tuple[np.ndarray, np.ndarray]:
        return roc_curve(self.scores_unlearned, self.scores_retrained)


def u_lira(
    shadow_unlearned: np.ndarray,
    shadow_retrained: np.ndarray,
    target_unlearned: np.ndarray,
    target_retrained: np.ndarray,
) -> AttackResult:
    """Fit per-example Gaussians on the shadow splits' confidences (S, N) under "unlearned" and
    "retrained", score the target splits' models (T, N) with the log likelihood ratio, and
    measure how well the scores tell the unlearned targets (positives) from the retrained ones.

    Column ``i`` of every array is the same forget example."""
    arrays = [
        np.asarray(a, dtype=np.float64)
        for a in (shadow_unlearned, shadow_retrained, target_unlearned, target_retrained)
    ]
    widths = {a.shape[1] if a.ndim == 2 else -1 for a in arrays}
    if len(widths) != 1 or -1 in widths:
        raise ValueError("every array must be (models, examples) over the same examples")
    unlearned, retrained = fit_gaussians(arrays[0]), fit_gaussians(arrays[1])
    pos = log_likelihood_ratio(arrays[2], unlearned, retrained)
    neg = log_likelihood_ratio(arrays[3], unlearned, retrained)
    return AttackResult(
        auc=auc(pos, neg),
        balanced_accuracy=balanced_accuracy(pos, neg),
        tpr_at_low_fpr={fpr: tpr_at_fpr(pos, neg, fpr) for fpr in LOW_FPRS},
        scores_unlearned=pos,
        scores_retrained=neg,
    )
